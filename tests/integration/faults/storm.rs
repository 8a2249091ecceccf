//! Storms: the whole lifecycle of 50 tenants (provision, daily sync, policy targets, token
//! refresh, full deprovision) while the simulator throttles about 30% of Graph and Exchange calls
//! (integer and decimal `Retry-After`) and fails about 5% with 503.

use futures_util::{StreamExt, stream};
use integration_tests::lab::Lab;
use lifecycle::sync::report::Outcome;
use model::tenant::TenantId;
use serde_json::{Value, json};

use crate::functions::{
    deprovision::{assert_as_before, comparable, deprovision_event},
    provision::{CUSTOMER_IP, footprint},
    sync::message,
};

const TENANTS: usize = 50;
/// Tenants in flight at once (the storm's delays are slept through, so they overlap).
const CONCURRENCY: usize = 25;
/// Deliveries of one event before the test gives up (SQS would keep redelivering).
const DELIVERIES: usize = 20;

/// Throttling and outages on both surfaces, in the order the simulator tries them: 10% get 429
/// with `Retry-After: 1`, 22% of the rest 429 with `Retry-After: 0.2`, then 7% of the rest 503:
/// about 30% throttled and 5% unavailable.
fn storm(lab: &Lab) {
    for surface in ["graph", "exchange"] {
        lab.fault(json!({"surface": surface, "status": 429, "retry_after": 1, "probability": 0.1}));
        lab.fault(json!({"surface": surface, "status": 429, "retry_after": "0.2", "probability": 0.22}));
        lab.fault(json!({"surface": surface, "status": 503, "probability": 0.07}));
    }
}

/// A customer tenant of its own domain `c{n}.example`, as `provision::customer_tenant` has them.
fn customer(lab: &Lab, dns: &m365_sim::dns::DnsServer, n: usize) -> (TenantId, String) {
    let domain = format!("c{n}.example");
    let users: Vec<Value> = ["alice", "bob", "carol"]
        .iter()
        .map(|u| json!({"user_principal_name": format!("{u}@{domain}")}))
        .collect();
    let tenant = lab.tenant(json!({
        "domains": [domain], "users": users, "ip_allow_list": [CUSTOMER_IP], "exchange_admin_role": false
    }));
    dns.set_mx(&domain, &[&format!("c{n}-example.mail.protection.outlook.com")]);
    (tenant, domain)
}

fn request(tenant: TenantId, domain: &str) -> Value {
    json!({
        "tenant_id": tenant.to_string(), "site": "us",
        "services": ["exchange_online", "sharepoint_online", "onedrive"],
        "policy_targets": {"users": [format!("alice@{domain}"), format!("bob@{domain}")]},
        "options": {"ip_allow_list": true}
    })
}

/// The tenant's objects with its domain taken out, to compare tenants of different domains.
fn objects(lab: &Lab, tenant: TenantId, domain: &str) -> String {
    footprint(&lab.dump(tenant))
        .to_string()
        .replace(domain, "{domain}")
}

/// Delivers `event` and then its task's continuations until the task ends; returns the view.
async fn until_done(lab: &Lab, event: Value, deliver: impl AsyncFn(Value) -> Value) -> Value {
    let mut view = deliver(event).await;
    for _ in 0..DELIVERIES {
        if view["status"] == "succeeded" {
            return view;
        }
        // A continuation from a new process, of the task's own kind, looking again at once.
        let fresh = lab.fresh_lifecycle();
        let task_id = view["task_id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("a task id");
        view = json!(
            fresh
                .resume(task_id, None, true, None)
                .await
                .expect("continuation")
        );
    }
    panic!("not done after {DELIVERIES} deliveries: {view:#}");
}

#[tokio::test]
async fn a_lifecycle_of_fifty_tenants_completes_through_a_storm_without_duplicates() {
    let lab = Lab::start().await;
    let dns = &lab.dns;
    let (reference, domain) = customer(&lab, dns, TENANTS);
    let view = lab
        .provision(request(reference, &domain))
        .await
        .expect("clean run");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let clean = objects(&lab, reference, &domain);
    let tenants: Vec<(TenantId, String)> = (0..TENANTS).map(|n| customer(&lab, dns, n)).collect();
    let originals: Vec<Value> = tenants.iter().map(|(t, _)| comparable(&lab, *t)).collect();
    lab.sim.reset_stats();
    storm(&lab);

    let syncer = lab.syncer();
    let started = std::time::Instant::now();
    let lifecycle = |(tenant, domain): (TenantId, String)| {
        let (lab, syncer, clean) = (&lab, &syncer, &clean);
        async move {
            let domain = domain.as_str();
            let provisioned = until_done(lab, request(tenant, domain), async |e| {
                lab.provision(e).await.expect("provision accepted")
            })
            .await;
            assert_eq!(
                &objects(lab, tenant, domain),
                clean,
                "{tenant}: a clean run's objects, none twice: {provisioned:#}"
            );
            let mut synced = None;
            for _ in 0..DELIVERIES {
                if let Ok(report) = syncer.sync_tenant(&message(tenant, "storm")).await {
                    synced = Some(report);
                    break;
                }
            }
            let synced = synced.unwrap_or_else(|| panic!("{tenant}: never synced"));
            assert_eq!(synced.outcome, Outcome::Synced, "{synced:?}");
            assert!(synced.drift.is_empty(), "{tenant}: nothing drifted: {synced:?}");
            let targets = json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": [format!("carol@{domain}")]}});
            // The targets are checked against the directory before the task opens: a storm can
            // refuse the request as Retryable, and the operator sends it again.
            until_done(lab, targets, async |e| {
                for _ in 0..DELIVERIES {
                    match lab.policy_targets(e.clone()).await {
                        Ok(view) => return view,
                        Err(err) if err.error_type == "Retryable" => continue,
                        Err(err) => panic!("policy targets refused: {err:?}"),
                    }
                }
                panic!("policy targets never accepted through the storm")
            })
            .await;
        }
    };
    stream::iter(tenants.clone())
        .for_each_concurrent(CONCURRENCY, lifecycle)
        .await;

    let provisioned_at = started.elapsed();
    let refresh = lab
        .refresher()
        .run(&json!({"force": true}))
        .await
        .expect("token refresh");
    assert_eq!(refresh.refreshed, TENANTS + 1, "{refresh:?}");

    stream::iter(tenants.iter().map(|(tenant, _)| *tenant))
        .for_each_concurrent(CONCURRENCY, |tenant| {
            let lab = &lab;
            async move {
                until_done(lab, deprovision_event(tenant, "full"), async |e| {
                    lab.deprovision(e).await.expect("deprovision accepted")
                })
                .await;
            }
        })
        .await;
    let deprovisioned_at = started.elapsed();
    for ((tenant, _), original) in tenants.iter().zip(&originals) {
        assert_as_before(&lab, *tenant, original, &tenant.to_string()).await;
    }

    let faults = lab.sim.faults();
    let hits: Vec<u64> = faults["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .map(|f| f["hits"].as_u64().unwrap_or(0))
        .collect();
    let stats = lab.sim.stats();
    let calls = |surface: &str| stats["total"][surface]["requests"].as_u64().unwrap_or(0);
    let (graph, exchange) = (calls("graph"), calls("exchange"));
    let throttled = hits[0] + hits[1] + hits[3] + hits[4];
    let unavailable = hits[2] + hits[5];
    // Every hit was answered with an error and the call made again: the retries.
    eprintln!(
        "storm report: {TENANTS} tenants; {graph} Graph and {exchange} Exchange requests; \
         {throttled} throttled (429: {} with Retry-After 1, {} with 0.2), {unavailable} unavailable (503); \
         {} retries; provision + sync + targets {:.0?}, refresh and deprovision {:.0?}",
        hits[0] + hits[3],
        hits[1] + hits[4],
        throttled + unavailable,
        provisioned_at,
        deprovisioned_at - provisioned_at
    );
    let share = |n: u64| n as f64 / (graph + exchange) as f64;
    assert!(
        share(throttled) > 0.2 && share(unavailable) > 0.03,
        "the storm blew: {faults}"
    );
    lab.assert_no_secret_in_the_table().await;
}
