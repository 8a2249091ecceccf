//! Duplicates and races across the functions: every event delivered twice, and two sync workers
//! on one tenant at once. (Two provisions at once, provision against deprovision, and two token
//! refreshes at once are in their functions' modules.)

use integration_tests::lab::{Lab, lambda_context};
use lifecycle::sync::{SyncError, report::Outcome, state::DRIFT_PREFIX};
use model::tenant::TenantId;
use serde_json::{Value, json};
use state::store::Key;

use crate::functions::{
    deprovision::deprovision_event,
    provision::request,
    sync::{message, provisioned, remove_spoof_entry},
};

/// Token requests the simulator counted since the last reset.
fn token_requests(lab: &Lab) -> u64 {
    lab.sim.stats()["total"]["token"]["requests"]
        .as_u64()
        .unwrap_or(0)
}

/// The tenant's spoof entries and drift records: what a doubled repair would duplicate.
async fn repairs(lab: &Lab, tenant: TenantId) -> (usize, usize) {
    let spoof = lab.dump(tenant)["exchange"]["spoof_items"]
        .as_array()
        .map_or(0, Vec::len);
    let drift = lab
        .aws
        .store
        .query_prefix(&Key::tenant(tenant).pk, DRIFT_PREFIX)
        .await
        .expect("drift records")
        .len();
    (spoof, drift)
}

#[tokio::test]
async fn two_sync_workers_on_one_tenant_at_once_repair_once_and_lose_nothing() {
    let lab = Lab::start().await;
    let tenant = provisioned(&lab).await;
    // Two processes: their own token caches and clients.
    let (first, second) = (lab.syncer(), lab.syncer());
    first
        .sync_tenant(&message(tenant, "d1"))
        .await
        .expect("first sync");
    let record = lab.record(tenant).await;
    remove_spoof_entry(&lab, tenant, &first.ms.exchange(&record).await.expect("exchange")).await;
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"add_domains": ["fabrikam.com"], "add_users": [{"user_principal_name": "dave@contoso.com"}]}))
                .expect("patch"),
        )
        .expect("directory changed");

    // The same message delivered to both at once, then two days' messages at once.
    for (a, b) in [("d2", "d2"), ("d3", "d4")] {
        let (message_a, message_b) = (message(tenant, a), message(tenant, b));
        let (one, two) = tokio::join!(first.sync_tenant(&message_a), second.sync_tenant(&message_b));
        let synced = [&one, &two]
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.outcome == Outcome::Synced))
            .count();
        let busy = [&one, &two]
            .iter()
            .filter(|r| matches!(r, Err(SyncError::Busy { .. })))
            .count();
        assert!(synced >= 1 && synced + busy == 2, "{a}/{b}: {one:?} / {two:?}");
        // The busy worker's message comes back and goes through (or finds its run done).
        if busy == 1 {
            let again = if one.is_err() { (&first, a) } else { (&second, b) };
            again
                .0
                .sync_tenant(&message(tenant, again.1))
                .await
                .expect("redelivered");
        }
    }
    assert_eq!(
        repairs(&lab, tenant).await,
        (1, 1),
        "one spoof entry, repaired once"
    );
    let names = model::vendor::VendorConfig::parse(&integration_tests::lab::vendor_json())
        .expect("vendor")
        .names();
    let rules = lab.dump(tenant)["exchange"]["transport_rules"].clone();
    let incoming = rules
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["Name"] == names.rule_incoming_domain.as_str())
        .expect("incoming domain rule")
        .clone();
    assert!(incoming.to_string().contains("fabrikam.com"), "{incoming}");
    let snapshot = first.snapshot.entries(tenant).await.expect("snapshot");
    assert!(
        snapshot.iter().any(|e| e.name == "dave@contoso.com"),
        "the new user is in the snapshot: no lost update"
    );
    lab.assert_no_secret_in_the_table().await;
}

/// Where the tenant stood after a first delivery: stats reset, record version kept.
struct Mark {
    tenant: TenantId,
    version: u64,
}

impl Mark {
    async fn now(lab: &Lab, tenant: TenantId) -> Self {
        lab.sim.reset_stats();
        Self {
            tenant,
            version: lab.record(tenant).await.version,
        }
    }

    /// The second delivery of `what` wrote nothing to Microsoft.
    fn wrote_nothing(&self, lab: &Lab, what: &str) {
        let written = lab.counts(self.tenant).microsoft_writes();
        assert_eq!(written, 0, "{what}: the second delivery wrote to Microsoft");
    }

    /// ... and left the tenant record alone.
    async fn unchanged(&self, lab: &Lab, what: &str) {
        self.wrote_nothing(lab, what);
        assert_eq!(
            lab.record(self.tenant).await.version,
            self.version,
            "{what}: the second delivery changed the tenant record"
        );
    }
}

#[tokio::test]
async fn every_event_delivered_twice_changes_nothing_the_second_time() {
    let lab = Lab::start().await;
    let dns = &lab.dns;
    let tenant = crate::functions::provision::customer_tenant(&lab);
    dns.set_mx("contoso.com", &["contoso-com.mail.protection.outlook.com"]);
    let invoke = |payload: &Value| lambda_runtime::LambdaEvent::new(payload.clone(), lambda_context());

    let mut event = request(tenant);
    event["site"] = json!("eu");
    let first = lab.provision(event.clone()).await.expect("provision");
    let mark = Mark::now(&lab, tenant).await;
    let second = lab.provision(event).await.expect("provision again");
    mark.unchanged(&lab, "provision").await;
    assert_eq!(first["task_id"], second["task_id"]);

    let targets =
        json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": ["carol@contoso.com"]}});
    lab.policy_targets(targets.clone()).await.expect("targets");
    let stored = lab.record(tenant).await.policy_targets;
    let mark = Mark::now(&lab, tenant).await;
    // A second delivery checks again (a task of its own) and finds nothing to change.
    let again = lab.policy_targets(targets).await.expect("targets again");
    assert_eq!(again["status"], "succeeded", "{again:#}");
    mark.wrote_nothing(&lab, "policy-targets");
    assert_eq!(lab.record(tenant).await.policy_targets, stored);

    let refresher = lab.refresher();
    let scheduled =
        json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}});
    token_refresh::handler(&refresher, invoke(&scheduled))
        .await
        .expect("refresh");
    let mark = Mark::now(&lab, tenant).await;
    let again = token_refresh::handler(&refresher, invoke(&scheduled))
        .await
        .expect("refresh again");
    mark.unchanged(&lab, "token-refresh").await;
    assert_eq!(again.refreshed, 0, "{again:?}");
    assert_eq!(token_requests(&lab), 0, "no token request");

    let daily = lab.daily_sync();
    let run = json!({"site": "eu", "run_date": "2031-05-01"});
    let first = daily_sync::handler(&daily, invoke(&run))
        .await
        .expect("daily sync");
    let mark = Mark::now(&lab, tenant).await;
    let second = daily_sync::handler(&daily, invoke(&run))
        .await
        .expect("daily sync again");
    mark.unchanged(&lab, "daily-sync").await;
    assert_eq!((first.enqueued, second.enqueued, second.duplicate), (1, 0, true));

    let worker = lab.syncer();
    let body = json!({"tenant_id": tenant.to_string(), "site": "eu", "run_id": first.run_id}).to_string();
    let sqs = json!({"Records": [{"messageId": "m-1", "body": body}]});
    let first = sync_worker::handler(&worker, invoke(&sqs)).await.expect("sync");
    let mark = Mark::now(&lab, tenant).await;
    let second = sync_worker::handler(&worker, invoke(&sqs))
        .await
        .expect("sync again");
    mark.unchanged(&lab, "sync-worker").await;
    assert!(first.batch_item_failures.is_empty() && second.batch_item_failures.is_empty());
    assert!(lab.untouched(tenant), "the second delivery called nothing");

    let full = deprovision_event(tenant, "full");
    let first = lab.deprovision(full.clone()).await.expect("deprovision");
    assert_eq!(first["status"], "succeeded", "{first:#}");
    let mark = Mark::now(&lab, tenant).await;
    let second = lab.deprovision(full).await.expect("deprovision again");
    mark.unchanged(&lab, "deprovision").await;
    assert_eq!(first["task_id"], second["task_id"]);
    lab.assert_no_secret_in_the_table().await;
}

/// While a sync holds the tenant, deprovisioning and a policy update are refused (retryable) and
/// change nothing: the sync would repair what the first removes, or set back what the second sets.
#[tokio::test]
async fn deprovision_and_policy_targets_wait_for_a_running_sync() {
    let lab = Lab::start().await;
    let tenant = provisioned(&lab).await;
    let syncer = lab.syncer();
    syncer.sync_tenant(&message(tenant, "r1")).await.expect("sync");
    // A worker holds the tenant, as during its sync.
    let mut state = lab.aws.sync_state(tenant).await.expect("sync state");
    state.claimed_by = Some("r2".to_owned());
    state.claimed_until = Some(chrono::Utc::now() + chrono::Duration::minutes(5));
    lab.aws.store.update(&mut state).await.expect("claim");
    let before = lab.record(tenant).await;
    let targets =
        json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": ["alice@contoso.com"]}});
    for (function, answer) in [
        (
            "deprovision",
            lab.deprovision(deprovision_event(tenant, "full")).await,
        ),
        ("policy-targets", lab.policy_targets(targets.clone()).await),
    ] {
        let err = answer.expect_err(function);
        assert_eq!(err.error_type, "Retryable", "{function}: {err:?}");
        assert!(
            err.error_message.contains("being synced"),
            "{function}: {}",
            err.error_message
        );
    }
    let after = lab.record(tenant).await;
    assert_eq!(
        (after.state, after.version),
        (before.state, before.version),
        "nothing changed"
    );
    // The claim released (or lapsed), both go ahead.
    state.claimed_by = None;
    state.claimed_until = None;
    lab.aws.store.update(&mut state).await.expect("release");
    let view = lab.policy_targets(targets).await.expect("policy targets");
    assert_eq!(view["status"], "succeeded", "{view:#}");
}

/// A sync that read the tenant as active before a deprovisioning began writes nothing once it
/// sees the change: it does not re-create the routing deprovisioning removes.
#[tokio::test]
async fn a_sync_that_read_the_tenant_before_deprovisioning_began_repairs_nothing() {
    use model::tenant::LifecycleState;
    let lab = Lab::start().await;
    let tenant = provisioned(&lab).await;
    let syncer = lab.syncer();
    syncer.sync_tenant(&message(tenant, "r1")).await.expect("sync");
    let record = lab.record(tenant).await;
    remove_spoof_entry(
        &lab,
        tenant,
        &syncer.ms.exchange(&record).await.expect("exchange"),
    )
    .await;
    let (spoof_before, drift_before) = repairs(&lab, tenant).await;
    // The sync's Exchange reads take a while; meanwhile the tenant leaves `active`, as a
    // deprovisioning admitted just before the worker's claim would make it.
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "exchange", "latency_ms": 1500, "match": "Get-TransportRule", "count": 1}));
    let sync = tokio::spawn({
        let syncer = lab.syncer();
        async move { syncer.sync_tenant(&message(tenant, "r2")).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut moved = lab.record(tenant).await;
    moved.state = LifecycleState::Deprovisioning;
    lab.aws.store.update(&mut moved).await.expect("moved");
    let report = sync.await.expect("joined").expect("sync");
    assert_eq!(report.outcome, Outcome::Skipped, "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("deprovisioning during the sync")),
        "{report:?}"
    );
    assert_eq!(
        repairs(&lab, tenant).await,
        (spoof_before, drift_before),
        "nothing repaired"
    );
}
