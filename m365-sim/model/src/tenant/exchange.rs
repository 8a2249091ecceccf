//! Exchange Online objects of a tenant: connectors, transport rules, spoof allow entries and the
//! Default connection filter policy.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// An Exchange configuration object: a GUID plus the properties set through cmdlets.
#[derive(Debug, Clone)]
pub struct ExoObject {
    /// Object GUID.
    pub guid: Uuid,
    /// Creation time (simulated).
    pub created: DateTime<Utc>,
    /// Last change (simulated).
    pub changed: DateTime<Utc>,
    /// Properties as set (canonical parameter names).
    pub props: Map<String, Value>,
}

impl ExoObject {
    /// The `Name` property.
    pub fn name(&self) -> &str {
        self.props.get("Name").and_then(Value::as_str).unwrap_or_default()
    }

    /// Whether `identity` designates this object (name, case-insensitive, or GUID).
    pub fn is(&self, identity: &str) -> bool {
        self.name().eq_ignore_ascii_case(identity) || Uuid::parse_str(identity).is_ok_and(|g| g == self.guid)
    }

    /// Output shape: defaults, then the set properties, then identity fields.
    pub fn render(&self, defaults: &[(&str, Value)]) -> Value {
        let mut m = Map::new();
        for (k, v) in defaults {
            m.insert((*k).to_owned(), v.clone());
        }
        for (k, v) in &self.props {
            m.insert(k.clone(), v.clone());
        }
        m.insert("Identity".into(), json!(self.name()));
        m.insert("Guid".into(), json!(self.guid));
        m.insert("WhenCreatedUTC".into(), json!(self.created.to_rfc3339()));
        m.insert("WhenChangedUTC".into(), json!(self.changed.to_rfc3339()));
        Value::Object(m)
    }
}

/// All Exchange state of one tenant.
#[derive(Debug, Default)]
pub struct ExchangeStore {
    /// Inbound connectors.
    pub inbound: Vec<ExoObject>,
    /// Outbound connectors.
    pub outbound: Vec<ExoObject>,
    /// Transport rules, ordered by priority (index = priority).
    pub rules: Vec<ExoObject>,
    /// Tenant Allow/Block List spoof entries.
    pub spoof: Vec<ExoObject>,
    /// Default connection filter policy: IP Allow List.
    pub ip_allow: Vec<String>,
    /// Default connection filter policy: IP Block List.
    pub ip_block: Vec<String>,
    /// Default connection filter policy: EnableSafeList.
    pub enable_safe_list: bool,
    /// GUID of the Default connection filter policy.
    pub filter_policy_guid: Uuid,
}

impl ExchangeStore {
    /// Admin dump.
    pub fn dump(&self) -> Value {
        let names = |v: &Vec<ExoObject>| -> Vec<Value> { v.iter().map(|o| o.render(&[])).collect() };
        json!({
            "inbound_connectors": names(&self.inbound),
            "outbound_connectors": names(&self.outbound),
            "transport_rules": self.rules.iter().enumerate().map(|(i, r)| {
                let mut v = r.render(&[]);
                v["Priority"] = json!(i);
                v
            }).collect::<Vec<_>>(),
            "spoof_items": self.spoof.iter().map(|s| {
                let mut v = Value::Object(s.props.clone());
                v["Identity"] = json!(s.guid);
                v
            }).collect::<Vec<_>>(),
            "ip_allow_list": self.ip_allow,
            "ip_block_list": self.ip_block,
        })
    }
}
