//! Global Administrator promotion of delegates: off unless the deployment turns it on, never
//! through EventBridge, only for accounts in the tenant's verified domains, and audited without
//! expiry with who asked.

use integration_tests::lab::{Lab, assert_refused};
use lifecycle::Lifecycle;
use serde_json::{Value, json};
use state::store::{AuditRecord, Key, ResourceKind};

use super::provision::{customer_tenant, request, resources};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";

/// The task services of a deployment with `AllowDelegatePromotion` and `ProvisionEventSources` set.
fn deployment(lab: &Lab, allow: bool, sources: &str) -> Lifecycle {
    let mut env = lab.function_env();
    env.insert("ALLOW_DELEGATE_PROMOTION".into(), allow.to_string());
    env.insert("EVENT_SOURCES".into(), sources.into());
    Lifecycle::from_source(&lab.aws.sdk, &env).expect("configured")
}

fn promoting(tenant: model::tenant::TenantId, delegates: &[&str]) -> Value {
    let mut event = request(tenant);
    event["options"] = json!({
        "promote_delegates_to_global_admin": true, "delegates": delegates, "requested_by": "ticket OPS-1234"
    });
    event
}

fn promoted(lab: &Lab, tenant: model::tenant::TenantId) -> bool {
    lab.dump(tenant)["role_assignments"]
        .to_string()
        .contains(GLOBAL_ADMIN)
}

#[tokio::test]
async fn a_deployment_that_allows_it_promotes_and_keeps_a_durable_audit_record() {
    let capture = integration_tests::capture::Capture::global();
    let start = capture.mark();
    let lab = Lab::start().await;
    let open = deployment(&lab, true, "");
    let tenant = customer_tenant(&lab);
    let view = lab
        .provision_in(&open, promoting(tenant, &["carol@contoso.com"]))
        .await
        .expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(
        view["services"]["tenant"]["steps"][1]["name"],
        "promote_delegates"
    );
    assert!(promoted(&lab, tenant));
    let recorded = resources(&lab, tenant, ResourceKind::RoleAssignment).await;
    let assignment = recorded
        .iter()
        .find(|r| r.key == "global_administrator:carol@contoso.com")
        .and_then(|r| r.external_id.clone())
        .expect("the assignment is recorded as ours");
    let task = view["task_id"].as_str().expect("task id");
    let key = Key::audit(tenant, "global_administrator_assigned", task, "carol@contoso.com");
    let audit: AuditRecord = lab.aws.store.get(&key).await.expect("read").expect("audited");
    assert_eq!(audit.requested_by, "ticket OPS-1234");
    assert_eq!(audit.reference, assignment);
    let item = lab.aws.store.query_prefix(&key.pk, &key.sk).await.expect("item");
    assert!(
        item.iter()
            .all(|i| !i.contains_key(state::store::key::TTL_ATTRIBUTE)),
        "no expiry: {item:?}"
    );
    let tenant_text = tenant.to_string();
    let lines = capture
        .since(start)
        .lines()
        .filter(|l| {
            l.contains("\"audit\":true") && l.contains("carol@contoso.com") && l.contains(&tenant_text)
        })
        .count();
    assert_eq!(lines, 1, "one audit line per promoted delegate");

    // Without the option, nobody is promoted.
    let other = lab.tenant(json!({"domains": ["fabrikam.com"], "users": 2}));
    let view = lab
        .provision_in(&open, json!({"tenant_id": other.to_string(), "site": "uk"}))
        .await
        .expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert!(!promoted(&lab, other));
}

#[tokio::test]
async fn promotion_is_refused_by_default_and_changes_nothing() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let event = promoting(tenant, &["carol@contoso.com"]);
    // The lab is a default deployment: the switch is off.
    assert_refused(
        lab.provision(event.clone()).await,
        "InvalidInput",
        "`options.promote_delegates_to_global_admin`",
        &event,
    );
    assert!(
        lab.aws.store.tenant(tenant).await.expect("read").is_none(),
        "no tenant record, no task"
    );
    assert!(lab.untouched(tenant), "no call to Microsoft");
}

#[tokio::test]
async fn a_delegate_outside_the_tenants_verified_domains_is_refused_before_anyone_is_promoted() {
    let lab = Lab::start().await;
    let open = deployment(&lab, true, "");
    let tenant = customer_tenant(&lab);
    let view = lab
        .provision_in(
            &open,
            promoting(tenant, &["carol@contoso.com", "mallory@attacker.example"]),
        )
        .await
        .expect("provision answers");
    assert_eq!(view["status"], "failed", "{view:#}");
    let step = &view["services"]["tenant"]["steps"][1];
    assert_eq!(step["name"], "promote_delegates");
    let error = step["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("mallory@attacker.example") && error.contains("nobody was promoted"),
        "{error}"
    );
    assert!(
        !promoted(&lab, tenant),
        "carol, in the tenant, was not promoted either"
    );
}

#[tokio::test]
async fn eventbridge_events_need_an_accepted_source_and_never_promote() {
    let lab = Lab::start().await;
    let open = deployment(&lab, true, "vendor.portal");
    let tenant = customer_tenant(&lab);
    let envelope = |source: &str, detail: Value| json!({"version": "0", "id": "e1", "detail-type": "Provision Tenant", "source": source, "detail": detail});
    let cases = [
        (envelope("attacker.example", request(tenant)), "`source`"),
        (
            envelope("vendor.portal", promoting(tenant, &["carol@contoso.com"])),
            "`detail.options.promote_delegates_to_global_admin`",
        ),
    ];
    for (event, field) in cases {
        assert_refused(
            lab.provision_in(&open, event.clone()).await,
            "InvalidInput",
            field,
            &event,
        );
    }
    assert!(
        lab.aws.store.tenant(tenant).await.expect("read").is_none(),
        "nothing written"
    );
    assert!(lab.untouched(tenant), "no call to Microsoft");
    // The accepted source starts provisioning as a direct request would.
    let view = lab
        .provision_in(&open, envelope("vendor.portal", request(tenant)))
        .await
        .expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert!(!promoted(&lab, tenant));
}
