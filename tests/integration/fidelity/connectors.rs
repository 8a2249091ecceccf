//! A tenant provisioned before the OnPremises inbound connector knew the vendor by its egress
//! IPs (it named the vendor's certificate, which is none of the tenant's accepted domains, so
//! Exchange refused to relay: "550 5.7.64 Relay Access Denied ATTR36") is set right by its next
//! sync.

use microsoft::exchange::{Cmdlet, ExchangeAdmin};
use serde_json::{Value, json};

use integration_tests::lab::{Lab, vendor};

use crate::functions::sync::{message, synced};

#[tokio::test]
async fn an_on_premises_connector_of_the_old_shape_is_set_to_the_vendors_ips() {
    let lab = Lab::start().await;
    let (tenant, syncer, _) = synced(&lab).await;
    let names = vendor().names();
    let record = lab.record(tenant).await;
    let exchange = syncer.ms.exchange(&record).await.expect("exchange");
    exchange
        .invoke(
            &Cmdlet::new("Set-InboundConnector")
                .param("Identity", names.inbound_outgoing.as_str())
                .param("SenderIPAddresses", Vec::<String>::new())
                .param("TlsSenderCertificateName", vendor().tls_certificate_name.as_str()),
        )
        .await
        .expect("the old shape");
    let report = syncer.sync_tenant(&message(tenant, "c2")).await.expect("sync");
    assert!(
        report.drift.iter().any(|d| d.contains(&names.inbound_outgoing)),
        "{report:?}"
    );
    let dump = lab.dump(tenant);
    let connector = dump["exchange"]["inbound_connectors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["Name"] == names.inbound_outgoing.as_str())
        .expect("connector")
        .clone();
    assert_eq!(
        connector["SenderIPAddresses"],
        json!(vendor().egress_ips),
        "{connector:#}"
    );
    assert_eq!(
        connector["TlsSenderCertificateName"],
        Value::Null,
        "{connector:#}"
    );
    let quiet = syncer.sync_tenant(&message(tenant, "c3")).await.expect("sync");
    assert!(quiet.drift.is_empty(), "set right once: {quiet:?}");
}
