//! Transport rules: `Get-`, `New-`, `Set-`, `Remove-`, `Enable-` and `Disable-TransportRule`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{
    Answer, Bound, ExoError, NOT_FOUND, directory::find_exchange_group, filter, list_of, merge, position,
    validation,
};
use crate::{
    ip::check_ipv4_entry,
    tenant::{ExoObject, Tenant},
};

const RULE_ARGUMENT: &str = "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.ArgumentException";
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

pub(super) fn get_rules(t: &mut Tenant, b: &Bound) -> Answer {
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
    if let Some(policy) = b.str("DlpPolicy") {
        out.retain(|r| {
            r["DlpPolicy"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(policy))
        });
    }
    filter::apply(out, b.str("Filter"))
}

pub(super) fn new_rule(t: &mut Tenant, b: &Bound, now: DateTime<Utc>) -> Answer {
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
    merge(&mut props, b, &["Priority", "Enabled"]);
    let enabled = b.values.get("Enabled").and_then(Value::as_bool).unwrap_or(true);
    props.insert(
        "State".into(),
        json!(if enabled { "Enabled" } else { "Disabled" }),
    );
    check_size(&props)?;
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

pub(super) fn set_rule(t: &mut Tenant, b: &Bound, now: DateTime<Utc>) -> Answer {
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
    merge(&mut props, b, &["Identity", "Priority"]);
    props.retain(|_, v| !v.is_null());
    check_size(&props)?;
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

pub(super) fn remove_rule(t: &mut Tenant, b: &Bound) -> Answer {
    let id = b.str("Identity").unwrap_or_default().to_owned();
    let idx = position(&t.exchange.rules, &id)?;
    t.exchange.rules.remove(idx);
    Ok(Vec::new())
}

pub(super) fn switch_rule(t: &mut Tenant, b: &Bound, on: bool, now: DateTime<Utc>) -> Answer {
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
    // Enable-TransportRule -Mode: the rule goes live in that mode.
    if let Some(mode) = b.str("Mode") {
        r.props.insert("Mode".into(), json!(mode));
    }
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

/// The most characters a transport rule may hold ("the maximum number of characters is 8192").
pub(super) const MAX_RULE_CHARS: usize = 8192;

/// A rule's own settings, which are not part of its conditions, exceptions and actions.
const RULE_SETTINGS: &[&str] = &[
    "Name",
    "Comments",
    "Priority",
    "State",
    "Mode",
    "ActivationDate",
    "ExpiryDate",
    "RuleErrorAction",
    "RuleSubType",
    "SenderAddressLocation",
    "RecipientAddressType",
    "UseLegacyRegex",
    "DlpPolicy",
];

/// A rule's size, as the simulator measures it: over the stored values of its conditions,
/// exceptions and actions (every parameter but [`RULE_SETTINGS`]), each text value's characters,
/// each list entry's characters plus one separator, and a Boolean or number as its text
/// (`true`, `false`, `-1`). Exchange does not publish its measure: the limits page counts "the
/// characters used in the conditions, exceptions, and actions".
pub(super) fn rule_size(props: &Map<String, Value>) -> usize {
    fn chars(v: &Value) -> usize {
        match v {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.iter().map(|x| chars(x) + 1).sum(),
            Value::Null => 0,
            other => other.to_string().chars().count(),
        }
    }
    props
        .iter()
        .filter(|(k, _)| !RULE_SETTINGS.contains(&k.as_str()))
        .map(|(_, v)| chars(v))
        .sum()
}

/// Refuses a rule over [`MAX_RULE_CHARS`], with the support article's text. [inferred] The
/// exception type: the article gives only the message.
fn check_size(props: &Map<String, Value>) -> Result<(), ExoError> {
    let size = rule_size(props);
    if size <= MAX_RULE_CHARS {
        return Ok(());
    }
    Err(ExoError::new(
        400,
        RULE_ARGUMENT,
        format!(
            "The rule cannot be created because it is too large. It has {size} characters and the maximum number of characters is {MAX_RULE_CHARS}. Reduce the size."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_counts_conditions_and_actions_only() {
        let props = json!({
            "Name": "n".repeat(64), "Comments": "c".repeat(1024), "State": "Enabled",
            "RecipientDomainIs": ["a.com", "bb.com"], "SetSCL": -1, "StopRuleProcessing": true,
            "HeaderMatchesMessageHeader": "X-H",
        });
        let props = props.as_object().expect("object");
        assert_eq!(rule_size(props), (5 + 1) + (6 + 1) + 2 + 4 + 3);
        let mut big = props.clone();
        big.insert("SenderDomainIs".into(), json!(vec!["d".repeat(99); 82]));
        assert_eq!(rule_size(&big), 22 + 82 * 100);
        assert!(
            check_size(&big)
                .unwrap_err()
                .message
                .contains("maximum number of characters is 8192")
        );
    }
}
