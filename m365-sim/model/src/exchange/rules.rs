//! Transport rules: `Get-`, `New-`, `Set-`, `Remove-`, `Enable-` and `Disable-TransportRule`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{
    Answer, ExoError, GET_PARAMS, IDENTITY_ONLY, NOT_FOUND,
    directory::find_exchange_group,
    list_of, merge,
    params::{Kind, Param, bind},
    position, validation,
};
use crate::{
    ip::check_ipv4_entry,
    tenant::{ExoObject, Tenant},
};

const RULE_ARGUMENT: &str = "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.ArgumentException";
const SCOPE: Kind = Kind::Enum(&["InOrganization", "NotInOrganization"]);

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

pub(super) fn get_rules(t: &mut Tenant, params: &Map<String, Value>) -> Answer {
    let spec: Vec<Param> = GET_PARAMS
        .iter()
        .copied()
        .chain([("State", Kind::Enum(&["Enabled", "Disabled"]))])
        .collect();
    let b = bind(params, &spec, &[])?;
    let rules = &t.exchange.rules;
    let mut out: Vec<Value> = match b.str("Identity") {
        Some(id) => {
            let i = position(rules, id)?;
            vec![rule_render(&rules[i], i)]
        }
        None => rules.iter().enumerate().map(|(i, r)| rule_render(r, i)).collect(),
    };
    if let Some(state) = b.str("State") {
        out.retain(|r| r["State"] == json!(state));
    }
    Ok(out)
}

pub(super) fn new_rule(t: &mut Tenant, params: &Map<String, Value>, now: DateTime<Utc>) -> Answer {
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
        return Err(name_taken(&name));
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

pub(super) fn set_rule(t: &mut Tenant, params: &Map<String, Value>, now: DateTime<Utc>) -> Answer {
    // No `Enabled` here: Exchange switches rules only with Enable-/Disable-TransportRule.
    let b = bind(params, RULE_COMMON, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = position(&t.exchange.rules, &id)?;
    if let Some(n) = b.str("Name")
        && t.exchange
            .rules
            .iter()
            .enumerate()
            .any(|(i, r)| i != idx && r.name().eq_ignore_ascii_case(n))
    {
        return Err(name_taken(n));
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

pub(super) fn remove_rule(t: &mut Tenant, params: &Map<String, Value>) -> Answer {
    let b = bind(params, IDENTITY_ONLY, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = position(&t.exchange.rules, &id)?;
    t.exchange.rules.remove(idx);
    Ok(Vec::new())
}

pub(super) fn switch_rule(
    t: &mut Tenant,
    params: &Map<String, Value>,
    on: bool,
    now: DateTime<Utc>,
) -> Answer {
    let b = bind(params, IDENTITY_ONLY, &["Identity"])?;
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = position(&t.exchange.rules, &id)?;
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

/// Exchange's answer to a rule name already in use.
fn name_taken(name: &str) -> ExoError {
    ExoError::new(
        400,
        "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RuleNameAlreadyExistsException",
        format!("A rule named '{name}' already exists."),
    )
    .target("Name")
}
