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
