//! The four connectors: two rule-scoped outbound connectors to the vendor's smart hosts, and two
//! inbound connectors that accept the scanned mail back by the vendor's certificate.

use microsoft::{
    exchange::{Cmdlet, ensure},
    fields::text,
};
use model::vendor::ManagedNames;
use state::store::ResourceKind;

use super::comment;
use crate::{
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
};

/// Creates the four connectors where missing and records them.
pub async fn create_connectors(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let (names, vendor) = (ctx.names, ctx.vendor);
    let outbound = |name: &str, host: &str| {
        Cmdlet::new("New-OutboundConnector")
            .param("Name", name)
            .param("ConnectorType", "Partner")
            .param("SmartHosts", vec![host.to_owned()])
            .param("UseMXRecord", false)
            .param("IsTransportRuleScoped", true)
            .param("TlsSettings", "CertificateValidation")
            .param("Enabled", true)
            .param("Comment", comment(ctx))
    };
    let inbound = |name: &str, connector_type: &str| {
        let cmdlet = Cmdlet::new("New-InboundConnector")
            .param("Name", name)
            .param("ConnectorType", connector_type)
            .param("RequireTls", true)
            .param("TlsSenderCertificateName", vendor.tls_certificate_name.as_str())
            .param("Enabled", true)
            .param("Comment", comment(ctx));
        // Partner connectors identify mail by sender domain and certificate; on-premises ones by
        // certificate alone.
        if connector_type == "Partner" {
            cmdlet
                .param("SenderDomains", vec!["*".to_owned()])
                .param("RestrictDomainsToCertificate", true)
        } else {
            cmdlet
        }
    };
    let connectors = [
        (
            "OutboundConnector",
            ResourceKind::OutboundConnector,
            &names.outbound_incoming,
            outbound(&names.outbound_incoming, &vendor.incoming_smart_host),
        ),
        (
            "OutboundConnector",
            ResourceKind::OutboundConnector,
            &names.outbound_outgoing,
            outbound(&names.outbound_outgoing, &vendor.outgoing_smart_host),
        ),
        (
            "InboundConnector",
            ResourceKind::InboundConnector,
            &names.inbound_incoming,
            inbound(&names.inbound_incoming, "Partner"),
        ),
        (
            "InboundConnector",
            ResourceKind::InboundConnector,
            &names.inbound_outgoing,
            inbound(&names.inbound_outgoing, "OnPremises"),
        ),
    ];
    let mut created = 0;
    for (noun, kind, name, new) in connectors {
        let (object, made) = ensure(&exchange, noun, name, &new).await?;
        created += usize::from(made);
        let guid = text(&object, "Guid").or_else(|| text(&object, "Identity"));
        ctx.record(kind, name, guid, &[]).await?;
    }
    Ok(Outcome::Done(Some(format!(
        "{created} of 4 connectors created, the rest already present"
    ))))
}

/// The calls of [`create_connectors`].
pub fn create_connectors_calls(_: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedCall> {
    [
        PlannedCall::look_then_write(
            "exchange",
            "Get-OutboundConnector",
            "New-OutboundConnector",
            &[&names.outbound_incoming, &names.outbound_outgoing],
        ),
        PlannedCall::look_then_write(
            "exchange",
            "Get-InboundConnector",
            "New-InboundConnector",
            &[&names.inbound_incoming, &names.inbound_outgoing],
        ),
    ]
    .concat()
}
