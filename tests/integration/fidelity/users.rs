//! Policy-target users as Graph addresses them: a guest's `#EXT#` name encoded, a name that
//! starts with `$` in parentheses, and a mail address that is not a principal name found by
//! its proxy address.

use integration_tests::lab::{Lab, provision_request};
use serde_json::{Value, json};

use crate::functions::provision::footprint;

const GUEST: &str = "adelevance_adatum.com#ext#@contoso.com";
const SYNCED: &str = "$svc-mail@contoso.com";
const BOB_UPN: &str = "bob.smith@contoso.com";
const BOB_MAIL: &str = "bob@contoso.com";

#[tokio::test]
async fn guests_dollar_names_and_mail_addresses_are_found_as_graph_documents() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [
            {"user_principal_name": GUEST},
            {"user_principal_name": SYNCED},
            {"user_principal_name": BOB_UPN, "mail": BOB_MAIL},
            {"user_principal_name": "carol@contoso.com"}
        ],
        "exchange_admin_role": false
    }));
    let view = lab
        .provision(provision_request(tenant, &[GUEST, SYNCED, BOB_MAIL]))
        .await
        .expect("provisioned");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let groups = footprint(&lab.dump(tenant))["groups"].clone();
    let ours: Vec<&Value> = groups
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["name"].as_str().is_some_and(|n| n.contains("Virtual Group")))
        .collect();
    assert_eq!(ours.len(), 2, "{groups:#}");
    for group in ours {
        assert_eq!(group["members"], json!([SYNCED, GUEST, BOB_UPN]), "{group:#}");
    }

    // An address nobody has is refused, named as given, before anything changes.
    let err = lab
        .policy_targets(json!({
            "tenant_id": tenant.to_string(),
            "policy_targets": {"users": ["nobody@contoso.com"]}
        }))
        .await
        .expect_err("refused");
    assert_eq!(err.error_type, "InvalidInput", "{err:?}");
    assert!(err.error_message.contains("nobody@contoso.com"), "{err:?}");
}
