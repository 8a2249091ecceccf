//! Exchange's `$batch`: one failed read costs nothing but its own retry, and reads are complete.

use integration_tests::lab::Lab;
use microsoft::exchange::{Cmdlet, ExchangeAdmin};
use serde_json::json;

use crate::functions::sync::{message, remove_spoof_entry, synced};

#[tokio::test]
async fn a_batched_read_that_fails_once_is_asked_again_alone_and_the_sync_goes_on() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    lab.fault(json!({
        "tenant": tenant.to_string(), "surface": "exchange", "status": 500,
        "match": "Get-InboundConnector", "count": 1
    }));
    let before = lab.counts(tenant);
    let report = syncer
        .sync_tenant(&message(tenant, "b2"))
        .await
        .expect("the sync rides it out");
    assert_eq!(lab.fault_hits(), 0, "the one-time fault was spent");
    assert!(report.drift.is_empty(), "nothing drifted: {report:?}");
    let exchange = lab.counts(tenant).exchange.requests - before.exchange.requests;
    // The batch (five reads) and the one read asked again.
    assert_eq!(exchange, 6, "five batched cmdlets and one alone");
    assert_eq!(report.exchange_http_requests, 2, "one batch and one read alone");
}

#[tokio::test]
async fn a_batched_read_past_its_first_page_is_read_to_the_end() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    // A thousand entries of the customer's own, then ours again after them: ours is on page two.
    let record = lab.record(tenant).await;
    let exchange = syncer.ms.exchange(&record).await.expect("exchange");
    remove_spoof_entry(&lab, tenant, &exchange).await;
    for n in 0..1000 {
        exchange
            .invoke_once(
                &Cmdlet::new("New-TenantAllowBlockListSpoofItems")
                    .param("Identity", "Default")
                    .param("Action", "Allow")
                    .param("SpoofedUser", format!("user{n}@partner.example"))
                    .param("SendingInfrastructure", "partner.example")
                    .param("SpoofType", "External"),
            )
            .await
            .expect("customer's entry");
    }
    let repaired = syncer.sync_tenant(&message(tenant, "p2")).await.expect("sync");
    assert!(repaired.drift.iter().any(|d| d.contains("spoof")), "{repaired:?}");
    assert_eq!(
        lab.dump(tenant)["exchange"]["spoof_items"]
            .as_array()
            .map(Vec::len),
        Some(1001)
    );
    let report = syncer.sync_tenant(&message(tenant, "p3")).await.expect("sync");
    assert!(
        report.drift.is_empty(),
        "our entry on page two is seen, not repaired as removed: {report:?}"
    );
}
