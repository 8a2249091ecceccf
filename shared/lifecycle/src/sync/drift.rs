//! Drift of the objects we recorded: a rule disabled or deleted, a connector changed or removed,
//! our IPs or spoof entry removed by someone. Found from one batch of read cmdlets; repaired
//! with the provisioning steps themselves (each an idempotent "ensure"), so a repaired object is
//! exactly what provisioning makes.
//!
//! The vendor's facts are checked against the current configuration, so a change of them reaches
//! every tenant with its next daily sync: the connectors as provisioning declares them (smart
//! hosts and their TLS names, the certificate and the egress IPs the inbound ones know the vendor
//! by), and the egress IPs (the rules' IP conditions, the IPs in the IP Allow List: a new
//! IP is added, a retired IP we added is removed and forgotten).

use std::collections::BTreeSet;

use microsoft::{
    exchange::{Cmdlet, allow_list_entries, get_filter_policy, set_allowed_ips},
    fields::{named, same_set, strings},
};
use model::vendor::{ManagedNames, SmartHosts, VendorConfig};
use serde_json::Value;
use state::store::{ResourceKind, ResourceRecord};

use crate::provisioning::{ProvisionStep, wanted_connectors};

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
        get_filter_policy(),
        Cmdlet::new("Get-TenantAllowBlockListSpoofItems").param("Identity", "Default"),
    ]
}

/// Drift found, and how to repair it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// One finding per drifted object, for the tenant's record and the log.
    pub findings: Vec<String>,
    /// Provisioning steps to run again, in provisioning order.
    pub steps: Vec<ProvisionStep>,
    /// Direct fixes of changed objects (a changed connector is set back).
    pub fixes: Vec<Cmdlet>,
    /// Resources no longer ours to keep (retired vendor IPs): forgotten once the fixes are done.
    pub forget: Vec<(ResourceKind, String)>,
}

impl Drift {
    /// Whether anything drifted.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    fn missing(&mut self, finding: String, step: ProvisionStep) {
        self.findings.push(finding);
        self.need(step);
    }

    fn need(&mut self, step: ProvisionStep) {
        if !self.steps.contains(&step) {
            self.steps.push(step);
        }
    }
}

/// The IP condition a rule of ours carries: the vendor's egress IPs, as exceptions on the routing
/// rules (mail the vendor already scanned is not rerouted) and as the skip-spam rule's condition.
fn rule_ip_condition(names: &ManagedNames, rule: &str) -> Option<&'static str> {
    if names.is_routing_rule(rule) {
        Some("ExceptIfSenderIpRanges")
    } else if names.rule_skip_spam.eq_ignore_ascii_case(rule) {
        Some("SenderIpRanges")
    } else {
        None
    }
}

/// The provisioning steps a repair may run, in the order it runs them: connectors before rules
/// (rules route to them); rules are enabled last, as provisioning does.
const REPAIRS: [ProvisionStep; 5] = [
    ProvisionStep::CreateConnectors,
    ProvisionStep::CreateRules,
    ProvisionStep::AddSpoofPair,
    ProvisionStep::AddAllowedIps,
    ProvisionStep::EnableRules,
];

/// Compares what we recorded with what Exchange has.
pub fn detect(
    resources: &[ResourceRecord],
    observed: &Observed,
    vendor: &VendorConfig,
    names: &ManagedNames,
    hosts: &SmartHosts,
) -> Drift {
    let mut drift = Drift::default();
    let connectors = wanted_connectors(vendor, names, hosts);
    let mut enable_rules = false;
    let mut retired = Vec::new();
    let allowed = allow_list_entries(&observed.filter_policy);
    for resource in resources {
        let name = resource.key.as_str();
        match resource.kind {
            ResourceKind::TransportRule => match named(&observed.rules, name) {
                None => {
                    drift.missing(
                        format!("transport rule {name} was deleted"),
                        ProvisionStep::CreateRules,
                    );
                }
                Some(rule) => {
                    let state = rule.get("State").and_then(Value::as_str).unwrap_or_default();
                    if !state.eq_ignore_ascii_case("Enabled") {
                        drift.findings.push(format!("transport rule {name} was disabled"));
                        enable_rules = true;
                    }
                    if let Some(field) = rule_ip_condition(names, name) {
                        let ranges = strings(rule, field);
                        if !same_set(&ranges, &vendor.egress_ips) {
                            drift.findings.push(format!(
                                "rule {name} has {field} {}, not the vendor's egress IPs {}",
                                ranges.join(", "),
                                vendor.egress_ips.join(", ")
                            ));
                            drift.fixes.push(
                                Cmdlet::new("Set-TransportRule")
                                    .param("Identity", name)
                                    .param(field, vendor.egress_ips.clone()),
                            );
                        }
                    }
                }
            },
            ResourceKind::OutboundConnector | ResourceKind::InboundConnector => {
                let (listed, label) = match resource.kind {
                    ResourceKind::InboundConnector => (&observed.inbound, "inbound"),
                    _ => (&observed.outbound, "outbound"),
                };
                let wanted = connectors
                    .iter()
                    .find(|c| c.kind == resource.kind && c.name.eq_ignore_ascii_case(name));
                match (named(listed, name), wanted) {
                    (None, _) => drift.missing(
                        format!("{label} connector {name} was deleted"),
                        ProvisionStep::CreateConnectors,
                    ),
                    (Some(connector), Some(wanted)) => {
                        if let Some((finding, fix)) = wanted.repair(connector) {
                            drift.findings.push(finding);
                            drift.fixes.push(fix);
                        }
                    }
                    (Some(_), None) => {}
                }
            }
            ResourceKind::AllowedIp if !vendor.egress_ips.contains(&resource.key) => {
                // A retired vendor IP we added: it must not stay allowed.
                if allowed.contains(&resource.key) {
                    drift.findings.push(format!(
                        "our IP {name} is no longer a vendor egress IP; removed from the IP Allow List"
                    ));
                    retired.push(resource.key.clone());
                }
                drift.forget.push((ResourceKind::AllowedIp, resource.key.clone()));
            }
            ResourceKind::AllowedIp if !allowed.contains(&resource.key) => {
                drift.missing(
                    format!("our IP {name} was removed from the connection-filter IP Allow List"),
                    ProvisionStep::AddAllowedIps,
                );
            }
            ResourceKind::SpoofItem => {
                let present = observed.spoof_items.iter().any(|item| {
                    let id = item.get("Identity").and_then(Value::as_str);
                    resource.external_id.is_some() && id == resource.external_id.as_deref()
                });
                if !present {
                    drift.missing(
                        format!("our spoofed-sender allow entry {name} was removed"),
                        ProvisionStep::AddSpoofPair,
                    );
                }
            }
            _ => {}
        }
    }
    if !retired.is_empty() {
        drift.fixes.push(set_allowed_ips(&[], &retired));
    }
    // A new vendor IP, where we keep the vendor's IPs in the IP Allow List (we recorded one).
    let recorded: BTreeSet<&str> = resources
        .iter()
        .filter(|r| r.kind == ResourceKind::AllowedIp)
        .map(|r| r.key.as_str())
        .collect();
    for ip in &vendor.egress_ips {
        if !recorded.is_empty() && !recorded.contains(ip.as_str()) && !allowed.contains(ip) {
            drift.missing(
                format!("vendor egress IP {ip} is not in the IP Allow List"),
                ProvisionStep::AddAllowedIps,
            );
        }
    }
    drift.steps.sort_by_key(|s| REPAIRS.iter().position(|o| o == s));
    if enable_rules || drift.steps.contains(&ProvisionStep::CreateRules) {
        drift.steps.push(ProvisionStep::EnableRules);
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{Run, Step};

    #[test]
    fn every_repair_runs_without_a_provisioning_request() {
        for step in REPAIRS {
            assert!(matches!(step.declaration().run, Run::Alone(_)), "{step:?}");
        }
    }
}
