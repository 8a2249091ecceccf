//! Exchange Online as the simulated tenants have it: the cmdlets the product uses, with
//! Exchange's validation and quirks, run against a tenant's Exchange objects. One file per
//! family of objects: connectors, rules, allow lists (IP Allow and Block Lists, spoof entries),
//! and the directory as Exchange reads it (accepted domains, groups). Every call is first bound
//! against the cmdlet's table from Microsoft's cmdlet reference (`reference`).

mod allow_lists;
mod connectors;
mod directory;
mod error;
mod filter;
mod params;
pub mod reference;
mod rules;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

pub use self::error::ExoError;
use self::params::{Bound, apply_list, bind};
use crate::tenant::{ExchangePreset, ExoObject, Tenant};

/// What a cmdlet answers: the records Exchange returns (often none), or its error.
pub type Answer = Result<Vec<Value>, ExoError>;

const NOT_FOUND: &str = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException";
const EXISTS: &str = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException";
const VALIDATION: &str = "Microsoft.Exchange.Management.Tasks.ValidationException";

fn not_found(identity: &str) -> ExoError {
    ExoError::new(
        404,
        NOT_FOUND,
        format!(
            "The operation couldn't be performed because object '{identity}' couldn't be found on 'SN4PR00MB0000.namprd00.prod.outlook.com'."
        ),
    )
    .target("Identity")
}

/// The position of the object `id` names (its name, GUID or identity), or Exchange's not-found.
fn position(objects: &[ExoObject], id: &str) -> Result<usize, ExoError> {
    objects.iter().position(|o| o.is(id)).ok_or_else(|| not_found(id))
}

fn validation(msg: impl Into<String>) -> ExoError {
    ExoError::new(400, VALIDATION, msg.into())
}

/// Runs a cmdlet against the tenant. Returns the records Exchange would return (often none).
pub fn run(t: &mut Tenant, cmdlet: &str, params: &Map<String, Value>, now: DateTime<Utc>) -> Answer {
    let Some(spec) = reference::find(cmdlet) else {
        return Err(not_recognized(cmdlet));
    };
    let b = bind(params, spec)?;
    // -WhatIf: Exchange describes what it would do and changes nothing.
    if b.flag("WhatIf") {
        return Ok(Vec::new());
    }
    let records = match spec.name {
        "Get-InboundConnector" => connectors::get_connectors(t, &b, true),
        "Get-OutboundConnector" => connectors::get_connectors(t, &b, false),
        "New-InboundConnector" => connectors::new_connector(t, &b, true, now),
        "New-OutboundConnector" => connectors::new_connector(t, &b, false, now),
        "Set-InboundConnector" => connectors::set_connector(t, &b, true, now),
        "Set-OutboundConnector" => connectors::set_connector(t, &b, false, now),
        "Remove-InboundConnector" => connectors::remove_connector(t, &b, true),
        "Remove-OutboundConnector" => connectors::remove_connector(t, &b, false),
        "Get-TransportRule" => rules::get_rules(t, &b),
        "New-TransportRule" => rules::new_rule(t, &b, now),
        "Set-TransportRule" => rules::set_rule(t, &b, now),
        "Remove-TransportRule" => rules::remove_rule(t, &b),
        "Enable-TransportRule" => rules::switch_rule(t, &b, true, now),
        "Disable-TransportRule" => rules::switch_rule(t, &b, false, now),
        "Get-HostedConnectionFilterPolicy" => allow_lists::get_filter_policy(t, &b),
        "Set-HostedConnectionFilterPolicy" => allow_lists::set_filter_policy(t, &b),
        "Get-TenantAllowBlockListSpoofItems" => allow_lists::get_spoof(t, &b, now),
        "New-TenantAllowBlockListSpoofItems" => allow_lists::new_spoof(t, &b, now),
        "Remove-TenantAllowBlockListSpoofItems" => allow_lists::remove_spoof(t, &b),
        "Get-AcceptedDomain" => directory::get_accepted_domains(t, &b),
        "Get-UnifiedGroup" => directory::get_unified_groups(t, &b, now),
        _ => Err(not_recognized(cmdlet)),
    }?;
    Ok(result_size(records, &b))
}

fn not_recognized(cmdlet: &str) -> ExoError {
    ExoError::new(
        400,
        "System.Management.Automation.CommandNotFoundException",
        format!(
            "The term '{cmdlet}' is not recognized as a name of a cmdlet, function, script file, or executable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
        ),
    )
}

/// `-ResultSize N` keeps the first N records (`Unlimited`, or no `-ResultSize`, keeps all: the
/// REST endpoint pages instead).
fn result_size(mut records: Vec<Value>, b: &Bound) -> Vec<Value> {
    if let Some(n) = b.values.get("ResultSize").and_then(Value::as_u64) {
        records.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    records
}

/// Applies the pre-existing Exchange objects of a tenant-creation request.
pub fn apply_preset(t: &mut Tenant, p: &ExchangePreset, now: DateTime<Utc>) -> Result<(), String> {
    let steps = [
        ("New-InboundConnector", &p.inbound_connectors),
        ("New-OutboundConnector", &p.outbound_connectors),
        ("New-TransportRule", &p.transport_rules),
        ("New-TenantAllowBlockListSpoofItems", &p.spoof_items),
    ];
    for (cmdlet, list) in steps {
        for params in list {
            let mut params = params.clone();
            // A preset spoof entry names no policy: there is only `Default`, which the cmdlet
            // requires as `-Identity`.
            if cmdlet == "New-TenantAllowBlockListSpoofItems"
                && !params.keys().any(|k| k.eq_ignore_ascii_case("Identity"))
            {
                params.insert("Identity".into(), json!("Default"));
            }
            run(t, cmdlet, &params, now).map_err(|e| format!("{cmdlet}: {}", e.message))?;
        }
    }
    Ok(())
}
fn list_of(props: &Map<String, Value>, name: &str) -> Vec<String> {
    props
        .get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Merges bound parameters into properties: lists via add/remove/replace, scalars replaced.
fn merge(props: &mut Map<String, Value>, b: &Bound, skip: &[&str]) {
    for (k, v) in &b.values {
        if skip.contains(&k.as_str()) || k == "Confirm" || k == "WhatIf" {
            continue;
        }
        match b.list(k) {
            Some(change) if v.is_array() || v.is_object() => {
                let next = apply_list(&list_of(props, k), &change);
                props.insert(k.clone(), json!(next));
            }
            _ => {
                props.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::TenantSpec;

    #[test]
    fn every_table_has_its_cmdlet_and_what_if_changes_nothing() {
        let now = Utc::now();
        let mut t = Tenant::new(
            "0d0b7a4e-0000-4000-8000-000000000001".into(),
            &TenantSpec::default(),
            7,
            ("app", "App"),
            now,
            0,
        )
        .expect("tenant");
        for spec in reference::CMDLETS {
            if let Err(e) = run(&mut t, spec.name, &Map::new(), now) {
                assert_ne!(
                    e.exception, "System.Management.Automation.CommandNotFoundException",
                    "{}",
                    spec.name
                );
            }
        }
        let rule = json!({"Name": "R", "SetSCL": -1, "WhatIf": true});
        let rule = rule.as_object().expect("object");
        assert_eq!(
            run(&mut t, "new-transportrule", rule, now)
                .expect("what if")
                .len(),
            0
        );
        assert!(t.exchange.rules.is_empty());
    }
}
