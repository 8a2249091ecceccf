//! Service running end to end: daily-sync fan-out, the sync worker (delta, snapshot, domains,
//! MX, rules, drift), against moto, m365-sim and a DNS server on loopback.

use std::{
    collections::BTreeSet,
    time::{Duration, SystemTime},
};

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use integration_tests::{
    lab::{Counts, Lab, TenantCounts, assert_refused, invoke, lambda_context, vendor},
    template::Template,
};
use lifecycle::sync::{
    SyncMessage, Syncer,
    dns::MxResolver,
    report::{Outcome, TenantReport},
    state::{DRIFT_PREFIX, DirectoryEntry, EntryKind, ListingCheckpoint, SyncState, snapshot_partition},
};
use m365_sim::dns::DnsServer;
use microsoft::exchange::{Cmdlet, ExchangeAdmin, add_remove};
use model::{
    sites::{SITES, Site},
    tenant::{LifecycleState, TenantId},
};
use serde_json::{Value, json};
use state::store::{Key, Record, TenantRecord};

use crate::functions::provision::{customer_tenant, request};

const CONTOSO_MX: &str = "contoso-com.mail.protection.outlook.com";

/// A worker on the lab (a new process: empty caches) resolving MX through the DNS server at
/// `dns`, not the lab's.
pub fn syncer_with(lab: &Lab, dns: std::net::SocketAddr) -> Syncer {
    let mut env = lab.function_env();
    env.insert("DNS_SERVER".to_owned(), dns.to_string());
    Syncer::from_source(&lab.aws.sdk, &env).expect("the lab configures sync-worker")
}

pub fn message(tenant: TenantId, run: &str) -> SyncMessage {
    SyncMessage {
        tenant_id: tenant,
        site: Site::Us,
        run_id: run.to_owned(),
    }
}

/// Removes the tenant's spoof entry behind our back: the next sync repairs it.
pub async fn remove_spoof_entry(lab: &Lab, tenant: TenantId, exchange: &impl ExchangeAdmin) {
    let id = lab.dump(tenant)["exchange"]["spoof_items"][0]["Identity"]
        .as_str()
        .expect("spoof id")
        .to_owned();
    exchange
        .invoke(
            &Cmdlet::new("Remove-TenantAllowBlockListSpoofItems")
                .param("Identity", "Default")
                .param("Ids", vec![id]),
        )
        .await
        .expect("spoof entry removed");
}

/// A provisioned customer tenant with its MX pointing at Exchange Online.
pub async fn provisioned(lab: &Lab) -> TenantId {
    let tenant = customer_tenant(lab);
    let view = lab.provision(request(tenant)).await.expect("provisioned");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    lab.dns.set_mx("contoso.com", &[CONTOSO_MX]);
    tenant
}

/// A provisioned tenant after its first sync, the worker that synced it, and that sync's report.
pub async fn synced(lab: &Lab) -> (TenantId, Syncer, TenantReport) {
    let tenant = provisioned(lab).await;
    let syncer = lab.syncer();
    let first = syncer
        .sync_tenant(&message(tenant, "first"))
        .await
        .expect("first sync");
    (tenant, syncer, first)
}

/// The simulator's users and groups as the snapshot should hold them, read through Graph.
async fn directory_in_graph(syncer: &Syncer, tenant: &TenantRecord) -> BTreeSet<(EntryKind, String, String)> {
    let graph = syncer.ms.graph(tenant).await.expect("graph");
    let mut all = BTreeSet::new();
    for (kind, path, name) in [
        (
            EntryKind::User,
            "/users?$top=999&$select=id,userPrincipalName",
            "userPrincipalName",
        ),
        (
            EntryKind::Group,
            "/groups?$top=999&$select=id,displayName",
            "displayName",
        ),
    ] {
        for o in graph.pages::<Value>(path).collect_all().await.expect("listing") {
            all.insert((
                kind,
                o["id"].as_str().unwrap_or_default().to_owned(),
                o[name].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    all
}

async fn snapshot(syncer: &Syncer, tenant: TenantId) -> BTreeSet<(EntryKind, String, String)> {
    syncer
        .snapshot
        .entries(tenant)
        .await
        .expect("snapshot")
        .into_iter()
        .map(|e: DirectoryEntry| (e.kind, e.id, e.name))
        .collect()
}

#[tokio::test]
async fn unchanged_tenant_stays_in_budget_and_the_snapshot_follows_adds_removes_and_renames() {
    let lab = Lab::start().await;
    let (tenant, syncer, first) = synced(&lab).await;
    assert_eq!(first.outcome, Outcome::Synced);
    assert!(first.full_listing);
    assert!(first.drift.is_empty(), "{:?}", first.drift);
    assert!(first.mx_problems.is_empty(), "{:?}", first.mx_problems);
    let record = lab.record(tenant).await;
    assert_eq!(
        snapshot(&syncer, tenant).await,
        directory_in_graph(&syncer, &record).await
    );

    // Unchanged: one Graph $batch (envelope + 3) and one Exchange $batch.
    lab.sim.reset_stats();
    let unchanged = syncer
        .sync_tenant(&message(tenant, "r2"))
        .await
        .expect("unchanged sync");
    let TenantCounts {
        graph:
            Counts {
                requests: graph,
                writes: graph_writes,
                ..
            },
        exchange:
            Counts {
                requests: exchange_cmdlets,
                writes: exchange_writes,
                ..
            },
        ..
    } = lab.counts(tenant);
    assert!(graph <= 5, "graph requests {graph}");
    assert_eq!(graph_writes, 0);
    assert!(unchanged.exchange_http_requests <= 2, "{unchanged:?}");
    assert_eq!(exchange_writes, 0, "an unchanged tenant gets no Exchange write");
    // The simulator counts each cmdlet of a $batch: rules, 2 connector kinds, IP list, spoof list.
    assert_eq!(exchange_cmdlets, 5);
    assert!(unchanged.rules_updated.is_empty() && unchanged.drift.is_empty() && !unchanged.full_listing);

    // 3 added, 1 removed, 1 renamed.
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({
                "add_users": [{"user_principal_name": "dave@contoso.com"}, {"user_principal_name": "erin@contoso.com"}, {"user_principal_name": "frank@contoso.com"}],
                "remove_users": ["carol@contoso.com"],
                "rename_users": [{"user": "bob@contoso.com", "user_principal_name": "robert@contoso.com", "display_name": "Robert"}]
            }))
            .expect("patch"),
        )
        .expect("directory patched");
    lab.sim.reset_stats();
    let changed = syncer
        .sync_tenant(&message(tenant, "r3"))
        .await
        .expect("delta sync");
    assert_eq!(changed.users, (4, 1), "3 added + 1 renamed, 1 removed");
    assert!(lab.counts(tenant).graph.requests <= 5);
    let in_graph = directory_in_graph(&syncer, &record).await;
    assert!(in_graph.iter().any(|(_, _, n)| n == "robert@contoso.com"));
    assert!(
        !in_graph
            .iter()
            .any(|(_, _, n)| n == "carol@contoso.com" || n == "bob@contoso.com")
    );
    assert_eq!(snapshot(&syncer, tenant).await, in_graph);
}

/// Invocations of the sync worker (`timeout` to their deadline) until no message is left on the
/// sync queue; each must answer before its deadline with no failed message, and each that stops
/// a listing or a delta must have read further than the one before. The pages read after each
/// invocation that stopped.
async fn invoke_until_no_message(
    lab: &Lab,
    syncer: &Syncer,
    tenant: TenantId,
    first: Value,
    timeout: Duration,
) -> Vec<usize> {
    let mut event = first;
    let mut progress = Vec::new();
    for invocation in 1..=30 {
        let deadline = SystemTime::now() + timeout;
        let answer = syncer
            .handle_sqs(event, Some(deadline))
            .await
            .expect("batch handled");
        assert!(
            SystemTime::now() < deadline,
            "invocation {invocation} answered after its deadline"
        );
        assert!(
            answer.batch_item_failures.is_empty(),
            "invocation {invocation}: {:?}",
            answer.batch_item_failures
        );
        event = lab.aws.take_messages("SYNC_QUEUE_URL").await;
        if event["Records"].as_array().is_none_or(Vec::is_empty) {
            return progress;
        }
        let state: SyncState = lab.aws.sync_state(tenant).await.expect("sync state");
        let pages = state.listing.map_or(usize::MAX, |l| l.pages);
        assert!(
            progress.last().is_none_or(|last| pages > *last),
            "invocation {invocation} did not list further: {progress:?} then {pages}"
        );
        progress.push(pages);
    }
    panic!("the sync did not finish in 30 invocations: pages listed after each {progress:?}");
}

/// The SQS event of one message.
fn one_message(message: &SyncMessage) -> Value {
    sqs_event(&[("m1", serde_json::to_string(message).expect("body"))])
}

#[tokio::test]
async fn a_100k_user_first_sync_at_300_ms_a_graph_page_goes_on_across_invocations_within_their_deadline() {
    let lab = Lab::start().await;
    let dns = &lab.dns;
    let tenant = lab.tenant(json!({"domains": ["big.example"], "users": 100000}));
    let mut record = TenantRecord::new(
        tenant,
        Site::Us,
        vec![model::service::Service::ExchangeOnline],
        LifecycleState::Active,
    );
    lab.aws.store.create(&mut record).await.expect("tenant record");
    dns.set_mx("big.example", &["big-example.mail.protection.outlook.com"]);
    let mut syncer = lab.syncer();
    // A 12 s stretch of listing, and a reserve for the page in hand and its thousand snapshot
    // writes that holds when moto (one request at a time) also serves the suite's other tests.
    syncer.reserve = Duration::from_secs(15);
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "graph", "latency_ms": 300}));
    lab.sim.reset_stats();
    let first = one_message(&message(tenant, "big"));
    let stops = invoke_until_no_message(&lab, &syncer, tenant, first, Duration::from_secs(27)).await;
    let invocations = stops.len() + 1;
    // ~101 pages at 300 ms plus 100,000 snapshot writes cannot fit in one 12 s stretch.
    assert!(invocations >= 3, "pages listed after each stop: {stops:?}");
    let graph = lab.counts(tenant).graph.requests;
    // 101 pages of 999 users + the from-now users link; the rest is groups, domains, the envelope,
    // and the users delta (from the listing's from-now link) in the invocation that ends it: a
    // stop costs no request of its own.
    assert!(
        graph <= 120,
        "graph requests {graph} in {invocations} invocations"
    );
    let state: SyncState = lab.aws.sync_state(tenant).await.expect("sync state");
    assert_eq!(
        state.listing, None,
        "the checkpoint is gone once the listing ended"
    );
    assert_eq!(state.last_run_id.as_deref(), Some("big"));
    assert!(state.users_delta.is_some() && state.groups_delta.is_some());
    assert_eq!(state.claimed_by, None);
    assert_eq!(snapshot_users(&lab, tenant).await, 100_000);
}

#[tokio::test]
async fn a_delta_of_many_pages_at_300_ms_a_graph_page_goes_on_across_invocations_within_their_deadline() {
    let lab = Lab::start().await;
    let tenant = lab.active_tenant(Site::Us, 3).await;
    let mut syncer = lab.syncer();
    syncer
        .sync_tenant(&message(tenant, "first"))
        .await
        .expect("first sync");
    // 40 delta pages of 200 users.
    let added = 8_000;
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"add_users": added})).expect("patch"),
        )
        .expect("directory patched");
    // A 5 s stretch, and a reserve that holds while moto serves the suite's other tests too.
    syncer.reserve = Duration::from_secs(8);
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "graph", "latency_ms": 300}));
    lab.sim.reset_stats();
    let first = one_message(&message(tenant, "many"));
    let stops = invoke_until_no_message(&lab, &syncer, tenant, first, Duration::from_secs(13)).await;
    // 40 pages at 300 ms and 8,000 snapshot writes cannot fit in one 5 s stretch.
    assert!(stops.len() >= 2, "pages read after each stop: {stops:?}");
    let graph = lab.counts(tenant).graph.requests;
    // 40 delta pages; each invocation adds at most its $batch (envelope, users, groups, domains).
    assert!(
        graph <= 40 + 4 * (stops.len() as u64 + 1) + 4,
        "graph requests {graph} in {} invocations",
        stops.len() + 1
    );
    let state: SyncState = lab.aws.sync_state(tenant).await.expect("sync state");
    assert_eq!(state.listing, None, "the checkpoint is gone once the delta ended");
    assert_eq!(state.last_run_id.as_deref(), Some("many"));
    assert_eq!(state.claimed_by, None);
    let link = state.users_delta.expect("the users delta link");
    assert!(
        link.contains("$deltatoken="),
        "the delta's last link is stored: {link}"
    );
    assert_eq!(snapshot_users(&lab, tenant).await, 3 + added);
}

/// How many users the tenant's snapshot holds, counted by DynamoDB (`Select: COUNT`), not read.
async fn snapshot_users(lab: &Lab, tenant: TenantId) -> i32 {
    let dynamodb = aws_sdk_dynamodb::Client::new(&lab.aws.sdk);
    let (mut count, mut start) = (0, None);
    loop {
        let page = dynamodb
            .query()
            .table_name(lab.aws.store.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :users)")
            .expression_attribute_values(":pk", AttributeValue::S(snapshot_partition(tenant)))
            .expression_attribute_values(":users", AttributeValue::S(EntryKind::User.prefix().to_owned()))
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("count");
        count += page.count;
        start = page.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}

#[tokio::test]
async fn a_message_not_started_before_the_reserve_is_queued_again_untouched() {
    let lab = Lab::start().await;
    let (tenant, mut syncer, _) = synced(&lab).await;
    lab.sim.reset_stats();
    syncer.reserve = Duration::from_secs(3600);
    let event = one_message(&message(tenant, "late"));
    let answer = syncer
        .handle_sqs(event, Some(SystemTime::now() + Duration::from_secs(60)))
        .await
        .expect("batch");
    assert!(answer.batch_item_failures.is_empty());
    assert!(lab.untouched(tenant), "nothing was asked of Microsoft");
    let again = receive_all(&lab).await;
    assert_eq!(
        again,
        vec![serde_json::to_value(message(tenant, "late")).expect("json")]
    );
}

#[tokio::test]
async fn a_listing_checkpoint_that_is_not_graphs_own_link_lists_anew() {
    let lab = Lab::start().await;
    lists_anew_from(&lab, "https://evil.example/v1.0/users?$skiptoken=x".to_owned()).await;
}

#[tokio::test]
async fn a_listing_checkpoint_whose_link_graph_no_longer_takes_lists_anew() {
    let lab = Lab::start().await;
    let graph = lab.function_env()["M365_GRAPH_URL"].clone();
    let stale = format!("{graph}/v1.0/users?$top=999&$select=id&$skiptoken=bm8tbG9uZ2VyLWdvb2Q");
    lists_anew_from(&lab, stale).await;
}

/// A tenant whose sync state holds a listing checkpoint at `link` is listed anew by its next sync.
async fn lists_anew_from(lab: &Lab, link: String) {
    let tenant = lab.active_tenant(Site::Us, 3).await;
    let mut state = SyncState {
        tenant_id: Some(tenant),
        listing: Some(ListingCheckpoint {
            kind: EntryKind::User,
            next_link: link,
            delta_link: None,
            sweep: false,
            generation: "old".to_owned(),
            pages: 3,
            upserted: 2997,
            removed: 0,
        }),
        ..SyncState::default()
    };
    lab.aws.store.create(&mut state).await.expect("state");
    let syncer = lab.syncer();
    let report = syncer.sync_tenant(&message(tenant, "r1")).await.expect("sync");
    assert_eq!(report.outcome, Outcome::Synced);
    assert!(report.full_listing);
    let state: SyncState = lab.aws.sync_state(tenant).await.expect("state");
    assert_eq!(state.listing, None);
    let users = syncer.snapshot.entries(tenant).await.expect("snapshot");
    assert_eq!(users.iter().filter(|e| e.kind == EntryKind::User).count(), 3);
    assert!(
        users.iter().all(|e| e.generation == "r1"),
        "listed anew by this run"
    );
}

#[tokio::test]
async fn an_expired_delta_link_falls_back_to_a_full_listing() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"remove_users": ["alice@contoso.com"], "add_users": 2}))
                .expect("patch"),
        )
        .expect("patched");
    lab.sim.advance_clock(8.0 * 86_400.0);
    let report = syncer
        .sync_tenant(&message(tenant, "d2"))
        .await
        .expect("sync after expiry");
    assert!(report.full_listing);
    assert_eq!(report.users.1, 1, "the removed user is swept from the snapshot");
    let record = lab.record(tenant).await;
    assert_eq!(
        snapshot(&syncer, tenant).await,
        directory_in_graph(&syncer, &record).await
    );
    // The new delta link works: the next sync is a delta again.
    let next = syncer
        .sync_tenant(&message(tenant, "d3"))
        .await
        .expect("delta again");
    assert!(!next.full_listing);
}

#[tokio::test]
async fn a_new_domain_updates_the_rules_once_and_a_quiet_day_writes_nothing() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"add_domains": ["fabrikam.com"]})).expect("patch"),
        )
        .expect("domain added");
    lab.sim.reset_stats();
    let report = syncer.sync_tenant(&message(tenant, "n2")).await.expect("sync");
    assert_eq!(report.new_domains, vec!["fabrikam.com"]);
    assert_eq!(report.rules_updated.len(), 2, "{report:?}");
    assert_eq!(
        lab.counts(tenant).exchange.writes,
        2,
        "two Set-TransportRule, nothing else"
    );
    // fabrikam.com has no MX in DNS yet: reported on the tenant.
    assert!(
        report.mx_problems.iter().any(|p| p.starts_with("fabrikam.com")),
        "{report:?}"
    );
    let attention = lab.record(tenant).await.attention.unwrap_or_default();
    assert!(attention.contains("fabrikam.com"), "{attention}");
    let names = vendor().names();
    let rules = lab.dump(tenant)["exchange"]["transport_rules"].clone();
    let incoming = rules
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["Name"] == names.rule_incoming_domain.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    assert!(
        incoming["RecipientDomainIs"].to_string().contains("fabrikam.com"),
        "{incoming:#}"
    );

    lab.sim.reset_stats();
    let quiet = syncer
        .sync_tenant(&message(tenant, "n3"))
        .await
        .expect("quiet sync");
    assert!(quiet.rules_updated.is_empty());
    assert_eq!(
        lab.counts(tenant).exchange.writes,
        0,
        "nothing changed: no Exchange write"
    );
}

#[tokio::test]
async fn an_explicit_domain_list_does_not_grow_with_new_domains() {
    let lab = Lab::start().await;
    let dns = &lab.dns;
    let tenant = customer_tenant(&lab);
    let mut provision = request(tenant);
    provision["policy_targets"]["domains"] = json!(["contoso.com"]);
    lab.provision(provision).await.expect("provisioned");
    dns.set_mx("contoso.com", &[CONTOSO_MX]);
    let syncer = lab.syncer();
    syncer.sync_tenant(&message(tenant, "e1")).await.expect("first");
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"add_domains": ["fabrikam.com"]})).expect("patch"),
        )
        .expect("domain added");
    let report = syncer.sync_tenant(&message(tenant, "e2")).await.expect("sync");
    assert_eq!(report.new_domains, vec!["fabrikam.com"]);
    assert!(report.rules_updated.is_empty(), "{report:?}");
}

#[tokio::test]
async fn drift_is_repaired_recorded_and_a_duplicate_delivery_changes_nothing() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    let names = vendor().names();
    let ip = vendor().egress_ips[0].clone();
    let record = lab.record(tenant).await;
    let exchange = syncer.ms.exchange(&record).await.expect("exchange");
    exchange
        .invoke(&Cmdlet::new("Remove-TransportRule").param("Identity", names.rule_skip_spam.as_str()))
        .await
        .expect("rule deleted");
    exchange
        .invoke(&Cmdlet::new("Disable-TransportRule").param("Identity", names.rule_incoming_user.as_str()))
        .await
        .expect("rule disabled");
    exchange
        .invoke(
            &Cmdlet::new("Set-HostedConnectionFilterPolicy")
                .param("Identity", "Default")
                .param("IPAllowList", add_remove(&[], std::slice::from_ref(&ip))),
        )
        .await
        .expect("ip removed");

    let report = syncer.sync_tenant(&message(tenant, "x2")).await.expect("sync");
    assert!(
        report
            .drift
            .iter()
            .any(|d| d.contains(&names.rule_skip_spam) && d.contains("deleted")),
        "{report:?}"
    );
    assert!(
        report
            .drift
            .iter()
            .any(|d| d.contains(&names.rule_incoming_user) && d.contains("disabled"))
    );
    assert!(report.drift.iter().any(|d| d.contains(&ip)));
    let dump = lab.dump(tenant);
    let rules = dump["exchange"]["transport_rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for name in names.rules() {
        let rule = rules
            .iter()
            .find(|r| r["Name"] == name)
            .unwrap_or_else(|| panic!("{name} restored"));
        assert_eq!(rule["State"], "Enabled", "{name}");
    }
    assert!(dump["exchange"]["ip_allow_list"].to_string().contains(&ip));
    assert!(
        dump["exchange"]["ip_allow_list"]
            .to_string()
            .contains("192.0.2.10"),
        "the customer's IP stays"
    );
    let drift_items = lab
        .aws
        .store
        .query_prefix(&Key::tenant(tenant).pk, DRIFT_PREFIX)
        .await
        .expect("drift records");
    assert_eq!(drift_items.len(), 1);

    // The same message again: nothing is called, nothing is written.
    lab.sim.reset_stats();
    let again = syncer
        .sync_tenant(&message(tenant, "x2"))
        .await
        .expect("duplicate");
    assert_eq!(again.outcome, Outcome::Skipped);
    assert_eq!(lab.counts(tenant).microsoft_requests(), 0);
    // And the next day finds nothing to repair.
    let next = syncer
        .sync_tenant(&message(tenant, "x3"))
        .await
        .expect("next day");
    assert!(next.drift.is_empty(), "{next:?}");
}

/// An SQS event of `records` (message id, body), as Lambda delivers the sync queue's.
pub fn sqs_event(records: &[(&str, String)]) -> Value {
    json!({"Records": records.iter().map(|(id, body)| json!({
        "messageId": id, "receiptHandle": "rh", "body": body, "attributes": {}, "messageAttributes": {},
        "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:sync", "awsRegion": "us-east-1"
    })).collect::<Vec<_>>()})
}

#[tokio::test]
async fn a_failing_tenant_and_a_malformed_body_are_batch_item_failures_while_others_sync() {
    let lab = Lab::start().await;
    let syncer = lab.syncer();
    let good = lab.active_tenant(Site::Us, 2).await;
    let failing = lab.active_tenant(Site::Us, 2).await;
    let mut parked = TenantRecord::new(
        lab.tenant(json!({"domains": ["parked.example"]})),
        Site::Us,
        vec![model::service::Service::ExchangeOnline],
        LifecycleState::Deprovisioning,
    );
    lab.aws.store.create(&mut parked).await.expect("record");
    lab.fault(json!({"tenant": failing.to_string(), "surface": "graph", "status": 500}));
    let body = |t: TenantId| serde_json::to_string(&message(t, "q1")).expect("body");
    let event = sqs_event(&[
        ("m-good", body(good)),
        ("m-failing", body(failing)),
        ("m-parked", body(parked.tenant_id)),
        (
            "m-bad",
            r#"{"tenant_id": "not-a-guid", "site": "us", "run_id": "q1"}"#.to_owned(),
        ),
        // Over the 64 KiB bound of one message: it fails alone, the batch is still read.
        (
            "m-huge",
            serde_json::json!({"tenant_id": good.to_string(), "site": "us", "run_id": "x".repeat(70 * 1024)})
                .to_string(),
        ),
    ]);
    let answer = sync_worker::handler(&syncer, lambda_runtime::LambdaEvent::new(event, lambda_context()))
        .await
        .expect("batch answer");
    let mut failed: Vec<String> = serde_json::to_value(&answer).expect("json")["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
        .collect();
    failed.sort();
    assert_eq!(failed, vec!["m-bad", "m-failing", "m-huge"]);
    let state = lab.aws.sync_state(good).await;
    assert_eq!(state.and_then(|s| s.last_run_id).as_deref(), Some("q1"));
    assert_eq!(
        lab.counts(parked.tenant_id).graph,
        Counts::default(),
        "a deprovisioning tenant is skipped"
    );
}

async fn receive_all(lab: &Lab) -> Vec<Value> {
    let event = lab.aws.take_messages("SYNC_QUEUE_URL").await;
    let records = event["Records"].as_array().cloned().unwrap_or_default();
    records
        .iter()
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap_or("null")).expect("json body"))
        .collect()
}

#[tokio::test]
async fn daily_sync_queues_each_active_tenant_once_per_site_and_date() {
    let lab = Lab::start().await;
    let mut eu = Vec::new();
    for _ in 0..12 {
        eu.push(lab.active_tenant(Site::Eu, 2).await);
    }
    lab.active_tenant(Site::Us, 2).await;
    let daily = lab.daily_sync();
    let run = |payload: Value| invoke(daily_sync::handler, &daily, payload);
    let summary = run(json!({"site": "eu", "run_date": "2030-01-01"}))
        .await
        .expect("run");
    assert_eq!(summary["enqueued"], 12);
    assert_eq!(summary["duplicate"], false);
    let messages = receive_all(&lab).await;
    assert_eq!(messages.len(), 12);
    let ids: BTreeSet<String> = messages
        .iter()
        .filter_map(|m| m["tenant_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, eu.iter().map(|t| t.to_string()).collect());
    assert!(
        messages
            .iter()
            .all(|m| m["run_id"] == "eu-2030-01-01" && m["site"] == "eu")
    );

    // The scheduler delivers the same event again: nothing new is queued.
    let again = run(json!({"site": "eu", "run_date": "2030-01-01"}))
        .await
        .expect("dup");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["enqueued"], 0);
    assert!(receive_all(&lab).await.is_empty());

    // Bad input names the field and records nothing.
    for (payload, field) in [
        (json!({"site": "mars"}), "site"),
        (json!({"site": "eu", "run_date": "yesterday"}), "run_date"),
        (json!({"site": "eu", "extra": 1}), "extra"),
    ] {
        assert_refused(run(payload.clone()).await, "InvalidInput", field, &payload);
    }
    let run: Option<lifecycle::sync::SiteRun> = lab
        .aws
        .store
        .get(&lifecycle::sync::SiteRun::key_of(
            Site::Eu,
            "2030-01-01".parse().expect("date"),
        ))
        .await
        .expect("run record");
    assert_eq!(run.map(|r| r.tenants), Some(12));
    assert!(receive_all(&lab).await.is_empty());
}

#[test]
fn sync_messages_refuse_non_guid_tenants_and_unknown_sites() {
    for (body, field) in [
        (
            r#"{"tenant_id": "abc", "site": "us", "run_id": "r"}"#,
            "tenant_id",
        ),
        (
            r#"{"tenant_id": "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "site": "mars", "run_id": "r"}"#,
            "site",
        ),
    ] {
        let err = model::event::parse::<SyncMessage>(body.as_bytes()).expect_err("refused");
        assert_eq!(err.field(), Some(field), "{err}");
    }
}

#[test]
fn the_template_schedules_every_site_at_its_utc_time() {
    let template = Template::load().expect("template");
    let function: Value =
        serde_json::to_value(&template.root()["Resources"]["DailySyncFunction"]).expect("json");
    let mut scheduled: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, event) in function["Properties"]["Events"].as_object().into_iter().flatten() {
        assert_eq!(event["Type"], "ScheduleV2");
        let props = &event["Properties"];
        assert_eq!(props["ScheduleExpressionTimezone"], "UTC");
        assert_eq!(props["OmitName"], true);
        let input: Value =
            serde_json::from_str(props["Input"].as_str().unwrap_or("null")).expect("Input is JSON");
        let cron = props["ScheduleExpression"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        scheduled.insert((input["site"].as_str().unwrap_or_default().to_owned(), cron));
    }
    let expected: BTreeSet<(String, String)> = SITES
        .iter()
        .map(|(site, time)| (site.code().to_owned(), time.daily_cron()))
        .collect();
    assert_eq!(scheduled, expected);
}

#[test]
fn sync_records_do_not_collide_with_existing_keys() {
    let tenant: TenantId = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".parse().expect("id");
    let state = lifecycle::sync::SyncState {
        tenant_id: Some(tenant),
        ..Default::default()
    };
    let key = state.key();
    assert_eq!(key.pk, Key::tenant(tenant).pk);
    for taken in ["TENANT", "RES#", "TASK", "STEP#"] {
        assert!(!key.sk.starts_with(taken));
        assert!(!DRIFT_PREFIX.starts_with(taken));
    }
    assert!(
        DirectoryEntry::key_of(tenant, EntryKind::User, "x")
            .pk
            .starts_with("DIR#")
    );
}

#[test]
fn the_sync_samples_parse() {
    let read = |name: &str| -> Value {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("sample")).expect("json")
    };
    for name in ["daily-sync.json", "daily-sync-backfill.json"] {
        model::event::from_value::<lifecycle::sync::DailySyncRequest>(read(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let batch = read("sync-worker.json");
    for record in batch["Records"].as_array().into_iter().flatten() {
        let body = record["body"].as_str().unwrap_or_default();
        model::event::parse::<SyncMessage>(body.as_bytes()).expect("sync message");
    }
}

#[tokio::test]
async fn a_changed_or_deleted_connector_and_a_removed_spoof_entry_are_repaired() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    let names = vendor().names();
    let record = lab.record(tenant).await;
    let exchange = syncer.ms.exchange(&record).await.expect("exchange");
    // Someone points our outbound connector elsewhere, deletes an inbound one, and removes the
    // spoof entry.
    exchange
        .invoke(
            &Cmdlet::new("Set-OutboundConnector")
                .param("Identity", names.outbound_incoming.as_str())
                .param("SmartHosts", vec!["mx.elsewhere.example".to_owned()]),
        )
        .await
        .expect("connector changed");
    exchange
        .invoke(&Cmdlet::new("Remove-InboundConnector").param("Identity", names.inbound_outgoing.as_str()))
        .await
        .expect("connector deleted");
    remove_spoof_entry(&lab, tenant, &exchange).await;

    let report = syncer.sync_tenant(&message(tenant, "c2")).await.expect("sync");
    assert!(
        report.drift.iter().any(|d| d.contains(&names.outbound_incoming)),
        "{report:?}"
    );
    assert!(
        report.drift.iter().any(|d| d.contains(&names.inbound_outgoing)),
        "{report:?}"
    );
    assert!(
        report.drift.iter().any(|d| d.to_lowercase().contains("spoof")),
        "{report:?}"
    );
    let dump = lab.dump(tenant);
    let outbound = dump["exchange"]["outbound_connectors"]
        .as_array()
        .expect("outbound");
    let ours = outbound
        .iter()
        .find(|c| c["Name"] == names.outbound_incoming.as_str())
        .expect("still there");
    let hosts = vendor().smart_hosts(record.site, &tenant);
    assert_eq!(ours["SmartHosts"], json!([hosts.incoming]), "smart host put back");
    let inbound = dump["exchange"]["inbound_connectors"]
        .as_array()
        .expect("inbound");
    assert!(
        inbound
            .iter()
            .any(|c| c["Name"] == names.inbound_outgoing.as_str()),
        "deleted connector recreated"
    );
    assert_eq!(
        dump["exchange"]["spoof_items"].as_array().map(Vec::len),
        Some(1),
        "spoof entry added back"
    );

    let quiet = syncer
        .sync_tenant(&message(tenant, "c3"))
        .await
        .expect("next day");
    assert!(quiet.drift.is_empty(), "nothing left to repair: {quiet:?}");
}

/// The vendor's facts change in its configuration (an egress IP retired, one added, a new
/// certificate name): the next sync brings the tenant in line, the customer's own IP stays, a
/// second sync has nothing to do, and deprovisioning still returns the tenant to its original state.
#[tokio::test]
async fn a_change_of_the_vendors_facts_reaches_the_tenant_with_the_next_sync() {
    use crate::functions::deprovision::{assert_as_before, comparable, deprovision_event};
    let lab = Lab::start().await;
    let dns = &lab.dns;
    let tenant = customer_tenant(&lab);
    let before = comparable(&lab, tenant);
    let view = lab.provision(request(tenant)).await.expect("provisioned");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    dns.set_mx("contoso.com", &[CONTOSO_MX]);
    let first = lab
        .syncer()
        .sync_tenant(&message(tenant, "f1"))
        .await
        .expect("first sync");
    assert!(first.drift.is_empty(), "{first:?}");

    let old = vendor();
    let (kept, retired) = (old.egress_ips[0].clone(), old.egress_ips[1].clone());
    let added = "203.0.113.77".to_owned();
    let mut changed = old.clone();
    changed.egress_ips = vec![kept.clone(), added.clone()];
    changed.tls_certificate_name = "*.mail.vendor.example".to_owned();
    let syncer = Syncer {
        vendor: changed.clone(),
        ..lab.syncer()
    };
    let report = syncer.sync_tenant(&message(tenant, "f2")).await.expect("sync");
    for expected in [
        &retired,
        &added,
        &old.names().rule_skip_spam,
        &old.names().inbound_incoming,
        &old.names().inbound_outgoing,
    ] {
        assert!(
            report.drift.iter().any(|d| d.contains(expected.as_str())),
            "{expected}: {report:?}"
        );
    }

    let dump = lab.dump(tenant);
    let allowed: BTreeSet<&str> = dump["exchange"]["ip_allow_list"]
        .as_array()
        .expect("allow list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        allowed,
        BTreeSet::from([
            crate::functions::provision::CUSTOMER_IP,
            kept.as_str(),
            added.as_str()
        ]),
        "the retired IP is gone, the new one added, the customer's kept"
    );
    let names = old.names();
    let rules = dump["exchange"]["transport_rules"].as_array().expect("rules");
    for (name, field) in [
        (&names.rule_incoming_domain, "ExceptIfSenderIpRanges"),
        (&names.rule_incoming_user, "ExceptIfSenderIpRanges"),
        (&names.rule_outgoing_domain, "ExceptIfSenderIpRanges"),
        (&names.rule_outgoing_user, "ExceptIfSenderIpRanges"),
        (&names.rule_skip_spam, "SenderIpRanges"),
    ] {
        let rule = rules.iter().find(|r| r["Name"] == name.as_str()).expect(name);
        assert_eq!(rule[field], json!(changed.egress_ips), "{name} {field}");
        assert_eq!(rule["State"], "Enabled", "{name}");
    }
    let inbound = dump["exchange"]["inbound_connectors"]
        .as_array()
        .expect("inbound");
    let connector = |name: &str| inbound.iter().find(|c| c["Name"] == name).expect(name);
    assert_eq!(
        connector(&names.inbound_incoming)["TlsSenderCertificateName"],
        "*.mail.vendor.example",
        "the partner connector knows the vendor by its new certificate"
    );
    assert_eq!(
        connector(&names.inbound_outgoing)["SenderIPAddresses"],
        json!(changed.egress_ips),
        "the on-premises connector knows the vendor by its new egress IPs"
    );
    let recorded: BTreeSet<String> = lab
        .recorded(tenant, state::store::ResourceKind::AllowedIp)
        .await
        .into_iter()
        .collect();
    assert_eq!(
        recorded,
        BTreeSet::from([kept, added]),
        "the retired IP is forgotten"
    );

    lab.sim.reset_stats();
    let next = syncer
        .sync_tenant(&message(tenant, "f3"))
        .await
        .expect("next day");
    assert!(next.drift.is_empty(), "{next:?}");
    assert_eq!(
        lab.counts(tenant).exchange.writes,
        0,
        "nothing to write the next day"
    );

    let done = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_as_before(&lab, tenant, &before, "after a vendor change").await;
}

/// The simulator's own DNS (the local stack's `DNS_SERVER`) gives its tenants' verified domains
/// their Exchange Online MX, so a sync through it finds no MX problem; a record set by hand wins.
#[tokio::test]
async fn the_simulators_dns_routes_its_tenants_domains_to_exchange_online() {
    let lab = Lab::start().await;
    let listen = "127.0.0.1:0".parse().expect("address");
    let dns = DnsServer::start_for(listen, lab.sim.state().clone())
        .await
        .expect("dns");
    let tenant = customer_tenant(&lab);
    let resolver = MxResolver::with_server(dns.addr()).expect("a resolver");
    assert_eq!(
        resolver.mx_hosts("contoso.com").await.expect("lookup"),
        [CONTOSO_MX]
    );
    assert_eq!(
        resolver.mx_hosts("nowhere.example").await.expect("lookup"),
        Vec::<String>::new()
    );

    let view = lab.provision(request(tenant)).await.expect("provisioned");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let worker = syncer_with(&lab, dns.addr());
    let report = worker.sync_tenant(&message(tenant, "d1")).await.expect("sync");
    assert_eq!(report.outcome, Outcome::Synced);
    assert!(report.mx_problems.is_empty(), "{report:?}");

    // A new worker: a warm one keeps the answer for its TTL.
    dns.set_mx("contoso.com", &["mx.elsewhere.example"]);
    let report = syncer_with(&lab, dns.addr())
        .sync_tenant(&message(tenant, "d2"))
        .await
        .expect("sync");
    assert!(
        report
            .mx_problems
            .iter()
            .any(|p| p.contains("mx.elsewhere.example")),
        "{report:?}"
    );
}
