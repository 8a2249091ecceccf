//! The Exchange cmdlets the product uses, with Exchange's validation and quirks.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::ExoError;
use super::params::{Bound, Kind, ListValue, Param, apply_list, bind, check_ipv4_entry};
use super::store::ExoObject;
use crate::ids::IdGen;
use crate::tenant::{ExchangePreset, Tenant, valid_domain};

const NOT_FOUND: &str = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException";
const EXISTS: &str = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException";
const VALIDATION: &str = "Microsoft.Exchange.Management.Tasks.ValidationException";
const RULE_ARGUMENT: &str = "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.ArgumentException";

/// Maximum spoof entries in the Tenant Allow/Block List.
pub const MAX_SPOOF_ITEMS: usize = 1024;

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

fn validation(msg: impl Into<String>) -> ExoError {
    ExoError::new(400, VALIDATION, msg.into())
}

const CONNECTOR_TYPE: Kind = Kind::Enum(&["Partner", "OnPremises"]);
const SCOPE: Kind = Kind::Enum(&["InOrganization", "NotInOrganization"]);

const INBOUND: &[Param] = &[
    ("Name", Kind::Str),
    ("Identity", Kind::Str),
    ("ConnectorType", CONNECTOR_TYPE),
    ("SenderDomains", Kind::List),
    ("SenderIPAddresses", Kind::List),
    ("AssociatedAcceptedDomains", Kind::List),
    ("RequireTls", Kind::Bool),
    ("RestrictDomainsToCertificate", Kind::Bool),
    ("RestrictDomainsToIPAddresses", Kind::Bool),
    ("TlsSenderCertificateName", Kind::Str),
    ("CloudServicesMailEnabled", Kind::Bool),
    ("TreatMessagesAsInternal", Kind::Bool),
    ("EFSkipIPs", Kind::List),
    ("EFSkipLastIP", Kind::Bool),
    ("EFTestMode", Kind::Bool),
    ("EFUsers", Kind::List),
    ("ScanAndDropRecipients", Kind::List),
    ("TrustedOrganizations", Kind::List),
    (
        "ConnectorSource",
        Kind::Enum(&["Default", "Migrated", "HybridWizard", "AdminUI"]),
    ),
    ("Enabled", Kind::Bool),
    ("Comment", Kind::Str),
    ("Confirm", Kind::Bool),
];

const OUTBOUND: &[Param] = &[
    ("Name", Kind::Str),
    ("Identity", Kind::Str),
    ("ConnectorType", CONNECTOR_TYPE),
    ("SmartHosts", Kind::List),
    ("UseMXRecord", Kind::Bool),
    ("IsTransportRuleScoped", Kind::Bool),
    (
        "TlsSettings",
        Kind::Enum(&["EncryptionOnly", "CertificateValidation", "DomainValidation"]),
    ),
    ("TlsDomain", Kind::Str),
    ("RecipientDomains", Kind::List),
    ("RouteAllMessagesViaOnPremises", Kind::Bool),
    ("CloudServicesMailEnabled", Kind::Bool),
    ("AllAcceptedDomains", Kind::Bool),
    ("SenderRewritingEnabled", Kind::Bool),
    ("TestMode", Kind::Bool),
    ("ValidationRecipients", Kind::List),
    (
        "ConnectorSource",
        Kind::Enum(&["Default", "Migrated", "HybridWizard", "AdminUI"]),
    ),
    ("Enabled", Kind::Bool),
    ("Comment", Kind::Str),
    ("Confirm", Kind::Bool),
];

/// Transport-rule actions: a rule must keep at least one.
const RULE_ACTIONS: &[&str] = &[
    "RouteMessageOutboundConnector",
    "SetSCL",
    "SetHeaderName",
    "RemoveHeader",
    "PrependSubject",
    "RedirectMessageTo",
    "BlindCopyTo",
    "AddToRecipients",
    "DeleteMessage",
    "Quarantine",
    "RejectMessageReasonText",
    "RejectMessageEnhancedStatusCode",
    "ModerateMessageByUser",
    "ApplyHtmlDisclaimerText",
    "SetAuditSeverity",
    "RouteMessageOutboundRequireTls",
];

/// Rule parameters naming groups Exchange must already see.
const GROUP_REFS: &[&str] = &[
    "SentToMemberOf",
    "FromMemberOf",
    "ExceptIfSentToMemberOf",
    "ExceptIfFromMemberOf",
];

const RULE_COMMON: &[Param] = &[
    ("Name", Kind::Str),
    ("Identity", Kind::Str),
    ("Priority", Kind::Int),
    ("Mode", Kind::Enum(&["Enforce", "Audit", "AuditAndNotify"])),
    ("Comments", Kind::Str),
    ("FromScope", SCOPE),
    (
        "SentToScope",
        Kind::Enum(&[
            "InOrganization",
            "NotInOrganization",
            "ExternalPartner",
            "ExternalNonPartner",
        ]),
    ),
    ("RecipientDomainIs", Kind::List),
    ("SenderDomainIs", Kind::List),
    ("SentToMemberOf", Kind::List),
    ("FromMemberOf", Kind::List),
    ("SentTo", Kind::List),
    ("From", Kind::List),
    ("SenderIpRanges", Kind::List),
    ("HeaderMatchesMessageHeader", Kind::Str),
    ("HeaderMatchesPatterns", Kind::List),
    ("HeaderContainsMessageHeader", Kind::Str),
    ("HeaderContainsWords", Kind::List),
    ("SubjectContainsWords", Kind::List),
    ("SCLOver", Kind::Int),
    ("ExceptIfSenderIpRanges", Kind::List),
    ("ExceptIfFromScope", SCOPE),
    ("ExceptIfSentToMemberOf", Kind::List),
    ("ExceptIfFromMemberOf", Kind::List),
    ("ExceptIfRecipientDomainIs", Kind::List),
    ("ExceptIfSenderDomainIs", Kind::List),
    ("ExceptIfHeaderMatchesMessageHeader", Kind::Str),
    ("ExceptIfHeaderMatchesPatterns", Kind::List),
    ("ExceptIfHeaderContainsMessageHeader", Kind::Str),
    ("ExceptIfHeaderContainsWords", Kind::List),
    ("RouteMessageOutboundConnector", Kind::Str),
    ("RouteMessageOutboundRequireTls", Kind::Bool),
    ("SetSCL", Kind::Int),
    ("SetHeaderName", Kind::Str),
    ("SetHeaderValue", Kind::Str),
    ("RemoveHeader", Kind::Str),
    ("PrependSubject", Kind::Str),
    ("RedirectMessageTo", Kind::List),
    ("BlindCopyTo", Kind::List),
    ("AddToRecipients", Kind::List),
    ("DeleteMessage", Kind::Bool),
    ("Quarantine", Kind::Bool),
    ("RejectMessageReasonText", Kind::Str),
    ("RejectMessageEnhancedStatusCode", Kind::Str),
    ("ModerateMessageByUser", Kind::List),
    ("ApplyHtmlDisclaimerText", Kind::Str),
    ("ApplyHtmlDisclaimerLocation", Kind::Enum(&["Append", "Prepend"])),
    (
        "ApplyHtmlDisclaimerFallbackAction",
        Kind::Enum(&["Wrap", "Ignore", "Reject"]),
    ),
    (
        "SetAuditSeverity",
        Kind::Enum(&["DoNotAudit", "Low", "Medium", "High"]),
    ),
    ("StopRuleProcessing", Kind::Bool),
    (
        "SenderAddressLocation",
        Kind::Enum(&["Header", "Envelope", "HeaderOrEnvelope"]),
    ),
    ("RuleErrorAction", Kind::Enum(&["Ignore", "Defer"])),
    ("ActivationDate", Kind::Str),
    ("ExpiryDate", Kind::Str),
    ("Confirm", Kind::Bool),
];

const IDENTITY_ONLY: &[Param] = &[("Identity", Kind::Str), ("Confirm", Kind::Bool)];
const GET_PARAMS: &[Param] = &[("Identity", Kind::Str), ("ResultSize", Kind::Any)];

/// Runs a cmdlet against the tenant. Returns the records Exchange would return (often none).
pub fn run(
    t: &mut Tenant,
    cmdlet: &str,
    params: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ExoError> {
    match cmdlet.to_ascii_lowercase().as_str() {
        "get-inboundconnector" => get_connectors(t, params, true),
        "get-outboundconnector" => get_connectors(t, params, false),
        "new-inboundconnector" => new_connector(t, params, true, now),
        "new-outboundconnector" => new_connector(t, params, false, now),
        "set-inboundconnector" => set_connector(t, params, true, now),
        "set-outboundconnector" => set_connector(t, params, false, now),
        "remove-inboundconnector" => remove_connector(t, params, true),
        "remove-outboundconnector" => remove_connector(t, params, false),
        "get-transportrule" => get_rules(t, params),
        "new-transportrule" => new_rule(t, params, now),
        "set-transportrule" => set_rule(t, params, now),
        "remove-transportrule" => remove_rule(t, params),
        "enable-transportrule" => switch_rule(t, params, true, now),
        "disable-transportrule" => switch_rule(t, params, false, now),
        "get-hostedconnectionfilterpolicy" => get_filter_policy(t, params),
        "set-hostedconnectionfilterpolicy" => set_filter_policy(t, params),
        "get-tenantallowblocklistspoofitems" => get_spoof(t, params),
        "new-tenantallowblocklistspoofitems" => new_spoof(t, params, now),
        "remove-tenantallowblocklistspoofitems" => remove_spoof(t, params),
        "get-accepteddomain" => get_accepted_domains(t, params),
        "get-unifiedgroup" => get_unified_groups(t, params, now),
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

// ---- connectors -------------------------------------------------------------------------

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
            ("EFSkipIPs", json!([])),
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
        if ctype == "Partner" && list_of(props, "SenderDomains").is_empty() {
            return Err(validation(
                "SenderDomains must be specified for a Partner inbound connector.",
            ));
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

fn connectors(t: &mut Tenant, inbound: bool) -> &mut Vec<ExoObject> {
    if inbound {
        &mut t.exchange.inbound
    } else {
        &mut t.exchange.outbound
    }
}

fn get_connectors(
    t: &mut Tenant,
    params: &Map<String, Value>,
    inbound: bool,
) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, GET_PARAMS, &[])?;
    let defaults = connector_defaults(inbound);
    let list = connectors(t, inbound);
    match b.str("Identity") {
        Some(id) => list
            .iter()
            .find(|c| c.is(id))
            .map(|c| vec![c.render(&defaults)])
            .ok_or_else(|| not_found(id)),
        None => Ok(list.iter().map(|c| c.render(&defaults)).collect()),
    }
}

fn new_connector(
    t: &mut Tenant,
    params: &Map<String, Value>,
    inbound: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ExoError> {
    let spec: Vec<Param> = (if inbound { INBOUND } else { OUTBOUND })
        .iter()
        .filter(|p| p.0 != "Identity")
        .copied()
        .collect();
    let b = bind(params, &spec, &["Name"])?;
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
    merge(&mut props, &b, &[]);
    if inbound {
        normalize_sender_domains(&mut props);
    }
    let mut probe = Map::new();
    for (k, v) in connector_defaults(inbound) {
        probe.insert(k.to_owned(), v);
    }
    probe.extend(props.clone());
    validate_connector(&probe, inbound)?;
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

fn set_connector(
    t: &mut Tenant,
    params: &Map<String, Value>,
    inbound: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, if inbound { INBOUND } else { OUTBOUND }, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let list = connectors(t, inbound);
    let idx = list
        .iter()
        .position(|c| c.is(&id))
        .ok_or_else(|| not_found(&id))?;
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
    merge(&mut props, &b, &["Identity"]);
    if inbound {
        normalize_sender_domains(&mut props);
    }
    let mut probe = Map::new();
    for (k, v) in connector_defaults(inbound) {
        probe.insert(k.to_owned(), v);
    }
    probe.extend(props.clone());
    validate_connector(&probe, inbound)?;
    list[idx].props = props;
    list[idx].changed = now;
    Ok(Vec::new())
}

fn remove_connector(
    t: &mut Tenant,
    params: &Map<String, Value>,
    inbound: bool,
) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, IDENTITY_ONLY, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = connectors(t, inbound)
        .iter()
        .position(|c| c.is(&id))
        .ok_or_else(|| not_found(&id))?;
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

// ---- transport rules --------------------------------------------------------------------

fn rule_render(r: &ExoObject, priority: usize) -> Value {
    let mut v = r.render(&[
        ("State", json!("Enabled")),
        ("Mode", json!("Enforce")),
        ("Comments", Value::Null),
        ("StopRuleProcessing", json!(false)),
        ("RuleErrorAction", json!("Ignore")),
        ("SenderAddressLocation", json!("Header")),
    ]);
    v["Priority"] = json!(priority);
    v
}

/// Checks the parts of a rule that reference other objects, and that it has an action.
fn validate_rule(t: &Tenant, props: &Map<String, Value>, now: DateTime<Utc>) -> Result<(), ExoError> {
    if !RULE_ACTIONS.iter().any(|a| {
        props
            .get(*a)
            .is_some_and(|v| !v.is_null() && v != &json!(false) && v != &json!([]))
    }) {
        return Err(ExoError::new(
            400,
            RULE_ARGUMENT,
            "All rules have to include at least one action.".to_owned(),
        ));
    }
    if let Some(c) = props.get("RouteMessageOutboundConnector").and_then(Value::as_str)
        && !t.exchange.outbound.iter().any(|o| o.is(c))
    {
        return Err(ExoError::new(
            400,
            NOT_FOUND,
            format!("Couldn't find object \"{c}\". Please make sure that it was spelled correctly or specify a different object."),
        )
        .target("RouteMessageOutboundConnector"));
    }
    if let Some(scl) = props.get("SetSCL").and_then(Value::as_i64)
        && !(-1..=9).contains(&scl)
    {
        return Err(validation(format!(
            "The value of SetSCL must be between -1 and 9, not {scl}."
        )));
    }
    if props.contains_key("SetHeaderName") != props.contains_key("SetHeaderValue") {
        return Err(ExoError::new(
            400,
            RULE_ARGUMENT,
            "SetHeaderName and SetHeaderValue must be used together.".to_owned(),
        ));
    }
    for key in ["SenderIpRanges", "ExceptIfSenderIpRanges"] {
        for ip in list_of(props, key) {
            check_ipv4_entry(&ip).map_err(validation)?;
        }
    }
    for key in GROUP_REFS {
        for g in list_of(props, key) {
            if find_exchange_group(t, &g, now).is_none() {
                // A group created in Graph stays unknown to Exchange until it has propagated.
                return Err(ExoError::new(
                    400,
                    NOT_FOUND,
                    format!("Couldn't find object \"{g}\". Please make sure that it was spelled correctly or specify a different object."),
                )
                .target(key));
            }
        }
    }
    Ok(())
}

fn get_rules(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let spec: Vec<Param> = GET_PARAMS
        .iter()
        .copied()
        .chain([("State", Kind::Enum(&["Enabled", "Disabled"]))])
        .collect();
    let b = bind(params, &spec, &[])?;
    let rules = &t.exchange.rules;
    let mut out: Vec<Value> = match b.str("Identity") {
        Some(id) => {
            let i = rules.iter().position(|r| r.is(id)).ok_or_else(|| not_found(id))?;
            vec![rule_render(&rules[i], i)]
        }
        None => rules.iter().enumerate().map(|(i, r)| rule_render(r, i)).collect(),
    };
    if let Some(state) = b.str("State") {
        out.retain(|r| r["State"] == json!(state));
    }
    Ok(out)
}

fn new_rule(t: &mut Tenant, params: &Map<String, Value>, now: DateTime<Utc>) -> Result<Vec<Value>, ExoError> {
    let spec: Vec<Param> = RULE_COMMON
        .iter()
        .filter(|p| p.0 != "Identity")
        .copied()
        .chain([("Enabled", Kind::Bool)])
        .collect();
    let b = bind(params, &spec, &["Name"])?;
    let name = b.str("Name").unwrap_or_default().to_owned();
    if t.exchange
        .rules
        .iter()
        .any(|r| r.name().eq_ignore_ascii_case(&name))
    {
        return Err(ExoError::new(
            400,
            "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RuleNameAlreadyExistsException",
            format!("A rule named '{name}' already exists."),
        )
        .target("Name"));
    }
    let count = t.exchange.rules.len();
    let priority = match b.values.get("Priority").and_then(Value::as_i64) {
        None => count,
        Some(p) if p >= 0 && (p as usize) <= count => p as usize,
        Some(p) => {
            return Err(ExoError::new(
                400,
                RULE_ARGUMENT,
                format!("The specified rule priority {p} is invalid. Valid priorities are 0 to {count}."),
            )
            .target("Priority"));
        }
    };
    let mut props = Map::new();
    merge(&mut props, &b, &["Priority", "Enabled"]);
    let enabled = b.values.get("Enabled").and_then(Value::as_bool).unwrap_or(true);
    props.insert(
        "State".into(),
        json!(if enabled { "Enabled" } else { "Disabled" }),
    );
    validate_rule(t, &props, now)?;
    let guid = t.ids.uuid();
    let obj = ExoObject {
        guid,
        created: now,
        changed: now,
        props,
    };
    let out = rule_render(&obj, priority);
    t.exchange.rules.insert(priority, obj);
    Ok(vec![out])
}

fn set_rule(t: &mut Tenant, params: &Map<String, Value>, now: DateTime<Utc>) -> Result<Vec<Value>, ExoError> {
    // No `Enabled` here: Exchange switches rules only with Enable-/Disable-TransportRule.
    let b = bind(params, RULE_COMMON, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = t
        .exchange
        .rules
        .iter()
        .position(|r| r.is(&id))
        .ok_or_else(|| not_found(&id))?;
    if let Some(n) = b.str("Name")
        && t.exchange
            .rules
            .iter()
            .enumerate()
            .any(|(i, r)| i != idx && r.name().eq_ignore_ascii_case(n))
    {
        return Err(ExoError::new(
            400,
            "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RuleNameAlreadyExistsException",
            format!("A rule named '{n}' already exists."),
        )
        .target("Name"));
    }
    let mut props = t.exchange.rules[idx].props.clone();
    merge(&mut props, &b, &["Identity", "Priority"]);
    props.retain(|_, v| !v.is_null());
    validate_rule(t, &props, now)?;
    let count = t.exchange.rules.len();
    let new_priority = match b.values.get("Priority").and_then(Value::as_i64) {
        None => idx,
        Some(p) if p >= 0 && (p as usize) < count => p as usize,
        Some(p) => {
            return Err(ExoError::new(
                400,
                RULE_ARGUMENT,
                format!(
                    "The specified rule priority {p} is invalid. Valid priorities are 0 to {}.",
                    count - 1
                ),
            )
            .target("Priority"));
        }
    };
    let mut obj = t.exchange.rules.remove(idx);
    obj.props = props;
    obj.changed = now;
    t.exchange.rules.insert(new_priority, obj);
    Ok(Vec::new())
}

fn remove_rule(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, IDENTITY_ONLY, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = t
        .exchange
        .rules
        .iter()
        .position(|r| r.is(&id))
        .ok_or_else(|| not_found(&id))?;
    t.exchange.rules.remove(idx);
    Ok(Vec::new())
}

fn switch_rule(
    t: &mut Tenant,
    params: &Map<String, Value>,
    on: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, IDENTITY_ONLY, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = t
        .exchange
        .rules
        .iter()
        .position(|r| r.is(&id))
        .ok_or_else(|| not_found(&id))?;
    if on {
        // Enabling re-checks references: a rule can't go live pointing at nothing.
        let props = t.exchange.rules[idx].props.clone();
        validate_rule(t, &props, now)?;
    }
    let r = &mut t.exchange.rules[idx];
    r.props
        .insert("State".into(), json!(if on { "Enabled" } else { "Disabled" }));
    r.changed = now;
    Ok(Vec::new())
}

// ---- connection filter policy ----------------------------------------------------------

const FILTER_SET: &[Param] = &[
    ("Identity", Kind::Str),
    ("IPAllowList", Kind::List),
    ("IPBlockList", Kind::List),
    ("EnableSafeList", Kind::Bool),
    ("AdminDisplayName", Kind::Str),
    ("Confirm", Kind::Bool),
];

fn is_default_policy(t: &Tenant, id: &str) -> bool {
    id.eq_ignore_ascii_case("Default")
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

fn get_filter_policy(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, GET_PARAMS, &[])?;
    match b.str("Identity") {
        Some(id) if !is_default_policy(t, id) => Err(not_found(id)),
        _ => Ok(vec![filter_policy_json(t)]),
    }
}

fn set_filter_policy(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, FILTER_SET, &["Identity"])?;
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

// ---- Tenant Allow/Block List spoof entries ---------------------------------------------

const SPOOF_NEW: &[Param] = &[
    ("Identity", Kind::Str),
    ("Action", Kind::Enum(&["Allow", "Block"])),
    ("SpoofedUser", Kind::Str),
    ("SendingInfrastructure", Kind::Str),
    ("SpoofType", Kind::Enum(&["External", "Internal"])),
];

fn spoof_json(s: &ExoObject) -> Value {
    let mut m = s.props.clone();
    m.insert("Identity".into(), json!(s.guid));
    m.insert("ObjectId".into(), json!(s.guid));
    Value::Object(m)
}

fn get_spoof(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let spec: &[Param] = &[
        ("Identity", Kind::Str),
        ("Ids", Kind::List),
        ("Action", Kind::Enum(&["Allow", "Block"])),
        ("SpoofType", Kind::Enum(&["External", "Internal"])),
        ("ResultSize", Kind::Any),
    ];
    let b = bind(params, spec, &[])?;
    let ids: Vec<String> = match b.list("Ids") {
        Some(ListValue::Replace(v)) => v,
        _ => Vec::new(),
    };
    Ok(t.exchange
        .spoof
        .iter()
        .filter(|s| ids.is_empty() || ids.iter().any(|i| s.guid.to_string().eq_ignore_ascii_case(i)))
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

fn new_spoof(
    t: &mut Tenant,
    params: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ExoError> {
    let b = bind(
        params,
        SPOOF_NEW,
        &["Action", "SpoofedUser", "SendingInfrastructure", "SpoofType"],
    )?;
    if let Some(id) = b.str("Identity")
        && !id.eq_ignore_ascii_case("Default")
    {
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
        return Err(ExoError::new(
            400,
            "Microsoft.Exchange.Management.Tasks.ValidationException",
            format!(
                "Entry already exists for spoofed user '{user}', sending infrastructure '{infra}' and spoof type '{stype}'."
            ),
        ));
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

fn remove_spoof(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let spec: &[Param] = &[
        ("Identity", Kind::Str),
        ("Ids", Kind::List),
        ("Confirm", Kind::Bool),
    ];
    let b = bind(params, spec, &["Ids"])?;
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

// ---- read-only views of the directory ---------------------------------------------------

fn get_accepted_domains(t: &mut Tenant, params: &Map<String, Value>) -> Result<Vec<Value>, ExoError> {
    let b = bind(params, GET_PARAMS, &[])?;
    let all: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "Identity": d.name,
                "Name": d.name,
                "DomainName": d.name,
                "DomainType": "Authoritative",
                "Default": d.is_default,
                "InitialDomain": d.is_initial,
                "MatchSubDomains": false,
                "Guid": IdGen::new(t.name_seed, &d.name).uuid(),
            })
        })
        .collect();
    match b.str("Identity") {
        Some(id) => {
            let hit: Vec<Value> = all
                .into_iter()
                .filter(|d| d["Name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(id)))
                .collect();
            if hit.is_empty() {
                Err(not_found(id))
            } else {
                Ok(hit)
            }
        }
        None => Ok(all),
    }
}

/// A Unified group that Exchange already sees, by alias, display name, SMTP address or object id.
fn find_exchange_group<'a>(t: &'a Tenant, key: &str, now: DateTime<Utc>) -> Option<&'a crate::tenant::Group> {
    let dd = t.default_domain();
    t.groups.iter().find(|g| {
        g.alive()
            && g.unified
            && g.exchange_visible_at <= now
            && (g.mail_nickname.eq_ignore_ascii_case(key)
                || g.display_name.eq_ignore_ascii_case(key)
                || g.mail(dd).is_some_and(|m| m.eq_ignore_ascii_case(key))
                || g.id.to_string().eq_ignore_ascii_case(key))
    })
}

fn unified_group_json(t: &Tenant, g: &crate::tenant::Group) -> Value {
    let dd = t.default_domain();
    let has = |o: &str| g.resource_behavior_options.iter().any(|x| x == o);
    json!({
        "Identity": g.mail_nickname,
        "Name": format!("{}_{}", g.mail_nickname, &g.id.simple().to_string()[..8]),
        "DisplayName": g.display_name,
        "Alias": g.mail_nickname,
        "PrimarySmtpAddress": g.mail(dd),
        "EmailAddresses": g.mail(dd).map(|m| vec![format!("SMTP:{m}")]).unwrap_or_default(),
        "ExternalDirectoryObjectId": g.id,
        "Guid": g.id,
        "RecipientTypeDetails": "GroupMailbox",
        "AccessType": g.visibility.clone().unwrap_or_else(|| "Public".into()),
        "HiddenFromAddressListsEnabled": has("HideGroupInOutlook"),
        "HiddenFromExchangeClientsEnabled": has("HideGroupInOutlook"),
        "WelcomeMessageEnabled": !has("WelcomeEmailDisabled"),
        "WhenCreatedUTC": g.created_at.to_rfc3339(),
    })
}

fn get_unified_groups(
    t: &mut Tenant,
    params: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ExoError> {
    let b = bind(
        params,
        &[
            ("Identity", Kind::Str),
            ("ResultSize", Kind::Any),
            ("Filter", Kind::Str),
        ],
        &[],
    )?;
    match b.str("Identity") {
        Some(id) => find_exchange_group(t, id, now)
            .map(|g| vec![unified_group_json(t, g)])
            .ok_or_else(|| not_found(id)),
        None => Ok(t
            .groups
            .iter()
            .filter(|g| g.alive() && g.unified && g.exchange_visible_at <= now)
            .map(|g| unified_group_json(t, g))
            .collect()),
    }
}
