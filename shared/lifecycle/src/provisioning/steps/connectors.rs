//! The four connectors: two rule-scoped outbound connectors to the tenant's own smart hosts on
//! its site's relay, and two inbound connectors that accept the scanned mail back. Each is
//! declared once ([`wanted_connectors`]): provisioning creates it from the declaration and the
//! daily drift check sets back whatever of it was changed.
//!
//! The inbound connector for incoming mail is a Partner connector that knows the vendor by its
//! certificate. The one for outgoing mail is an OnPremises connector (so Exchange relays the mail
//! to the Internet) and knows the vendor by its egress IPs: Exchange attributes relayed mail to
//! a tenant only by an accepted domain's certificate or by source IP, and the vendor's
//! certificate is none of the tenant's domains ("550 5.7.64 Relay Access Denied ATTR36").

use microsoft::{
    exchange::{Cmdlet, ensure},
    fields::{same_set, strings, text},
};
use model::vendor::{ManagedNames, SmartHosts, VendorConfig};
use serde_json::{Value, json};
use state::store::ResourceKind;

use super::comment;
use crate::{
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
};

/// One connector as this product wants it in a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedConnector {
    /// `InboundConnector` or `OutboundConnector`.
    pub noun: &'static str,
    /// How it is recorded.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// What the daily drift check keeps as it is: parameter and value (`null`: kept unset).
    kept: Vec<(&'static str, Value)>,
    /// What is only set at creation.
    created_with: Vec<(&'static str, Value)>,
}

impl WantedConnector {
    /// The `New-*Connector` call (what is kept unset is not sent).
    pub fn create(&self, comment: String) -> Cmdlet {
        let all = self
            .kept
            .iter()
            .filter(|(_, v)| !v.is_null())
            .chain(&self.created_with);
        all.fold(
            Cmdlet::new(format!("New-{}", self.noun)).param("Name", self.name.as_str()),
            |cmdlet, (name, value)| cmdlet.param(name, value.clone()),
        )
        .param("Comment", comment)
    }

    /// What of `observed` differs from the declaration, and the `Set-*Connector` that sets it back.
    pub fn repair(&self, observed: &Value) -> Option<(String, Cmdlet)> {
        let changed: Vec<&(&str, Value)> = self
            .kept
            .iter()
            .filter(|(field, want)| !same_value(observed.get(*field), want))
            .collect();
        if changed.is_empty() {
            return None;
        }
        let seen: Vec<String> = changed
            .iter()
            .map(|(field, _)| format!("{field} {}", observed.get(*field).unwrap_or(&Value::Null)))
            .collect();
        let finding = format!("{} {} was changed ({})", self.label(), self.name, seen.join(", "));
        let fix = changed.iter().fold(
            Cmdlet::new(format!("Set-{}", self.noun)).param("Identity", self.name.as_str()),
            |cmdlet, (name, value)| cmdlet.param(name, value.clone()),
        );
        Some((finding, fix))
    }

    fn label(&self) -> &'static str {
        match self.kind {
            ResourceKind::InboundConnector => "inbound connector",
            _ => "outbound connector",
        }
    }
}

/// Exchange's comparison: text and list entries without regard to case, lists as sets, and an
/// absent `Enabled` meaning enabled.
fn same_value(observed: Option<&Value>, want: &Value) -> bool {
    match (observed, want) {
        (None, Value::Bool(true) | Value::Null) => true,
        (Some(Value::String(seen)), Value::String(want)) => seen.eq_ignore_ascii_case(want),
        (Some(seen @ Value::Array(_)), Value::Array(_)) => same_set(
            &strings(&json!({ "v": seen }), "v"),
            &strings(&json!({ "v": want }), "v"),
        ),
        (Some(seen), want) => seen == want,
        (None, _) => false,
    }
}

/// The four connectors of a tenant whose smart hosts are `hosts`.
pub fn wanted_connectors(
    vendor: &VendorConfig,
    names: &ManagedNames,
    hosts: &SmartHosts,
) -> [WantedConnector; 4] {
    let outbound = |name: &str, host: &str| WantedConnector {
        noun: "OutboundConnector",
        kind: ResourceKind::OutboundConnector,
        name: name.to_owned(),
        // The smart host's certificate must name the host itself, not merely chain to a root.
        kept: vec![
            ("SmartHosts", json!([host])),
            ("TlsSettings", json!("DomainValidation")),
            ("TlsDomain", json!(host)),
            ("Enabled", json!(true)),
        ],
        created_with: vec![
            ("ConnectorType", json!("Partner")),
            ("UseMXRecord", json!(false)),
            ("IsTransportRuleScoped", json!(true)),
        ],
    };
    let inbound = |name: &str, connector_type: &str, kept: Vec<(&'static str, Value)>| WantedConnector {
        noun: "InboundConnector",
        kind: ResourceKind::InboundConnector,
        name: name.to_owned(),
        kept: [kept, vec![("Enabled", json!(true))]].concat(),
        // SenderDomains is mandatory for every connector type; `*` is any sender.
        created_with: vec![
            ("ConnectorType", json!(connector_type)),
            ("SenderDomains", json!(["*"])),
            ("RequireTls", json!(true)),
        ],
    };
    [
        outbound(&names.outbound_incoming, &hosts.incoming),
        outbound(&names.outbound_outgoing, &hosts.outgoing),
        inbound(
            &names.inbound_incoming,
            "Partner",
            vec![
                ("TlsSenderCertificateName", json!(vendor.tls_certificate_name)),
                ("RestrictDomainsToCertificate", json!(true)),
            ],
        ),
        // No certificate: a connector that names one is matched by it, and the vendor's is none
        // of the tenant's accepted domains (set back to none on connectors made before).
        inbound(
            &names.inbound_outgoing,
            "OnPremises",
            vec![
                ("SenderIPAddresses", json!(vendor.egress_ips)),
                ("TlsSenderCertificateName", Value::Null),
            ],
        ),
    ]
}

/// The four connectors of the step's tenant.
pub fn tenant_connectors(ctx: &StepContext<'_>) -> [WantedConnector; 4] {
    let hosts = ctx.vendor.smart_hosts(ctx.tenant.site, &ctx.tenant.tenant_id);
    wanted_connectors(ctx.vendor, ctx.names, &hosts)
}

/// Creates the four connectors where missing and records them.
pub async fn create_connectors(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let mut created = 0;
    for connector in tenant_connectors(ctx) {
        let new = connector.create(comment(ctx));
        let (object, made) = ensure(&exchange, connector.noun, &connector.name, &new).await?;
        created += usize::from(made);
        let guid = text(&object, "Guid").or_else(|| text(&object, "Identity"));
        ctx.record(connector.kind, &connector.name, guid, &[]).await?;
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
