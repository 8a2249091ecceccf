//! The six transport rules: created disabled, enabled as the very last step, so mail is rerouted
//! only once connectors, groups and allow lists are all in place.

use std::collections::BTreeSet;

use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin, ExchangeError, ensure, find},
    fields::{named, same_set, strings, text},
};
use model::{policy::PolicyTargets, vendor::ManagedNames};
use serde_json::Value;
use state::store::ResourceKind;

use super::comment;
use crate::{
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
};

/// The domains the new domain rules cover: the tenant's explicit ones, or every accepted domain.
async fn rule_domains(
    ctx: &StepContext<'_>,
    exchange: &impl ExchangeAdmin,
) -> Result<Vec<String>, StepError> {
    if let Some(domains) = &ctx.tenant.policy_targets.domains {
        return Ok(domains.clone());
    }
    let accepted = exchange.invoke(&Cmdlet::new("Get-AcceptedDomain")).await?;
    Ok(accepted_domains(&accepted))
}

/// The smtp address of a recorded virtual group.
async fn group_address(ctx: &StepContext<'_>, name: &str) -> Result<String, StepError> {
    let record = ctx.recorded(ResourceKind::Group, name).await?;
    record
        .and_then(|r| r.details.get("mail").cloned().filter(|m| !m.is_empty()))
        .ok_or_else(|| StepError::Failed(format!("group {name} has no recorded mail address")))
}

/// Creates the six rules, disabled, where missing, and records them.
pub async fn create_rules(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let (n, v) = (ctx.names, ctx.vendor);
    let domains = rule_domains(ctx, &exchange).await?;
    let incoming_group = group_address(ctx, &n.incoming_group).await?;
    let outgoing_group = group_address(ctx, &n.outgoing_group).await?;
    let egress = v.egress_ips.clone();
    let rule = |name: &str| {
        Cmdlet::new("New-TransportRule")
            .param("Name", name)
            .param("Enabled", false)
            .param("Mode", "Enforce")
            .param("Comments", comment(ctx))
    };
    // Routing rules never reroute mail the vendor already scanned (it comes from its IPs).
    let route = |name: &str, connector: &str| {
        rule(name)
            .param("RouteMessageOutboundConnector", connector)
            .param("ExceptIfSenderIpRanges", egress.clone())
            .param("StopRuleProcessing", true)
    };
    let mut rules = Vec::new();
    if domains.is_empty() {
        tracing::warn!(tenant = %ctx.tenant.tenant_id, "no protected domains: the domain rules are not created");
    } else {
        rules.push(
            route(&n.rule_incoming_domain, &n.outbound_incoming)
                .param("FromScope", "NotInOrganization")
                .param("RecipientDomainIs", domains.clone()),
        );
    }
    rules.push(
        route(&n.rule_incoming_user, &n.outbound_incoming)
            .param("FromScope", "NotInOrganization")
            .param("SentToMemberOf", vec![incoming_group]),
    );
    if !domains.is_empty() {
        rules.push(
            route(&n.rule_outgoing_domain, &n.outbound_outgoing)
                .param("FromScope", "InOrganization")
                .param("SentToScope", "NotInOrganization")
                .param("SenderDomainIs", domains.clone()),
        );
    }
    rules.push(
        route(&n.rule_outgoing_user, &n.outbound_outgoing)
            .param("SentToScope", "NotInOrganization")
            .param("FromMemberOf", vec![outgoing_group]),
    );
    rules.push(
        rule(&n.rule_skip_spam)
            .param("SenderIpRanges", egress.clone())
            .param("SetSCL", "-1"),
    );
    rules.push(
        rule(&n.rule_junk)
            .param("HeaderMatchesMessageHeader", v.verdict_header.name.as_str())
            .param("HeaderMatchesPatterns", vec![v.verdict_header.junk_value.clone()])
            .param("SetSCL", "6"),
    );
    let mut created = 0;
    for new in &rules {
        let name = new
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (object, made) = ensure(&exchange, "TransportRule", &name, new).await?;
        created += usize::from(made);
        ctx.record(ResourceKind::TransportRule, &name, text(&object, "Guid"), &[])
            .await?;
    }
    Ok(Outcome::Done(Some(format!(
        "{created} of {} rules created (disabled)",
        rules.len()
    ))))
}

/// Enables every recorded rule that is disabled: inbound routing first, then outbound.
pub async fn enable_rules(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let mut enabled = 0;
    for name in ctx.names.rules() {
        if ctx.recorded(ResourceKind::TransportRule, name).await?.is_none() {
            continue;
        }
        let rule = find(&exchange, "TransportRule", name)
            .await?
            .ok_or_else(|| StepError::Failed(format!("rule {name} disappeared before it was enabled")))?;
        let state = text(&rule, "State").unwrap_or_default();
        if !state.eq_ignore_ascii_case("Enabled") {
            exchange
                .invoke(&Cmdlet::new("Enable-TransportRule").param("Identity", name))
                .await?;
            enabled += 1;
        }
    }
    Ok(Outcome::Done(Some(format!("{enabled} rule(s) enabled"))))
}

/// The calls of [`create_rules`].
pub fn create_rules_calls(_: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedCall> {
    PlannedCall::look_then_write(
        "exchange",
        "Get-TransportRule",
        "New-TransportRule (Enabled: false)",
        &names.rules(),
    )
}

/// The calls of [`enable_rules`].
pub fn enable_rules_calls(_: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedCall> {
    PlannedCall::look_then_write(
        "exchange",
        "Get-TransportRule",
        "Enable-TransportRule",
        &names.rules(),
    )
}

/// Accepted domain names from `Get-AcceptedDomain`, lower-case and sorted.
pub fn accepted_domains(objects: &[Value]) -> Vec<String> {
    let domains: BTreeSet<String> = objects
        .iter()
        .filter_map(|d| text(d, "DomainName"))
        .map(str::to_ascii_lowercase)
        .collect();
    domains.into_iter().collect()
}

/// The domains the domain rules must cover: the policy's explicit list (never grown by a
/// sync), or every accepted domain when the policy covers all. Rules may only name accepted
/// domains, so an explicit domain that is not accepted is left out.
pub fn protected_domains(policy: &PolicyTargets, accepted: &[String]) -> Vec<String> {
    let mut domains: Vec<String> = match &policy.domains {
        Some(explicit) => explicit
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .filter(|d| accepted.is_empty() || accepted.contains(d))
            .collect(),
        None => accepted.to_vec(),
    };
    domains.sort();
    domains.dedup();
    domains
}

/// Sets the domain rules' conditions to `desired` where they differ; returns the rules set.
/// An empty list is never sent (a rule with an empty condition would match nothing or be
/// refused): the rule is left as it is and the gap is logged.
pub async fn update_domain_rules(
    exchange: &impl ExchangeAdmin,
    rules: &[Value],
    names: &ManagedNames,
    desired: &[String],
) -> Result<Vec<String>, ExchangeError> {
    let mut updated = Vec::new();
    for (name, field) in [
        (&names.rule_incoming_domain, "RecipientDomainIs"),
        (&names.rule_outgoing_domain, "SenderDomainIs"),
    ] {
        let Some(rule) = named(rules, name) else {
            continue;
        };
        let current = strings(rule, field);
        if same_set(&current, desired) {
            continue;
        }
        if desired.is_empty() {
            tracing::warn!(rule = %name, "no protected domain is accepted: the rule's domains are left as they are");
            continue;
        }
        exchange
            .invoke(
                &Cmdlet::new("Set-TransportRule")
                    .param("Identity", name.as_str())
                    .param(field, desired.to_vec()),
            )
            .await?;
        tracing::info!(rule = %name, domains = ?desired, "rule domain condition updated");
        updated.push(name.clone());
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_lists_never_grow_and_all_means_accepted() {
        let accepted = vec!["a.com".to_owned(), "b.com".to_owned()];
        let all = PolicyTargets::default();
        assert_eq!(protected_domains(&all, &accepted), accepted);
        let explicit = PolicyTargets {
            domains: Some(vec!["A.com".into(), "gone.com".into()]),
            ..PolicyTargets::default()
        };
        assert_eq!(protected_domains(&explicit, &accepted), vec!["a.com"]);
    }
}
