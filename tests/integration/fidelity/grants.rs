//! Revoked permissions: when an admin revokes the app's permissions but keeps the app, Entra
//! goes on issuing tokens, without a `roles` claim. The product reads the claim and moves the
//! tenant to `needs_reconsent` instead of failing every call for ever.

use integration_tests::lab::Lab;
use model::{sites::Site, tenant::LifecycleState};
use serde_json::json;

#[tokio::test]
async fn revoked_grants_with_the_app_kept_move_the_tenant_to_needs_reconsent() {
    let lab = Lab::start().await;
    let kept = lab.active_tenant(Site::Jp, 2).await;
    let revoked = lab.active_tenant(Site::Jp, 2).await;
    lab.sim.revoke_grants(&revoked.to_string()).expect("revoke");
    let report = lab.refresher().run(&json!({})).await.expect("run");
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(report.needs_reconsent.len(), 1, "{report:?}");
    let reconsent = &report.needs_reconsent[0];
    assert_eq!(reconsent.tenant_id, revoked);
    assert!(
        reconsent.reason.contains("permissions were revoked"),
        "{}",
        reconsent.reason
    );
    let record = lab.record(revoked).await;
    assert_eq!(record.state, LifecycleState::NeedsReconsent);
    assert_eq!(lab.record(kept).await.state, LifecycleState::Active);
}

/// Graph's refusal for want of a permission (403 `Authorization_RequestDenied`) while Entra still
/// issues the token: the grant no longer holds what the call needs.
fn permission_denied(lab: &Lab, tenant: model::tenant::TenantId, request: &str) -> u64 {
    lab.fault(json!({
        "tenant": tenant.to_string(), "surface": "graph", "status": 403, "match": request
    }))
}

#[tokio::test]
async fn a_permission_graph_denies_during_provisioning_means_reconsent() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}]
    }));
    let denied = permission_denied(&lab, tenant, "POST /groups");
    let view = lab
        .provision(crate::functions::provision::request(tenant))
        .await
        .expect("provision answers");
    assert_eq!(view["status"], "failed", "{view:#}");
    assert!(lab.hits_of(denied) >= 1, "the fault met the create");
    let kinds: Vec<&serde_json::Value> = view["services"]
        .as_object()
        .expect("services")
        .values()
        .flat_map(|s| s["steps"].as_array().into_iter().flatten())
        .filter(|step| step["status"] == "failed")
        .map(|step| &step["error_kind"])
        .collect();
    assert_eq!(kinds, [&json!("needs_reconsent")], "{view:#}");
    let record = lab.record(tenant).await;
    assert_eq!(record.state, LifecycleState::NeedsReconsent);
}

#[tokio::test]
async fn a_permission_graph_denies_during_a_sync_moves_the_tenant_out_of_the_runs() {
    let lab = Lab::start().await;
    let tenant = crate::functions::sync::provisioned(&lab).await;
    let denied = permission_denied(&lab, tenant, "GET /users");
    let report = lab
        .syncer()
        .sync_tenant(&crate::functions::sync::message(tenant, "r1"))
        .await
        .expect("a denied grant is an outcome, not a retry");
    assert!(lab.hits_of(denied) >= 1, "the fault met the users delta");
    assert!(
        report
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("needs re-consent") && r.contains("Authorization_RequestDenied")),
        "{report:?}"
    );
    let record = lab.record(tenant).await;
    assert_eq!(record.state, LifecycleState::NeedsReconsent);
    assert!(
        record.attention.is_some_and(|a| a.contains("admin consent")),
        "the attention says what to do"
    );
}
