//! The six transport rules: created disabled, enabled as the very last step, so mail is rerouted
//! only once connectors, groups and allow lists are all in place.
//!
//! Exchange refuses a rule over 8 KB, so a domain rule whose domains do not fit is split into
//! parts ("... Domain Transport Rule", "... 2", "... 3"), each routing its share of the domains
//! the same way; the sync and policy targets reshape the parts when the domains change.

use std::collections::BTreeSet;

use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin, ExchangeError, ensure, find, remove},
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

/// The most characters one rule's domain list may hold, each domain counted with a separator:
/// half of Exchange's 8,192, which leaves room for the rule's other conditions and actions and
/// for however Exchange counts them.
pub const DOMAIN_LIST_BUDGET: usize = 4096;

/// `domains` in parts that each fit [`DOMAIN_LIST_BUDGET`], in order; none for no domains.
pub fn domain_parts(domains: &[String]) -> Vec<Vec<String>> {
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut used = 0;
    for domain in domains {
        let cost = domain.len() + 1;
        match parts.last_mut() {
            Some(part) if used + cost <= DOMAIN_LIST_BUDGET => part.push(domain.clone()),
            _ => {
                parts.push(vec![domain.clone()]);
                used = 0;
            }
        }
        used += cost;
    }
    parts
}

/// Creates the six rules (a domain rule in as many parts as its domains need), disabled,
/// where missing; sets a present domain part's domains where they differ; removes parts no
/// longer needed; records what it made.
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
    let parts = domain_parts(&domains);
    if parts.is_empty() {
        tracing::warn!(tenant = %ctx.tenant.tenant_id, "no protected domains: the domain rules are not created");
    }
    let mut rules = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        rules.push(
            route(
                &ManagedNames::rule_part(&n.rule_incoming_domain, index),
                &n.outbound_incoming,
            )
            .param("FromScope", "NotInOrganization")
            .param("RecipientDomainIs", part.clone()),
        );
    }
    rules.push(
        route(&n.rule_incoming_user, &n.outbound_incoming)
            .param("FromScope", "NotInOrganization")
            .param("SentToMemberOf", vec![incoming_group]),
    );
    for (index, part) in parts.iter().enumerate() {
        rules.push(
            route(
                &ManagedNames::rule_part(&n.rule_outgoing_domain, index),
                &n.outbound_outgoing,
            )
            .param("FromScope", "InOrganization")
            .param("SentToScope", "NotInOrganization")
            .param("SenderDomainIs", part.clone()),
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
        // A domain part made before with other domains: set to its share now.
        for field in DOMAIN_FIELDS {
            if let Some(Value::Array(want)) = new.get(field)
                && !made
            {
                let want: Vec<String> = want
                    .iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect();
                if !same_set(&strings(&object, field), &want) {
                    exchange
                        .invoke(
                            &Cmdlet::new("Set-TransportRule")
                                .param("Identity", name.as_str())
                                .param(field, want),
                        )
                        .await?;
                }
            }
        }
    }
    let surplus = surplus_parts(ctx, parts.len()).await?;
    for name in &surplus {
        remove(&exchange, "TransportRule", name).await?;
        ctx.forget(ResourceKind::TransportRule, name).await?;
    }
    let mut note = format!("{created} of {} rules created (disabled)", rules.len());
    if !surplus.is_empty() {
        note.push_str(&format!(
            "; domain rule parts no longer needed removed: {}",
            surplus.join(", ")
        ));
    }
    Ok(Outcome::Done(Some(note)))
}

/// The domain conditions of the domain rules.
const DOMAIN_FIELDS: [&str; 2] = ["RecipientDomainIs", "SenderDomainIs"];

/// Our recorded transport rules, in the order they are enabled: each of the six, a domain
/// rule followed by its further parts.
async fn recorded_rules(ctx: &StepContext<'_>) -> Result<Vec<String>, StepError> {
    let recorded: Vec<String> = ctx
        .store
        .resources(ctx.tenant.tenant_id)
        .await?
        .into_iter()
        .filter(|r| r.kind == ResourceKind::TransportRule)
        .map(|r| r.key)
        .collect();
    let mut ordered = Vec::new();
    for name in ctx.names.rules() {
        let mut of_this: Vec<(usize, &String)> = recorded
            .iter()
            .filter_map(|r| match ctx.names.domain_rule_of(r) {
                Some((base, index)) if base == name => Some((index, r)),
                _ if r.eq_ignore_ascii_case(name) => Some((0, r)),
                _ => None,
            })
            .collect();
        of_this.sort();
        ordered.extend(of_this.into_iter().map(|(_, r)| r.clone()));
    }
    Ok(ordered)
}

/// Recorded domain-rule parts beyond the `needed` ones of each domain rule.
async fn surplus_parts(ctx: &StepContext<'_>, needed: usize) -> Result<Vec<String>, StepError> {
    Ok(recorded_rules(ctx)
        .await?
        .into_iter()
        .filter(|name| {
            ctx.names
                .domain_rule_of(name)
                .is_some_and(|(_, index)| index >= needed)
        })
        .collect())
}

/// Enables every recorded rule that is disabled: inbound routing first, then outbound.
pub async fn enable_rules(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let mut enabled = 0;
    for name in recorded_rules(ctx).await? {
        let name = name.as_str();
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

/// What [`update_domain_rules`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainRules {
    /// The rules (or parts) whose domains were set.
    pub updated: Vec<String>,
    /// The domains now need more or fewer parts than the tenant has: the caller runs
    /// [`create_rules`] and [`enable_rules`] again, which reshape them.
    pub reshape: bool,
}

/// Sets the domain rules' conditions to `desired` where they differ, part by part, when the
/// parts present are the parts `desired` needs; otherwise says the rules must be reshaped.
/// An empty list is never sent (a rule with an empty condition would match nothing or be
/// refused): the rules are left as they are and the gap is logged.
pub async fn update_domain_rules(
    exchange: &impl ExchangeAdmin,
    rules: &[Value],
    names: &ManagedNames,
    desired: &[String],
) -> Result<DomainRules, ExchangeError> {
    let mut result = DomainRules::default();
    if desired.is_empty() {
        tracing::warn!("no protected domain is accepted: the domain rules are left as they are");
        return Ok(result);
    }
    let parts = domain_parts(desired);
    for (base, field) in [
        (&names.rule_incoming_domain, DOMAIN_FIELDS[0]),
        (&names.rule_outgoing_domain, DOMAIN_FIELDS[1]),
    ] {
        let present = rules
            .iter()
            .filter_map(|r| text(r, "Name"))
            .filter(|name| {
                names
                    .domain_rule_of(name)
                    .is_some_and(|(of, _)| of == base.as_str())
            })
            .count();
        if present == 0 {
            continue;
        }
        if present != parts.len() {
            result.reshape = true;
            continue;
        }
        for (index, part) in parts.iter().enumerate() {
            let name = ManagedNames::rule_part(base, index);
            let Some(rule) = named(rules, &name) else {
                result.reshape = true;
                continue;
            };
            if same_set(&strings(rule, field), part) {
                continue;
            }
            exchange
                .invoke(
                    &Cmdlet::new("Set-TransportRule")
                        .param("Identity", name.as_str())
                        .param(field, part.clone()),
                )
                .await?;
            tracing::info!(rule = %name, domains = part.len(), "rule domain condition updated");
            result.updated.push(name);
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_split_into_parts_that_fit_a_rule() {
        assert!(domain_parts(&[]).is_empty());
        let few: Vec<String> = vec!["a.com".into(), "b.com".into()];
        assert_eq!(domain_parts(&few), vec![few.clone()]);
        let many: Vec<String> = (0..500)
            .map(|n| format!("customer-domain-{n:03}.example"))
            .collect();
        let parts = domain_parts(&many);
        assert!(parts.len() >= 3, "{}", parts.len());
        for part in &parts {
            let size: usize = part.iter().map(|d| d.len() + 1).sum();
            assert!(size <= DOMAIN_LIST_BUDGET, "{size}");
        }
        assert_eq!(parts.concat(), many, "every domain once, in order");
    }

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
