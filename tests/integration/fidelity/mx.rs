//! MX: Exchange Online is moving domains to DNSSEC-signed `*.mx.microsoft` hosts; a domain so
//! moved still routes to Exchange Online, and the expected records are read again each week.

use chrono::{TimeDelta, Utc};
use integration_tests::lab::Lab;
use serde_json::json;

use crate::functions::sync::{message, synced, syncer_with};

const MOVED_MX: &str = "contoso-com.r-v1.mx.microsoft";

/// Moves contoso.com's MX to its DNSSEC host in the simulator and in DNS.
fn move_to_dnssec(lab: &Lab, tenant: model::tenant::TenantId) {
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"dnssec_mx_domains": ["contoso.com"]})).expect("patch"),
        )
        .expect("moved");
    lab.dns.set_mx("contoso.com", &[MOVED_MX]);
}

#[tokio::test]
async fn a_domain_moved_to_mx_microsoft_still_routes_to_exchange_online() {
    let lab = Lab::start().await;
    let (tenant, syncer, first) = synced(&lab).await;
    assert!(first.mx_problems.is_empty(), "{first:?}");
    move_to_dnssec(&lab, tenant);
    let report = syncer.sync_tenant(&message(tenant, "m2")).await.expect("sync");
    assert!(report.mx_problems.is_empty(), "no false alarm: {report:?}");
    lab.dns.set_mx("contoso.com", &["mx.elsewhere.example"]);
    // A new process: the last answer is not in its DNS cache.
    let report = lab
        .syncer()
        .sync_tenant(&message(tenant, "m3"))
        .await
        .expect("sync");
    assert!(
        report
            .mx_problems
            .iter()
            .any(|p| p.contains("mx.elsewhere.example")),
        "a real detour is still reported: {report:?}"
    );
}

#[tokio::test]
async fn the_expected_mx_is_read_again_once_a_week() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    move_to_dnssec(&lab, tenant);
    syncer.sync_tenant(&message(tenant, "w2")).await.expect("sync");
    let kept = lab.aws.sync_state(tenant).await.expect("state");
    assert_eq!(
        kept.expected_mx["contoso.com"],
        vec!["contoso-com.mail.protection.outlook.com"],
        "within the week the record is kept"
    );
    // A week later.
    let mut aged = kept;
    aged.expected_mx_read_at = Some(Utc::now() - TimeDelta::days(8));
    lab.aws.store.update(&mut aged).await.expect("aged");
    syncer.sync_tenant(&message(tenant, "w3")).await.expect("sync");
    let read_again = lab.aws.sync_state(tenant).await.expect("state");
    assert_eq!(read_again.expected_mx["contoso.com"], vec![MOVED_MX]);
    assert!(read_again.expected_mx_read_at > aged.expected_mx_read_at);
}

#[tokio::test]
async fn mx_lookups_not_answered_within_the_budget_keep_what_the_last_run_found() {
    let lab = Lab::start().await;
    let (tenant, _, _) = synced(&lab).await;
    lab.dns.set_mx("contoso.com", &["mx.elsewhere.example"]);
    let found = lab
        .syncer()
        .sync_tenant(&message(tenant, "b2"))
        .await
        .expect("sync");
    assert_eq!(found.mx_problems.len(), 1, "{found:?}");
    // A resolver that never answers: each lookup would take its 2 s timeout twice over.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut syncer = syncer_with(&lab, silent.local_addr().expect("addr"));
    syncer.mx_budget = std::time::Duration::from_millis(500);
    let report = syncer.sync_tenant(&message(tenant, "b3")).await.expect("sync");
    assert_eq!(
        report.mx_problems, found.mx_problems,
        "a domain not looked at in time keeps its problem"
    );
}
