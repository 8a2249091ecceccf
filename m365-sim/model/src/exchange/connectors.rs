//! Inbound and outbound connectors: `Get-`, `New-`, `Set-` and `Remove-*Connector`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Answer, Bound, EXISTS, ExoError, list_of, merge, position, validation};
use crate::{
    ip::check_ipv4_entry,
    tenant::{ExoObject, Tenant},
};

fn connector_defaults(inbound: bool) -> Vec<(&'static str, Value)> {
    let mut d = vec![
        ("ConnectorType", json!("Partner")),
        ("Enabled", json!(true)),
        ("Comment", Value::Null),
        ("CloudServicesMailEnabled", json!(false)),
        ("ConnectorSource", json!("Default")),
    ];
    if inbound {
        d.extend([
            ("SenderDomains", json!([])),
            ("SenderIPAddresses", json!([])),
            ("AssociatedAcceptedDomains", json!([])),
            ("RequireTls", json!(false)),
            ("RestrictDomainsToCertificate", json!(false)),
            ("RestrictDomainsToIPAddresses", json!(false)),
            ("TlsSenderCertificateName", Value::Null),
            ("TreatMessagesAsInternal", json!(false)),
            ("ClientHostNames", json!([])),
            ("EFSkipIPs", json!([])),
            ("EFSkipMailGateway", json!([])),
            ("EFSkipLastIP", json!(false)),
            ("EFTestMode", json!(false)),
            ("EFUsers", json!([])),
            ("ScanAndDropRecipients", json!([])),
            ("TrustedOrganizations", json!([])),
        ]);
    } else {
        d.extend([
            ("SmartHosts", json!([])),
            ("UseMXRecord", json!(true)),
            ("IsTransportRuleScoped", json!(false)),
            ("TlsSettings", Value::Null),
            ("TlsDomain", Value::Null),
            ("MtaStsMode", json!("Opportunistic")),
            ("SmtpDaneMode", json!("Opportunistic")),
            ("RecipientDomains", json!([])),
            ("RouteAllMessagesViaOnPremises", json!(false)),
            ("AllAcceptedDomains", json!(false)),
            ("SenderRewritingEnabled", json!(false)),
            ("TestMode", json!(false)),
            ("ValidationRecipients", json!([])),
            // Exchange cannot validate rule-scoped partner connectors on its own.
            ("IsValidated", json!(false)),
            ("LastValidationTimestamp", Value::Null),
        ]);
    }
    d
}

/// Exchange stores sender domains as `smtp:<domain>;1` and reads them back that way.
fn normalize_sender_domains(props: &mut Map<String, Value>) {
    for key in ["SenderDomains"] {
        let list = list_of(props, key);
        if list.is_empty() {
            continue;
        }
        let norm: Vec<String> = list
            .into_iter()
            .map(|d| {
                if d.to_ascii_lowercase().starts_with("smtp:") {
                    d
                } else {
                    format!("smtp:{d};1")
                }
            })
            .collect();
        props.insert(key.into(), json!(norm));
    }
}

fn validate_connector(props: &Map<String, Value>, inbound: bool) -> Result<(), ExoError> {
    let get_bool = |k: &str| props.get(k).and_then(Value::as_bool);
    let get_str = |k: &str| props.get(k).and_then(Value::as_str);
    let ctype = get_str("ConnectorType").unwrap_or("Partner");
    if inbound {
        // New- binds SenderDomains as mandatory; Set- must not empty it either.
        if list_of(props, "SenderDomains").is_empty() {
            return Err(validation("The SenderDomains parameter is required."));
        }
        if get_bool("RestrictDomainsToCertificate") == Some(true)
            && get_str("TlsSenderCertificateName").is_none()
        {
            return Err(validation(
                "TlsSenderCertificateName must be specified when RestrictDomainsToCertificate is set to true.",
            ));
        }
        if get_bool("RestrictDomainsToIPAddresses") == Some(true)
            && list_of(props, "SenderIPAddresses").is_empty()
        {
            return Err(validation(
                "SenderIPAddresses must be specified when RestrictDomainsToIPAddresses is set to true.",
            ));
        }
        for ip in list_of(props, "SenderIPAddresses")
            .iter()
            .chain(list_of(props, "EFSkipIPs").iter())
        {
            check_ipv4_entry(ip).map_err(validation)?;
        }
    } else {
        if get_bool("UseMXRecord") == Some(false) && list_of(props, "SmartHosts").is_empty() {
            return Err(validation(
                "SmartHosts must be specified when UseMXRecord is set to false.",
            ));
        }
        if get_str("TlsSettings") == Some("DomainValidation") && get_str("TlsDomain").is_none() {
            return Err(validation(
                "TlsDomain must be specified when TlsSettings is set to DomainValidation.",
            ));
        }
        if get_bool("SenderRewritingEnabled") == Some(true) && ctype != "OnPremises" {
            return Err(validation(
                "SenderRewritingEnabled can only be set on connectors of type OnPremises.",
            ));
        }
    }
    Ok(())
}

/// Checks `props` as Exchange would see the connector: over its defaults.
fn validate_with_defaults(props: &Map<String, Value>, inbound: bool) -> Result<(), ExoError> {
    let mut probe: Map<String, Value> = connector_defaults(inbound)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    probe.extend(props.clone());
    validate_connector(&probe, inbound)
}

fn connectors(t: &mut Tenant, inbound: bool) -> &mut Vec<ExoObject> {
    if inbound {
        &mut t.exchange.inbound
    } else {
        &mut t.exchange.outbound
    }
}

pub(super) fn get_connectors(t: &mut Tenant, b: &Bound, inbound: bool) -> Answer {
    let defaults = connector_defaults(inbound);
    let list = connectors(t, inbound);
    let mut out: Vec<Value> = match b.str("Identity") {
        Some(id) => vec![list[position(list, id)?].render(&defaults)],
        None => list.iter().map(|c| c.render(&defaults)).collect(),
    };
    // Get-OutboundConnector's filters; test-mode connectors are listed only when asked for.
    if let Some(scoped) = b.values.get("IsTransportRuleScoped").and_then(Value::as_bool) {
        out.retain(|c| c["IsTransportRuleScoped"] == json!(scoped));
    }
    if !inbound && !b.flag("IncludeTestModeConnectors") && b.str("Identity").is_none() {
        out.retain(|c| c["TestMode"] != json!(true));
    }
    Ok(out)
}

pub(super) fn new_connector(t: &mut Tenant, b: &Bound, inbound: bool, now: DateTime<Utc>) -> Answer {
    let name = b.str("Name").unwrap_or_default().to_owned();
    if connectors(t, inbound)
        .iter()
        .any(|c| c.name().eq_ignore_ascii_case(&name))
    {
        let kind = if inbound { "Inbound" } else { "Outbound" };
        return Err(ExoError::new(
            400,
            EXISTS,
            format!("Active Directory operation failed. The object 'CN={name},CN={kind} Connectors,CN=Transport Settings' already exists."),
        )
        .target("Name"));
    }
    let mut props = Map::new();
    merge(&mut props, b, &[]);
    if inbound {
        normalize_sender_domains(&mut props);
    }
    validate_with_defaults(&props, inbound)?;
    let guid = t.ids.uuid();
    let obj = ExoObject {
        guid,
        created: now,
        changed: now,
        props,
    };
    let out = obj.render(&connector_defaults(inbound));
    connectors(t, inbound).push(obj);
    Ok(vec![out])
}

pub(super) fn set_connector(t: &mut Tenant, b: &Bound, inbound: bool, now: DateTime<Utc>) -> Answer {
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let list = connectors(t, inbound);
    let idx = position(list, &id)?;
    if let Some(new_name) = b.str("Name")
        && list
            .iter()
            .enumerate()
            .any(|(i, c)| i != idx && c.name().eq_ignore_ascii_case(new_name))
    {
        return Err(
            ExoError::new(400, EXISTS, format!("The object '{new_name}' already exists.")).target("Name"),
        );
    }
    let mut props = list[idx].props.clone();
    merge(&mut props, b, &["Identity"]);
    if inbound {
        normalize_sender_domains(&mut props);
    }
    validate_with_defaults(&props, inbound)?;
    list[idx].props = props;
    list[idx].changed = now;
    Ok(Vec::new())
}

pub(super) fn remove_connector(t: &mut Tenant, b: &Bound, inbound: bool) -> Answer {
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = position(connectors(t, inbound), &id)?;
    if !inbound {
        let name = t.exchange.outbound[idx].name().to_owned();
        if let Some(rule) = t.exchange.rules.iter().find(|r| {
            r.props
                .get("RouteMessageOutboundConnector")
                .and_then(Value::as_str)
                .is_some_and(|c| c.eq_ignore_ascii_case(&name))
        }) {
            // [inferred] Exchange refuses to orphan a rule's routing target; remove rules first.
            return Err(validation(format!(
                "Outbound connector '{name}' can't be removed because transport rule '{}' routes messages to it. Remove or change the rule first.",
                rule.name()
            )));
        }
    }
    connectors(t, inbound).remove(idx);
    Ok(Vec::new())
}
