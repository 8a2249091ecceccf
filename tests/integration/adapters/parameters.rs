//! The vendor document from SSM Parameter Store (moto): read from the parameter the environment
//! names, checked field by field, refused with the parameter named.

use std::collections::BTreeMap;

use integration_tests::{lab::TestStack, stack::put_parameter, test_stack::vendor_json};
use model::{config::Source, vendor::VendorConfig};
use serde_json::json;
use state::parameters::{VENDOR_CONFIG_PARAMETER, resolve};

/// An environment naming the parameter `name`, and a `VENDOR_CONFIG` that must not be read.
fn naming(name: &str) -> BTreeMap<String, String> {
    [
        (VENDOR_CONFIG_PARAMETER.to_owned(), name.to_owned()),
        ("VENDOR_CONFIG".to_owned(), "not the document".to_owned()),
    ]
    .into()
}

/// A document past a Standard parameter's 4 KB (many egress ranges) is read whole from an
/// Advanced one, and the services read it in place of `VENDOR_CONFIG`.
#[tokio::test]
async fn a_document_past_4_kb_is_read_from_its_parameter_in_place_of_the_variable() {
    let test = TestStack::new().await;
    let mut document: serde_json::Value = serde_json::from_str(&vendor_json()).expect("json");
    document["egress_ips"] = (0..300)
        .map(|i| format!("198.18.{}.{}", i / 250, i % 250))
        .collect();
    let text = document.to_string();
    assert!(text.len() > 4096, "{} bytes", text.len());
    let name = format!("/{}/big-vendor-config", uuid::Uuid::new_v4().simple());
    put_parameter(&test.sdk, &name, &text).await.expect("put");
    let env = naming(&name);
    let resolved = resolve(&test.sdk, &env).await.expect("resolved");
    assert_eq!(resolved.get("VENDOR_CONFIG").as_deref(), Some(text.as_str()));
    let vendor = VendorConfig::from_source(&resolved).expect("the document");
    assert_eq!(vendor.egress_ips.len(), 300);
    // Other variables are the environment's own.
    assert_eq!(resolved.get(VENDOR_CONFIG_PARAMETER), Some(name));
}

/// A missing parameter, a malformed name and a document with a bad field are each refused,
/// naming the variable, the parameter and the field, with what to do.
#[tokio::test]
async fn a_missing_parameter_or_a_bad_document_is_refused_naming_the_parameter_and_the_field() {
    let test = TestStack::new().await;
    let missing = format!("/{}/nothing-here", uuid::Uuid::new_v4().simple());
    let err = resolve(&test.sdk, &naming(&missing))
        .await
        .expect_err("missing")
        .to_string();
    assert!(
        err.contains(VENDOR_CONFIG_PARAMETER) && err.contains(&missing) && err.contains("ParameterNotFound"),
        "{err}"
    );
    assert!(
        err.contains("put the vendor configuration document there"),
        "{err}"
    );

    let err = resolve(&test.sdk, &naming("no spaces please"))
        .await
        .expect_err("malformed")
        .to_string();
    assert!(err.contains("is not a parameter name"), "{err}");

    let mut document: serde_json::Value = serde_json::from_str(&vendor_json()).expect("json");
    document["egress_ips"] = json!(["203.0.113.10", "not-an-ip"]);
    let bad = format!("/{}/bad-vendor-config", uuid::Uuid::new_v4().simple());
    put_parameter(&test.sdk, &bad, &document.to_string())
        .await
        .expect("put");
    let err = resolve(&test.sdk, &naming(&bad))
        .await
        .expect_err("bad")
        .to_string();
    assert!(
        err.contains(VENDOR_CONFIG_PARAMETER) && err.contains(&bad) && err.contains("egress_ips[1]"),
        "{err}"
    );
}

/// Without the variable the environment is used as it is: the document in `VENDOR_CONFIG`.
#[tokio::test]
async fn without_a_parameter_the_variable_holds_the_document() {
    let test = TestStack::new().await;
    let env: BTreeMap<String, String> = [("VENDOR_CONFIG".to_owned(), vendor_json())].into();
    let resolved = resolve(&test.sdk, &env).await.expect("resolved");
    VendorConfig::from_source(&resolved).expect("the variable's document");
}
