//! A site run's progress: the daily sync's fan-out, the workers' outcomes per tenant, and the
//! counts and completion an operator reads from them.

use integration_tests::lab::{Lab, invoke, lambda_context};
use lifecycle::sync::{RunOutcome, progress};
use model::{sites::Site, tenant::LifecycleState};
use serde_json::{Value, json};
use state::store::TenantRecord;

use super::sync::sqs_event;

#[tokio::test]
async fn a_site_runs_counts_follow_its_tenants_and_it_completes_when_each_has_an_outcome() {
    let lab = Lab::start().await;
    let good = [
        lab.active_tenant(Site::Eu, 2).await,
        lab.active_tenant(Site::Eu, 2).await,
    ];
    let failing = lab.active_tenant(Site::Eu, 2).await;
    let revoked = lab.active_tenant(Site::Eu, 2).await;
    let fault = lab.fault(json!({"tenant": failing.to_string(), "surface": "graph", "status": 500}));
    let date = "2030-02-03".parse().expect("date");
    let daily = lab.daily_sync();
    invoke(
        daily_sync::handler,
        &daily,
        json!({"site": "eu", "run_date": "2030-02-03"}),
    )
    .await
    .expect("the run is queued");
    let queued = lab.aws.take_messages("SYNC_QUEUE_URL").await;
    let bodies: Vec<Value> = queued["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| serde_json::from_str(r["body"].as_str().expect("body")).expect("json"))
        .collect();
    assert_eq!(bodies.len(), 4);
    let before = progress::progress(&lab.aws.store, Site::Eu, date)
        .await
        .expect("read")
        .expect("the run");
    assert_eq!((before.queued, before.synced, before.failed), (4, 0, 0));
    assert_eq!(before.completed_at, None);
    // Between the fan-out and its message, one tenant's admin revokes the grant.
    let mut moved = lab.record(revoked).await;
    moved.state = LifecycleState::NeedsReconsent;
    lab.aws.store.update(&mut moved).await.expect("moved");

    let syncer = lab.syncer();
    let deliver = |bodies: Vec<Value>| {
        let syncer = &syncer;
        async move {
            let ids: Vec<String> = (0..bodies.len()).map(|i| format!("m{i}")).collect();
            let records: Vec<(&str, String)> = ids
                .iter()
                .zip(&bodies)
                .map(|(id, body)| (id.as_str(), body.to_string()))
                .collect();
            let event = sqs_event(&records);
            sync_worker::handler(syncer, lambda_runtime::LambdaEvent::new(event, lambda_context()))
                .await
                .expect("batch answer")
        }
    };
    deliver(bodies.clone()).await;
    let run = progress::progress(&lab.aws.store, Site::Eu, date)
        .await
        .expect("read")
        .expect("the run");
    assert_eq!(
        (run.queued, run.synced, run.failed, run.skipped),
        (4, 2, 1, 1),
        "{run:?}"
    );
    assert!(run.completed_at.is_some(), "every tenant has an outcome: {run:?}");
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].tenant_id, failing);
    assert!(run.failures[0].reason.contains("500"), "{:?}", run.failures);
    assert!(lab.hits_of(fault) > 0);

    // SQS delivers everything again after the fault is gone: the failed tenant syncs, the others
    // were synced already in this run and still count once, as synced.
    lab.sim.clear_faults();
    // One tenant left the fleet meanwhile: its outcome stays what it was in this run.
    let mut gone: TenantRecord = lab.record(good[0]).await;
    gone.state = LifecycleState::Deprovisioned;
    lab.aws.store.update(&mut gone).await.expect("moved");
    deliver(bodies).await;
    let again = progress::progress(&lab.aws.store, Site::Eu, date)
        .await
        .expect("read")
        .expect("the run");
    assert_eq!(
        (again.synced, again.failed, again.skipped),
        (3, 0, 1),
        "{again:?}"
    );
    assert!(again.failures.is_empty());
    let key = state::store::Key {
        pk: lifecycle::sync::SiteRun::key_of(Site::Eu, date).pk,
        sk: format!("TENANT#{failing}"),
    };
    let kept: Option<progress::RunTenant> = lab.aws.store.get(&key).await.expect("read");
    assert_eq!(kept.map(|t| t.outcome), Some(RunOutcome::Synced));
    assert!(
        progress::progress(&lab.aws.store, Site::Us, date)
            .await
            .expect("read")
            .is_none()
    );
}
