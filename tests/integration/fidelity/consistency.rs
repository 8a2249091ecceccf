//! Entra and the Tenant Allow/Block List are eventually consistent: a read right after a write
//! may not see it. With the simulator's replication lag on, the whole lifecycle (provision,
//! sync, policy targets, deprovision) still ends where it should, waiting instead of failing.

use integration_tests::lab::Lab;
use serde_json::{Value, json};

use crate::functions::{
    deprovision::{comparable, deprovision_event},
    provision::request,
    sync::message,
};

/// Seconds a new group, role assignment or spoof entry stays unseen.
const LAG: u64 = 120;

/// Continues the task of `view` until it ends, moving the simulated clock past each wait.
async fn drive(lab: &Lab, mut view: Value) -> (Value, usize) {
    let mut waits = 0;
    while view["status"] == "waiting" {
        waits += 1;
        assert!(waits <= 20, "still waiting after 20 rounds: {view:#}");
        lab.sim.advance_clock(60.0);
        view = lab
            .provision(json!({"task_id": view["task_id"]}))
            .await
            .expect("continue");
    }
    (view, waits)
}

#[tokio::test]
async fn the_whole_lifecycle_passes_with_replication_lag() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "exchange_admin_role": false,
        "replication_lag_seconds": LAG
    }));
    lab.dns
        .set_mx("contoso.com", &["contoso-com.mail.protection.outlook.com"]);
    let before = comparable(&lab, tenant);

    let first = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(
        first["status"], "waiting",
        "the new groups are not known at once: {first:#}"
    );
    let (done, waits) = drive(&lab, first).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(waits >= 2, "waited for the groups and the spoof entry: {waits}");
    let groups = lab.dump(tenant)["groups"].clone();
    for group in groups.as_array().expect("groups") {
        assert_eq!(group["members"].as_array().map(Vec::len), Some(2), "{group:#}");
    }

    lab.sim.advance_clock(LAG as f64);
    let report = lab
        .syncer()
        .sync_tenant(&message(tenant, "c1"))
        .await
        .expect("sync");
    assert!(report.drift.is_empty(), "nothing drifted: {report:?}");

    let targets = lab
        .policy_targets(
            json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": ["alice@contoso.com"]}}),
        )
        .await
        .expect("policy targets");
    let (targets, _) = drive(&lab, targets).await;
    assert_eq!(targets["status"], "succeeded", "{targets:#}");

    lab.sim.advance_clock(LAG as f64);
    let gone = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    let (gone, _) = drive(&lab, gone).await;
    assert_eq!(gone["status"], "succeeded", "{gone:#}");
    assert_eq!(comparable(&lab, tenant), before, "the tenant is as it was");
}

#[tokio::test]
async fn a_group_whose_answer_was_lost_and_is_not_listed_yet_is_waited_for_not_made_twice() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "replication_lag_seconds": LAG
    }));
    // The first group is made, its answer lost; the listing does not show it for a while.
    lab.fault(json!({
        "tenant": tenant.to_string(), "surface": "graph", "status": 503, "phase": "after",
        "match": "POST /groups", "count": 1
    }));
    let first = lab.provision(request(tenant)).await.expect("provision");
    let (done, _) = drive(&lab, first).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let groups = lab.dump(tenant)["groups"].clone();
    assert_eq!(
        groups.as_array().map(Vec::len),
        Some(2),
        "each group once: {groups:#}"
    );
}

/// Microsoft says a Tenant Allow/Block List entry "should be active within 5 minutes": a spoof
/// entry listed only then is waited for and created once.
#[tokio::test]
async fn a_spoof_entry_listed_only_after_microsofts_five_minutes_is_created_once() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../m365-sim/tests/fixtures/exchange-spoof-entry-activation.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "replication_lag_seconds": doc["active_within_seconds"]
    }));
    // A 1 ms delay on the create only counts it.
    let creates = lab.fault(json!({
        "tenant": tenant.to_string(), "surface": "exchange", "latency_ms": 1,
        "match": "New-TenantAllowBlockListSpoofItems"
    }));
    let first = lab.provision(request(tenant)).await.expect("provision");
    let (done, waits) = drive(&lab, first).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert!(waits >= 5, "waited out the five minutes: {waits}");
    assert_eq!(lab.hits_of(creates), 1, "created once");
    let spoof = lab.dump(tenant)["exchange"]["spoof_items"].clone();
    assert_eq!(spoof.as_array().map(Vec::len), Some(1), "one entry: {spoof:#}");
}

/// Our role assignment's answer is lost, the retry's listing does not show it
/// yet and the second create is refused as a conflict. It is waited for and stays ours, so full
/// deprovisioning removes it.
#[tokio::test]
async fn a_role_assignment_whose_answer_was_lost_stays_ours_and_is_removed_at_the_end() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "exchange_admin_role": false,
        "replication_lag_seconds": LAG
    }));
    let before = comparable(&lab, tenant);
    lab.fault(json!({
        "tenant": tenant.to_string(), "surface": "graph", "status": 503, "phase": "after",
        "match": "POST /roleManagement/directory/roleAssignments", "count": 1
    }));
    let first = lab.provision(request(tenant)).await.expect("provision");
    let (done, _) = drive(&lab, first).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    // A fault with a count leaves the list once it is spent.
    assert_eq!(lab.sim.faults()["faults"], json!([]), "the answer was lost");
    let assignments = lab.dump(tenant)["role_assignments"].clone();
    let ours = lab
        .recorded(tenant, state::store::ResourceKind::RoleAssignment)
        .await;
    assert_eq!(ours.len(), 1, "recorded as ours: {ours:?} {assignments:#}");
    lab.sim.advance_clock(LAG as f64);
    let gone = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    let (gone, _) = drive(&lab, gone).await;
    assert_eq!(gone["status"], "succeeded", "{gone:#}");
    assert_eq!(
        comparable(&lab, tenant),
        before,
        "the assignment went with the rest"
    );
}
