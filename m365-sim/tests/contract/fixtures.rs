//! The shape comparison itself must be able to fail, or the contract tests prove nothing.

use serde_json::json;

use crate::common::*;

#[test]
#[should_panic(expected = "shape mismatch")]
fn missing_key_is_detected() {
    assert_shape(
        &fixture("graph-error.json"),
        &json!({"error": {"code": "x", "message": "y"}}),
    );
}

#[test]
#[should_panic(expected = "shape mismatch")]
fn wrong_link_form_is_detected() {
    let page = json!({"@odata.context": "c", "@odata.nextLink": "http://127.0.0.1:1/v1.0/users?$deltatoken=x", "value": []});
    assert_shape(&fixture("graph-users-page.json"), &page);
}

#[test]
#[should_panic(expected = "shape mismatch")]
fn wrong_type_is_detected() {
    assert_shape(
        &fixture("entra-token-success.json"),
        &json!({"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": 1, "access_token": "t"}),
    );
}

#[test]
fn every_fixture_names_its_source() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "json") {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
            assert!(
                v["_source"].as_str().is_some_and(|s| s.contains("https://")),
                "{}",
                p.display()
            );
            n += 1;
        }
    }
    assert!(n >= 10);
}
