//! The lifecycle events on the stack's EventBridge bus (moto), as a vendor's rule delivers them
//! to an SQS queue: one per change, shaped as `docs/events.schema.json` documents.

use integration_tests::{
    bus::{of, summarize},
    capture::Capture,
    lab::{Lab, vendor},
};
use microsoft::exchange::{Cmdlet, ExchangeAdmin};
use model::{sites::Site, tenant::LifecycleState};
use serde_json::{Value, json};

use crate::functions::{
    provision::request,
    sync::{message, synced},
};

/// The events the stack's watch queue holds, checked against the schema, and their counts.
async fn events(lab: &Lab) -> (Vec<Value>, Value) {
    let events = lab.aws.take_events().await;
    let summary = summarize(&events);
    assert_eq!(summary["problems"], json!([]), "{summary:#} {events:#?}");
    (events, summary["changes"].clone())
}

/// A tenant provisioned, its drift repaired by the sync, and deprovisioned: one event for each,
/// and none for a retried event that finds the change made.
#[tokio::test]
async fn a_tenants_lifecycle_puts_each_change_on_the_bus_once() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    let id = tenant.to_string();
    let provisioning = lab.record(tenant).await.current_task_id.expect("task");
    // The same request again joins the finished task: nothing changes, nothing is announced.
    let again = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(again["status"], "succeeded", "{again:#}");

    let record = lab.record(tenant).await;
    let exchange = syncer.ms.exchange(&record).await.expect("exchange");
    let connector = vendor().names().inbound_outgoing;
    exchange
        .invoke(&Cmdlet::new("Remove-InboundConnector").param("Identity", connector.as_str()))
        .await
        .expect("connector deleted");
    let report = syncer
        .sync_tenant(&message(tenant, "second"))
        .await
        .expect("sync");
    assert!(!report.drift.is_empty(), "{report:?}");

    let view = lab
        .deprovision(json!({"tenant_id": id, "mode": "standard"}))
        .await
        .expect("deprovision");
    assert_eq!(view["status"], "succeeded", "{view:#}");

    let (events, changes) = events(&lab).await;
    assert_eq!(
        changes,
        json!({"Tenant Active": 1, "Drift Repaired": 1, "Tenant Deprovisioned": 1}),
        "{events:#?}"
    );
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["detail-type"].as_str()).collect();
    assert_eq!(kinds, ["Tenant Active", "Drift Repaired", "Tenant Deprovisioned"]);
    let active = of(&events, "Tenant Active", &id)[0];
    assert_eq!(active["source"], "m365-inline");
    assert_eq!(active["detail"]["task_id"], provisioning.to_string());
    assert_eq!(active["detail"]["site"], "us");
    let repaired = &of(&events, "Drift Repaired", &id)[0]["detail"]["repaired"];
    assert!(
        repaired.as_array().is_some_and(|r| r
            .iter()
            .any(|line| line.as_str().is_some_and(|l| l.contains(&connector)))),
        "{repaired:#}"
    );
    let deprovisioned = &of(&events, "Tenant Deprovisioned", &id)[0]["detail"];
    assert_eq!(deprovisioned["task_id"], view["task_id"], "{deprovisioned:#}");
}

/// A provisioning refused for want of consent fails its task and moves the tenant to
/// `needs_reconsent`; a refresh that finds a grant revoked moves that tenant too. Each is on the
/// bus with what was refused.
#[tokio::test]
async fn a_failed_task_and_a_lost_grant_are_on_the_bus_with_what_was_refused() {
    let lab = Lab::start().await;
    let unconsented = lab.tenant(json!({"domains": ["contoso.com"], "consented": false}));
    let view = lab
        .provision(json!({"tenant_id": unconsented.to_string(), "site": "sg"}))
        .await
        .expect("provision answers");
    assert_eq!(view["status"], "failed", "{view:#}");
    let revoked = lab.active_tenant(Site::Ca, 2).await;
    lab.sim.revoke_consent(&revoked.to_string()).expect("revoke");
    let report = lab.refresher().run(&json!({})).await.expect("refresh");
    assert_eq!(report.needs_reconsent.len(), 1, "{report:?}");

    let (events, changes) = events(&lab).await;
    assert_eq!(
        changes,
        json!({"Task Failed": 1, "Tenant Needs Reconsent": 2}),
        "{events:#?}"
    );
    let failed = &of(&events, "Task Failed", &unconsented.to_string())[0]["detail"];
    assert_eq!(failed["task_kind"], "provision", "{failed:#}");
    assert_eq!(failed["task_id"], view["task_id"], "{failed:#}");
    assert_eq!(failed["site"], "sg", "{failed:#}");
    assert!(
        failed["step"].is_string() && failed["error"].is_string(),
        "{failed:#}"
    );
    for tenant in [unconsented, revoked] {
        let moved = of(&events, "Tenant Needs Reconsent", &tenant.to_string());
        let reason = moved[0]["detail"]["reason"].as_str().unwrap_or_default();
        assert_eq!(reason, lab.record(tenant).await.attention.unwrap_or_default());
        assert!(!reason.is_empty(), "{moved:#?}");
    }
}

/// A bus that refuses the event leaves the change recorded and the task done: the notice is
/// logged whole at ERROR, and nothing else fails.
#[tokio::test]
async fn a_notice_the_bus_refuses_is_logged_and_the_change_stands() {
    let capture = Capture::global();
    let start = capture.mark();
    let lab = Lab::start().await;
    let mut env = lab.function_env();
    env.insert("EVENT_BUS_NAME".into(), "no-such-bus".into());
    let lifecycle = lifecycle::Lifecycle::from_source(&lab.aws.sdk, &env).expect("configured");
    let tenant = crate::functions::provision::customer_tenant(&lab);
    let view = lab
        .provision_in(&lifecycle, request(tenant))
        .await
        .expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Active);
    let logs = capture.since(start);
    let line = logs
        .lines()
        .find(|l| l.contains("lifecycle event not published") && l.contains(&tenant.to_string()))
        .unwrap_or_else(|| panic!("the refused notice is logged: {logs}"));
    assert!(line.contains("ERROR") && line.contains("no-such-bus"), "{line}");
    assert!(lab.aws.take_events().await.is_empty());
}
