//! The allow lists: the Default connection-filter policy (its IP Allow and Block Lists and
//! `EnableSafeList`) and the Tenant Allow/Block List's spoofed-sender entries.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{
    Answer, Bound, not_found,
    params::{ListValue, apply_list},
    validation,
};
use crate::{
    ip::check_ipv4_entry,
    tenant::{ExoObject, Tenant, valid_domain},
};

/// Maximum spoof entries in the Tenant Allow/Block List.
pub(super) const MAX_SPOOF_ITEMS: usize = 1024;

/// Whether `id` names the Default policy: `Default`, its GUID, or `<domain>\\Default` (the form
/// Remove-TenantAllowBlockListSpoofItems's page uses).
fn is_default_policy(t: &Tenant, id: &str) -> bool {
    let name = id.rsplit_once('\\').map_or(id, |(_, n)| n);
    name.eq_ignore_ascii_case("Default")
        || uuid::Uuid::parse_str(id).is_ok_and(|g| g == t.exchange.filter_policy_guid)
}

fn filter_policy_json(t: &Tenant) -> Value {
    json!({
        "Identity": "Default",
        "Name": "Default",
        "Guid": t.exchange.filter_policy_guid,
        "IsDefault": true,
        "AdminDisplayName": "",
        "IPAllowList": t.exchange.ip_allow,
        "IPBlockList": t.exchange.ip_block,
        "EnableSafeList": t.exchange.enable_safe_list,
        "DirectoryBasedEdgeBlockMode": "Default",
    })
}

pub(super) fn get_filter_policy(t: &mut Tenant, b: &Bound) -> Answer {
    match b.str("Identity") {
        Some(id) if !is_default_policy(t, id) => Err(not_found(id)),
        _ => Ok(vec![filter_policy_json(t)]),
    }
}

pub(super) fn set_filter_policy(t: &mut Tenant, b: &Bound) -> Answer {
    let id = b.str("Identity").unwrap_or_default();
    if !is_default_policy(t, id) {
        return Err(not_found(id));
    }
    let mut allow = t.exchange.ip_allow.clone();
    let mut block = t.exchange.ip_block.clone();
    for (key, target) in [("IPAllowList", &mut allow), ("IPBlockList", &mut block)] {
        if let Some(change) = b.list(key) {
            let entries: Vec<&String> = match &change {
                ListValue::Replace(v) => v.iter().collect(),
                ListValue::Modify { add, .. } => add.iter().collect(),
            };
            for e in entries {
                check_ipv4_entry(e).map_err(|m| validation(m).target(key))?;
            }
            *target = apply_list(target, &change);
        } else if b.values.get(key).is_some_and(Value::is_null) {
            target.clear();
        }
    }
    t.exchange.ip_allow = allow;
    t.exchange.ip_block = block;
    if let Some(v) = b.values.get("EnableSafeList").and_then(Value::as_bool) {
        t.exchange.enable_safe_list = v;
    }
    Ok(Vec::new())
}

fn spoof_json(s: &ExoObject) -> Value {
    let mut m = s.props.clone();
    m.insert("Identity".into(), json!(s.guid));
    m.insert("ObjectId".into(), json!(s.guid));
    Value::Object(m)
}

/// Get-TenantAllowBlockListSpoofItems: its page says `-Identity` "is available but isn't used".
pub(super) fn get_spoof(t: &mut Tenant, b: &Bound, now: DateTime<Utc>) -> Answer {
    Ok(t.exchange
        .spoof
        .iter()
        // Entries are listed some time after their create.
        .filter(|s| !t.replicating(s.created, now))
        .filter(|s| {
            b.str("Action")
                .is_none_or(|a| s.props.get("Action") == Some(&json!(a)))
        })
        .filter(|s| {
            b.str("SpoofType")
                .is_none_or(|a| s.props.get("SpoofType") == Some(&json!(a)))
        })
        .map(spoof_json)
        .collect())
}

fn valid_infrastructure(s: &str) -> bool {
    match s.split_once('/') {
        Some((ip, "24")) => ip.parse::<std::net::Ipv4Addr>().is_ok(),
        Some(_) => false,
        None => valid_domain(&s.to_ascii_lowercase()) || s.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}

pub(super) fn new_spoof(t: &mut Tenant, b: &Bound, now: DateTime<Utc>) -> Answer {
    let id = b.str("Identity").unwrap_or_default();
    if !is_default_policy(t, id) {
        return Err(not_found(id));
    }
    let user = b.str("SpoofedUser").unwrap_or_default().to_owned();
    let infra = b.str("SendingInfrastructure").unwrap_or_default().to_owned();
    let stype = b.str("SpoofType").unwrap_or_default().to_owned();
    if !valid_infrastructure(&infra) {
        return Err(validation(format!(
            "SendingInfrastructure '{infra}' is invalid. Use a domain or an IPv4 address range in /24 CIDR notation."
        ))
        .target("SendingInfrastructure"));
    }
    let dup = t.exchange.spoof.iter().any(|s| {
        let p = |k: &str| {
            s.props
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        p("SpoofedUser") == user.to_ascii_lowercase()
            && p("SendingInfrastructure") == infra.to_ascii_lowercase()
            && p("SpoofType") == stype.to_ascii_lowercase()
    });
    if dup {
        return Err(validation(format!(
            "Entry already exists for spoofed user '{user}', sending infrastructure '{infra}' and spoof type '{stype}'."
        )));
    }
    if t.exchange.spoof.len() >= MAX_SPOOF_ITEMS {
        return Err(validation(format!(
            "The Tenant Allow/Block List can hold at most {MAX_SPOOF_ITEMS} spoof entries."
        )));
    }
    let mut props = Map::new();
    props.insert("Action".into(), json!(b.str("Action")));
    props.insert("SpoofedUser".into(), json!(user));
    props.insert("SendingInfrastructure".into(), json!(infra));
    props.insert("SpoofType".into(), json!(stype));
    let obj = ExoObject {
        guid: t.ids.uuid(),
        created: now,
        changed: now,
        props,
    };
    let out = spoof_json(&obj);
    t.exchange.spoof.push(obj);
    Ok(vec![out])
}

pub(super) fn remove_spoof(t: &mut Tenant, b: &Bound) -> Answer {
    let id = b.str("Identity").unwrap_or_default();
    if !is_default_policy(t, id) {
        return Err(not_found(id));
    }
    let ids: Vec<String> = match b.list("Ids") {
        Some(ListValue::Replace(v)) => v,
        _ => return Err(validation("Ids must be a list of entry identities.")),
    };
    let missing: Vec<&String> = ids
        .iter()
        .filter(|i| {
            !t.exchange
                .spoof
                .iter()
                .any(|s| s.guid.to_string().eq_ignore_ascii_case(i))
        })
        .collect();
    if let Some(m) = missing.first() {
        return Err(not_found(m));
    }
    t.exchange
        .spoof
        .retain(|s| !ids.iter().any(|i| s.guid.to_string().eq_ignore_ascii_case(i)));
    Ok(Vec::new())
}
