//! The four connectors: two rule-scoped outbound connectors to the vendor's smart hosts, and two
//! inbound connectors that accept the scanned mail back by the vendor's certificate.

use serde_json::Value;

use super::Outcome;
use crate::provisioning::{
    context::{StepContext, text},
    error::StepError,
};
use microsoft::exchange::{Cmdlet, ExchangeAdmin, ExchangeError, Kind};
use state::store::ResourceKind;

/// Finds the object named `name` with `Get-{noun}`.
pub async fn find(
    exchange: &impl ExchangeAdmin,
    noun: &str,
    name: &str,
) -> Result<Option<Value>, ExchangeError> {
    match exchange
        .invoke(&Cmdlet::new(format!("Get-{noun}")).param("Identity", name))
        .await
    {
        Ok(found) => Ok(found.into_iter().next()),
        Err(err) if err.kind() == Some(Kind::NotFound) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Creates the object with `new` unless `Get-{noun}` finds it; "already exists" (a lost answer
/// to an earlier attempt) counts as found. Returns whether it was created now.
pub async fn ensure(
    exchange: &impl ExchangeAdmin,
    noun: &str,
    name: &str,
    new: &Cmdlet,
) -> Result<(Value, bool), StepError> {
    if let Some(found) = find(exchange, noun, name).await? {
        return Ok((found, false));
    }
    match exchange.invoke(new).await {
        Ok(created) => Ok((created.into_iter().next().unwrap_or(Value::Null), true)),
        Err(err) if err.kind() == Some(Kind::AlreadyExists) => {
            let found = find(exchange, noun, name).await?;
            Ok((found.ok_or(StepError::Exchange(err))?, false))
        }
        Err(err) => Err(err.into()),
    }
}

/// Tags every object so an administrator can tell who made it.
pub fn comment(ctx: &StepContext<'_>) -> String {
    format!(
        "managed-by:m365-inline;tenant:{};task:{}",
        ctx.tenant.tenant_id, ctx.task_id
    )
}

/// Creates the four connectors where missing and records them.
pub async fn create_connectors(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let (n, v) = (ctx.names, ctx.vendor);
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
            .param("TlsSenderCertificateName", v.tls_certificate_name.as_str())
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
            &n.outbound_incoming,
            outbound(&n.outbound_incoming, &v.incoming_smart_host),
        ),
        (
            "OutboundConnector",
            ResourceKind::OutboundConnector,
            &n.outbound_outgoing,
            outbound(&n.outbound_outgoing, &v.outgoing_smart_host),
        ),
        (
            "InboundConnector",
            ResourceKind::InboundConnector,
            &n.inbound_incoming,
            inbound(&n.inbound_incoming, "Partner"),
        ),
        (
            "InboundConnector",
            ResourceKind::InboundConnector,
            &n.inbound_outgoing,
            inbound(&n.inbound_outgoing, "OnPremises"),
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
