//! Drift of the objects we recorded: a rule disabled or deleted, a connector changed or removed,
//! our IPs or spoof entry removed by someone. Found from one batch of read cmdlets; repaired
//! with the provisioning steps themselves (each an idempotent "ensure"), so a repaired object is
//! exactly what provisioning makes.

use serde_json::Value;

use crate::{
    exchange::Cmdlet,
    provisioning::plan::StepKind,
    store::{ResourceKind, ResourceRecord},
    vendor::{ManagedNames, VendorConfig},
};

/// What the read cmdlets answered.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `Get-TransportRule`.
    pub rules: Vec<Value>,
    /// `Get-InboundConnector`.
    pub inbound: Vec<Value>,
    /// `Get-OutboundConnector`.
    pub outbound: Vec<Value>,
    /// `Get-HostedConnectionFilterPolicy -Identity Default`.
    pub filter_policy: Vec<Value>,
    /// `Get-TenantAllowBlockListSpoofItems -Identity Default`.
    pub spoof_items: Vec<Value>,
}

/// The read cmdlets of a drift check, in the order of [`Observed`]'s fields.
pub fn read_cmdlets() -> [Cmdlet; 5] {
    [
        Cmdlet::new("Get-TransportRule"),
        Cmdlet::new("Get-InboundConnector"),
        Cmdlet::new("Get-OutboundConnector"),
        Cmdlet::new("Get-HostedConnectionFilterPolicy").param("Identity", "Default"),
        Cmdlet::new("Get-TenantAllowBlockListSpoofItems").param("Identity", "Default"),
    ]
}

/// Drift found, and how to repair it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// One finding per drifted object, for the tenant's record and the log.
    pub findings: Vec<String>,
    /// Provisioning steps to run again, in provisioning order.
    pub steps: Vec<StepKind>,
    /// Direct fixes of changed objects (a changed connector is set back).
    pub fixes: Vec<Cmdlet>,
}

impl Drift {
    /// Whether anything drifted.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    fn need(&mut self, step: StepKind) {
        if !self.steps.contains(&step) {
            self.steps.push(step);
        }
    }
}

fn named<'v>(objects: &'v [Value], name: &str) -> Option<&'v Value> {
    objects.iter().find(|o| {
        o.get("Name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn strings(object: &Value, field: &str) -> Vec<String> {
    object
        .get(field)
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn enabled(object: &Value) -> bool {
    object.get("Enabled").and_then(Value::as_bool).unwrap_or(true)
}

/// Compares what we recorded with what Exchange has.
pub fn detect(
    resources: &[ResourceRecord],
    observed: &Observed,
    vendor: &VendorConfig,
    names: &ManagedNames,
) -> Drift {
    let mut drift = Drift::default();
    let allowed: Vec<String> = observed
        .filter_policy
        .first()
        .map(|p| strings(p, "IPAllowList"))
        .unwrap_or_default();
    for resource in resources {
        let name = resource.key.as_str();
        match resource.kind {
            ResourceKind::TransportRule => match named(&observed.rules, name) {
                None => {
                    drift.findings.push(format!("transport rule {name} was deleted"));
                    drift.need(StepKind::CreateRules);
                }
                Some(rule) => {
                    let state = rule.get("State").and_then(Value::as_str).unwrap_or_default();
                    if !state.eq_ignore_ascii_case("Enabled") {
                        drift.findings.push(format!("transport rule {name} was disabled"));
                    }
                }
            },
            ResourceKind::OutboundConnector => match named(&observed.outbound, name) {
                None => {
                    drift
                        .findings
                        .push(format!("outbound connector {name} was deleted"));
                    drift.need(StepKind::CreateConnectors);
                }
                Some(connector) => {
                    let host = if name == names.outbound_incoming {
                        &vendor.incoming_smart_host
                    } else {
                        &vendor.outgoing_smart_host
                    };
                    let hosts = strings(connector, "SmartHosts");
                    let right_host = hosts.iter().any(|h| h.eq_ignore_ascii_case(host));
                    if !right_host || !enabled(connector) {
                        drift.findings.push(format!(
                            "outbound connector {name} was changed (smart hosts {}, enabled {})",
                            hosts.join(", "),
                            enabled(connector)
                        ));
                        drift.fixes.push(
                            Cmdlet::new("Set-OutboundConnector")
                                .param("Identity", name)
                                .param("SmartHosts", vec![host.clone()])
                                .param("Enabled", true),
                        );
                    }
                }
            },
            ResourceKind::InboundConnector => match named(&observed.inbound, name) {
                None => {
                    drift
                        .findings
                        .push(format!("inbound connector {name} was deleted"));
                    drift.need(StepKind::CreateConnectors);
                }
                Some(connector) if !enabled(connector) => {
                    drift
                        .findings
                        .push(format!("inbound connector {name} was disabled"));
                    drift.fixes.push(
                        Cmdlet::new("Set-InboundConnector")
                            .param("Identity", name)
                            .param("Enabled", true),
                    );
                }
                Some(_) => {}
            },
            ResourceKind::AllowedIp if !allowed.iter().any(|ip| ip == name) => {
                drift.findings.push(format!(
                    "our IP {name} was removed from the connection-filter IP Allow List"
                ));
                drift.need(StepKind::AddAllowedIps);
            }
            ResourceKind::SpoofItem => {
                let present = observed.spoof_items.iter().any(|item| {
                    let id = item.get("Identity").and_then(Value::as_str);
                    resource.external_id.is_some() && id == resource.external_id.as_deref()
                });
                if !present {
                    drift
                        .findings
                        .push(format!("our spoofed-sender allow entry {name} was removed"));
                    drift.need(StepKind::AddSpoofPair);
                }
            }
            _ => {}
        }
    }
    // Connectors before rules (rules route to them); rules are enabled last, as provisioning does.
    let order = [
        StepKind::CreateConnectors,
        StepKind::CreateRules,
        StepKind::AddSpoofPair,
        StepKind::AddAllowedIps,
    ];
    drift.steps.sort_by_key(|s| order.iter().position(|o| o == s));
    if drift.findings.iter().any(|f| f.starts_with("transport rule")) {
        drift.steps.push(StepKind::EnableRules);
    }
    drift
}
