//! The vendor's facts (name prefix, smart hosts, egress IPs, TLS certificate name, spoof pair,
//! verdict header) as one configuration document, and the object names derived from them.
//! With the default prefix `TMCAS` the names are exactly those of the predecessor (docs/design.md,
//! "Objects in a tenant"), so tenants it provisioned can be adopted and cleaned up.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::{
    config::{ConfigError, Source, required},
    event::{self, EventError},
    sites::Site,
    tenant::TenantId,
    validation::quote,
};

/// The placeholders a smart-host template must hold: every tenant gets its own host on its own
/// site's relay, so the vendor can bind relayed mail to one tenant.
const HOST_PLACEHOLDERS: [&str; 2] = ["{site}", "{tenant}"];

/// The vendor's two smart hosts for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartHosts {
    /// Receives the tenant's inbound mail.
    pub incoming: String,
    /// Receives the tenant's outbound mail.
    pub outgoing: String,
}

/// The vendor configuration document (`VENDOR_CONFIG`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorConfig {
    /// Prefix of every object name.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Smart host that receives a tenant's inbound mail for scanning: a template naming the
    /// tenant's site and the tenant (`{tenant}.outrelay-{site}.vendor.example`).
    pub incoming_smart_host: String,
    /// Smart host that receives a tenant's outbound mail for scanning, a template as above.
    pub outgoing_smart_host: String,
    /// The vendor's sending IPs (IPv4, or IPv4 CIDR /24-/32).
    pub egress_ips: Vec<String>,
    /// Certificate name (CN/SAN) the vendor's servers present when returning mail.
    pub tls_certificate_name: String,
    /// The spoofed-sender allow pair.
    pub spoof: SpoofPair,
    /// Header the vendor sets on mail to be moved to Junk.
    pub verdict_header: VerdictHeader,
}

/// One spoofed-sender allow entry of the Tenant Allow/Block List.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoofPair {
    /// The spoofed user or domain (`*` for any).
    pub spoofed_user: String,
    /// The sending infrastructure: the vendor's domain or an IP /24.
    pub sending_infrastructure: String,
    /// `External` or `Internal`.
    #[serde(default = "default_spoof_type")]
    pub spoof_type: String,
}

/// The junk verdict header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictHeader {
    /// Header name.
    pub name: String,
    /// Value that means "move to Junk".
    pub junk_value: String,
}

impl SpoofPair {
    /// The record key of the entry: `spoofed_user|sending_infrastructure|spoof_type`.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.spoofed_user, self.sending_infrastructure, self.spoof_type
        )
    }

    /// Whether a `Get-TenantAllowBlockListSpoofItems` entry is this pair.
    pub fn matches(&self, item: &serde_json::Value) -> bool {
        let same =
            |field: &str, want: &str| item[field].as_str().is_some_and(|v| v.eq_ignore_ascii_case(want));
        same("SpoofedUser", &self.spoofed_user)
            && same("SendingInfrastructure", &self.sending_infrastructure)
            && same("SpoofType", &self.spoof_type)
    }
}

fn default_prefix() -> String {
    "TMCAS".to_owned()
}

fn default_spoof_type() -> String {
    "External".to_owned()
}

impl VendorConfig {
    /// Reads the document from `VENDOR_CONFIG` (JSON).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let json = required(
            source,
            "VENDOR_CONFIG",
            "set it to the vendor configuration document (JSON, see README)",
        )?;
        Self::parse(&json).map_err(|err| ConfigError::Invalid {
            name: "VENDOR_CONFIG",
            reason: err.to_string(),
        })
    }

    /// Parses and checks the document; errors name the field.
    pub fn parse(json: &str) -> Result<Self, EventError> {
        let config: Self = event::parse(json.as_bytes())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), EventError> {
        let invalid = |field: &str, reason: String| EventError::Invalid {
            field: field.to_owned(),
            reason,
        };
        // Exchange refuses non-ASCII names; the longest derived name must stay within 64 characters.
        let prefix_ok = (1..=8).contains(&self.prefix.len())
            && self.prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !prefix_ok {
            return Err(invalid(
                "prefix",
                format!("expected 1-8 of A-Z a-z 0-9 -, got {}", quote(&self.prefix)),
            ));
        }
        for (field, template) in [
            ("incoming_smart_host", &self.incoming_smart_host),
            ("outgoing_smart_host", &self.outgoing_smart_host),
        ] {
            if let Some(missing) = HOST_PLACEHOLDERS.iter().find(|p| !template.contains(*p)) {
                return Err(invalid(
                    field,
                    format!(
                        "expected a template holding {{site}} and {{tenant}} (e.g. {{tenant}}.outrelay-{{site}}.vendor.example), {} has no {missing}",
                        quote(template)
                    ),
                ));
            }
        }
        // The longest site code and a tenant id: what every filled template must make a DNS name of.
        let sample = |template: &str| fill(template, "anz", "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11");
        for (field, host) in [
            ("incoming_smart_host", &sample(&self.incoming_smart_host)),
            ("outgoing_smart_host", &sample(&self.outgoing_smart_host)),
            ("tls_certificate_name", &self.tls_certificate_name),
        ] {
            let host_ok = host.len() <= 253
                && host.contains('.')
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '*')
                });
            if !host_ok {
                return Err(invalid(
                    field,
                    format!("expected a DNS name, got {}", quote(host)),
                ));
            }
        }
        if self.egress_ips.is_empty() {
            return Err(invalid("egress_ips", "at least one IP is needed".to_owned()));
        }
        for (index, ip) in self.egress_ips.iter().enumerate() {
            check_ipv4_range(ip).map_err(|reason| invalid(&format!("egress_ips[{index}]"), reason))?;
        }
        if !matches!(self.spoof.spoof_type.as_str(), "External" | "Internal") {
            return Err(invalid(
                "spoof.spoof_type",
                format!(
                    "expected External or Internal, got {}",
                    quote(&self.spoof.spoof_type)
                ),
            ));
        }
        for (field, value) in [
            ("spoof.spoofed_user", &self.spoof.spoofed_user),
            ("spoof.sending_infrastructure", &self.spoof.sending_infrastructure),
            ("verdict_header.name", &self.verdict_header.name),
            ("verdict_header.junk_value", &self.verdict_header.junk_value),
        ] {
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic()) {
                return Err(invalid(
                    field,
                    format!("expected printable ASCII without spaces, got {}", quote(value)),
                ));
            }
        }
        Ok(())
    }

    /// The smart hosts of one tenant on its site.
    pub fn smart_hosts(&self, site: Site, tenant: &TenantId) -> SmartHosts {
        let tenant = tenant.to_string();
        SmartHosts {
            incoming: fill(&self.incoming_smart_host, site.code(), &tenant),
            outgoing: fill(&self.outgoing_smart_host, site.code(), &tenant),
        }
    }

    /// The names of every object this product creates in a tenant.
    pub fn names(&self) -> ManagedNames {
        ManagedNames::new(&self.prefix)
    }
}

fn fill(template: &str, site: &str, tenant: &str) -> String {
    template.replace("{site}", site).replace("{tenant}", tenant)
}

/// Checks an allow-list entry: IPv4, or IPv4 CIDR from /24 to /32 (what Exchange accepts).
pub fn check_ipv4_range(entry: &str) -> Result<(), String> {
    let (address, bits) = match entry.split_once('/') {
        Some((address, bits)) => (address, Some(bits)),
        None => (entry, None),
    };
    address
        .parse::<Ipv4Addr>()
        .map_err(|_| format!("expected an IPv4 address or CIDR, got {}", quote(entry)))?;
    if let Some(bits) = bits {
        let bits: u8 = bits
            .parse()
            .map_err(|_| format!("bad prefix length in {}", quote(entry)))?;
        if !(24..=32).contains(&bits) {
            return Err(format!("Exchange accepts /24 to /32 only, got {}", quote(entry)));
        }
    }
    Ok(())
}

/// The names of the objects of docs/design.md ("Objects in a tenant") for one prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedNames {
    /// Incoming virtual group's display name.
    pub incoming_group: String,
    /// Outgoing virtual group's display name.
    pub outgoing_group: String,
    /// Incoming group's mail nickname.
    pub incoming_group_nickname: String,
    /// Outgoing group's mail nickname.
    pub outgoing_group_nickname: String,
    /// Outbound connector carrying inbound mail to the vendor.
    pub outbound_incoming: String,
    /// Outbound connector carrying outbound mail to the vendor.
    pub outbound_outgoing: String,
    /// Inbound connector accepting scanned inbound mail.
    pub inbound_incoming: String,
    /// Inbound connector accepting scanned outbound mail.
    pub inbound_outgoing: String,
    /// Rule routing inbound mail of the protected domains.
    pub rule_incoming_domain: String,
    /// Rule routing inbound mail of the protected users.
    pub rule_incoming_user: String,
    /// Rule routing outbound mail of the protected domains.
    pub rule_outgoing_domain: String,
    /// Rule routing outbound mail of the protected users.
    pub rule_outgoing_user: String,
    /// Rule skipping spam filtering for mail returned by the vendor.
    pub rule_skip_spam: String,
    /// Rule moving mail with the junk verdict to the Junk folder.
    pub rule_junk: String,
}

impl ManagedNames {
    /// The names for `prefix`.
    pub fn new(prefix: &str) -> Self {
        let nick = |direction: &str| {
            format!("{prefix}Inline{direction}VirtualGroup")
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect()
        };
        Self {
            incoming_group: format!("{prefix} Inline Incoming O365 Virtual Group"),
            outgoing_group: format!("{prefix} Inline Outgoing O365 Virtual Group"),
            incoming_group_nickname: nick("Incoming"),
            outgoing_group_nickname: nick("Outgoing"),
            outbound_incoming: format!("{prefix} Inline Outbound Connector for Incoming Message"),
            outbound_outgoing: format!("{prefix} Inline Outbound Connector for Outgoing Message"),
            inbound_incoming: format!("{prefix} Inline Inbound Connector for Incoming Message"),
            inbound_outgoing: format!("{prefix} Inline Inbound Connector for Outgoing Message"),
            rule_incoming_domain: format!("{prefix} Inline Incoming Domain Transport Rule"),
            rule_incoming_user: format!("{prefix} Inline Incoming User Transport Rule"),
            rule_outgoing_domain: format!("{prefix} Inline Outgoing Domain Transport Rule"),
            rule_outgoing_user: format!("{prefix} Inline Outgoing User Transport Rule"),
            rule_skip_spam: format!("{prefix} Inline Incoming Skip Spam Filter Transport Rule"),
            rule_junk: format!("{prefix} Inline Incoming Move to Junk Folder Transport Rule"),
        }
    }

    /// The four routing rules (they reroute mail through the outbound connectors).
    pub fn routing_rules(&self) -> [&str; 4] {
        [
            &self.rule_incoming_domain,
            &self.rule_incoming_user,
            &self.rule_outgoing_domain,
            &self.rule_outgoing_user,
        ]
    }

    /// The six transport rules, routing rules first.
    pub fn rules(&self) -> [&str; 6] {
        let [a, b, c, d] = self.routing_rules();
        [a, b, c, d, &self.rule_skip_spam, &self.rule_junk]
    }

    /// The name of part `index` (from 0) of a domain rule whose domains are split across rules
    /// to stay under Exchange's rule size: the first part keeps the rule's own name, the next
    /// ones are numbered from 2 ("... Transport Rule 2").
    pub fn rule_part(base: &str, index: usize) -> String {
        match index {
            0 => base.to_owned(),
            n => format!("{base} {}", n + 1),
        }
    }

    /// The domain rule `name` is a part of, with the part's index, if it is one.
    pub fn domain_rule_of(&self, name: &str) -> Option<(&str, usize)> {
        [&self.rule_incoming_domain, &self.rule_outgoing_domain]
            .into_iter()
            .find_map(|base| {
                if name.eq_ignore_ascii_case(base) {
                    return Some((base.as_str(), 0));
                }
                let rest = name.get(base.len()..)?;
                let number: usize = rest.strip_prefix(' ')?.parse().ok()?;
                (name[..base.len()].eq_ignore_ascii_case(base) && number >= 2)
                    .then_some((base.as_str(), number - 1))
            })
    }

    /// Whether `name` is a routing rule of ours, a further domain-rule part included.
    pub fn is_routing_rule(&self, name: &str) -> bool {
        self.routing_rules().iter().any(|r| r.eq_ignore_ascii_case(name))
            || self.domain_rule_of(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        serde_json::json!({
            "incoming_smart_host": "{tenant}.outrelay-{site}.vendor.example",
            "outgoing_smart_host": "{tenant}.relay-{site}.vendor.example",
            "egress_ips": ["203.0.113.10", "198.51.100.0/24"],
            "tls_certificate_name": "*.vendor.example",
            "spoof": {"spoofed_user": "*", "sending_infrastructure": "vendor.example"},
            "verdict_header": {"name": "X-Vendor-Verdict", "junk_value": "junk"}
        })
    }

    #[test]
    fn the_default_prefix_gives_the_predecessors_names() {
        let config = VendorConfig::parse(&sample().to_string()).expect("valid");
        let names = config.names();
        assert_eq!(names.incoming_group, "TMCAS Inline Incoming O365 Virtual Group");
        assert_eq!(
            names.inbound_outgoing,
            "TMCAS Inline Inbound Connector for Outgoing Message"
        );
        assert_eq!(
            names.rule_junk,
            "TMCAS Inline Incoming Move to Junk Folder Transport Rule"
        );
        assert_eq!(names.incoming_group_nickname, "TMCASInlineIncomingVirtualGroup");
        assert!(names.rules().iter().all(|n| n.len() <= 64));
        assert_eq!(config.spoof.spoof_type, "External");
    }

    #[test]
    fn domain_rule_parts_are_numbered_from_two_and_recognised() {
        let names = ManagedNames::new("TMCAS");
        let base = names.rule_incoming_domain.clone();
        assert_eq!(ManagedNames::rule_part(&base, 0), base);
        let second = ManagedNames::rule_part(&base, 1);
        assert_eq!(second, "TMCAS Inline Incoming Domain Transport Rule 2");
        assert_eq!(names.domain_rule_of(&second), Some((base.as_str(), 1)));
        assert_eq!(names.domain_rule_of(&base), Some((base.as_str(), 0)));
        assert!(names.is_routing_rule(&second));
        assert!(names.is_routing_rule(&names.rule_outgoing_user));
        for other in [
            format!("{base} 1"),
            format!("{base} two"),
            format!("{base}2"),
            names.rule_skip_spam.clone(),
        ] {
            assert_eq!(names.domain_rule_of(&other), None, "{other}");
        }
        assert!(ManagedNames::rule_part(&base, 98).len() <= 64);
    }

    #[test]
    fn every_tenant_gets_its_own_host_on_its_own_site() {
        let config = VendorConfig::parse(&sample().to_string()).expect("valid");
        let tenant: TenantId = "7c0d5a4e-2f1b-4c3d-9e8f-a1b2c3d4e5f6".parse().expect("guid");
        let other: TenantId = "0b9f3f4e-8a1d-4f7b-9c2e-5d6a7b8c9d0e".parse().expect("guid");
        let hosts = config.smart_hosts(Site::Jp, &tenant);
        assert_eq!(
            hosts.incoming,
            "7c0d5a4e-2f1b-4c3d-9e8f-a1b2c3d4e5f6.outrelay-jp.vendor.example"
        );
        assert_eq!(
            hosts.outgoing,
            "7c0d5a4e-2f1b-4c3d-9e8f-a1b2c3d4e5f6.relay-jp.vendor.example"
        );
        let all: std::collections::BTreeSet<String> = Site::all()
            .flat_map(|site| [tenant, other].map(|t| config.smart_hosts(site, &t).incoming))
            .collect();
        assert_eq!(all.len(), 16, "one host per tenant and site");
    }

    #[test]
    fn bad_documents_name_the_field() {
        let cases = [
            ("/prefix", serde_json::json!("Trénd"), "prefix"),
            ("/prefix", serde_json::json!("WAYTOOLONGPREFIX"), "prefix"),
            ("/egress_ips", serde_json::json!(["2001:db8::1"]), "egress_ips[0]"),
            (
                "/egress_ips",
                serde_json::json!(["203.0.113.0/16"]),
                "egress_ips[0]",
            ),
            ("/egress_ips", serde_json::json!([]), "egress_ips"),
            (
                "/incoming_smart_host",
                serde_json::json!("not a host {site} {tenant}"),
                "incoming_smart_host",
            ),
            (
                "/outgoing_smart_host",
                serde_json::json!("relay-{site}.vendor.example"),
                "outgoing_smart_host",
            ),
            ("/spoof/spoof_type", serde_json::json!("Both"), "spoof.spoof_type"),
            (
                "/verdict_header/name",
                serde_json::json!("X Bad"),
                "verdict_header.name",
            ),
            ("/surprise", serde_json::json!(1), "surprise"),
        ];
        for (pointer, value, field) in cases {
            let mut document = sample();
            let (parent, key) = pointer.rsplit_once('/').expect("pointer");
            document
                .pointer_mut(if parent.is_empty() { "" } else { parent })
                .expect("parent")[key] = value;
            let err = VendorConfig::parse(&document.to_string()).expect_err(pointer);
            assert_eq!(err.field(), Some(field), "{pointer}: {err}");
        }
    }
}
