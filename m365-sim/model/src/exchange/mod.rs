//! Exchange Online as the simulated tenants have it: the cmdlets the product uses, with
//! Exchange's validation and quirks, run against a tenant's Exchange objects. One file per
//! family of objects: connectors, rules, allow lists (IP Allow and Block Lists, spoof entries),
//! and the directory as Exchange reads it (accepted domains, groups).

mod allow_lists;
mod connectors;
mod directory;
mod error;
mod params;
mod rules;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

pub use self::error::ExoError;
use self::params::{Bound, Kind, Param, apply_list};
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

const IDENTITY_ONLY: &[Param] = &[("Identity", Kind::Str), ("Confirm", Kind::Bool)];
const GET_PARAMS: &[Param] = &[("Identity", Kind::Str), ("ResultSize", Kind::Any)];

/// Runs a cmdlet against the tenant. Returns the records Exchange would return (often none).
pub fn run(t: &mut Tenant, cmdlet: &str, params: &Map<String, Value>, now: DateTime<Utc>) -> Answer {
    match cmdlet.to_ascii_lowercase().as_str() {
        "get-inboundconnector" => connectors::get_connectors(t, params, true),
        "get-outboundconnector" => connectors::get_connectors(t, params, false),
        "new-inboundconnector" => connectors::new_connector(t, params, true, now),
        "new-outboundconnector" => connectors::new_connector(t, params, false, now),
        "set-inboundconnector" => connectors::set_connector(t, params, true, now),
        "set-outboundconnector" => connectors::set_connector(t, params, false, now),
        "remove-inboundconnector" => connectors::remove_connector(t, params, true),
        "remove-outboundconnector" => connectors::remove_connector(t, params, false),
        "get-transportrule" => rules::get_rules(t, params),
        "new-transportrule" => rules::new_rule(t, params, now),
        "set-transportrule" => rules::set_rule(t, params, now),
        "remove-transportrule" => rules::remove_rule(t, params),
        "enable-transportrule" => rules::switch_rule(t, params, true, now),
        "disable-transportrule" => rules::switch_rule(t, params, false, now),
        "get-hostedconnectionfilterpolicy" => allow_lists::get_filter_policy(t, params),
        "set-hostedconnectionfilterpolicy" => allow_lists::set_filter_policy(t, params),
        "get-tenantallowblocklistspoofitems" => allow_lists::get_spoof(t, params),
        "new-tenantallowblocklistspoofitems" => allow_lists::new_spoof(t, params, now),
        "remove-tenantallowblocklistspoofitems" => allow_lists::remove_spoof(t, params),
        "get-accepteddomain" => directory::get_accepted_domains(t, params),
        "get-unifiedgroup" => directory::get_unified_groups(t, params, now),
        _ => Err(ExoError::new(
            400,
            "System.Management.Automation.CommandNotFoundException",
            format!(
                "The term '{cmdlet}' is not recognized as a name of a cmdlet, function, script file, or executable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
            ),
        )),
    }
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
            run(t, cmdlet, params, now).map_err(|e| format!("{cmdlet}: {}", e.message))?;
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
        if skip.contains(&k.as_str()) || k == "Confirm" {
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
