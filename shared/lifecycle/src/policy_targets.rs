//! Policy-target updates, as a kind of task ([`PolicyTargetsUpdate`]): the virtual groups'
//! members and the domain rules' conditions follow the tenant's new targets. The targets are
//! stored on the tenant when the task opens; its two steps read them from there.

use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin},
    graph::BatchRequest,
};
use model::{
    event::{self, EventError},
    policy::PolicyTargetsInput,
    task::TaskKind,
    tenant::{LifecycleState, TenantId},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use state::store::{StepRecord, TenantRecord};
use strum::{EnumIter, IntoStaticStr};

use crate::{
    provisioning::{
        accepted_domains, create_rules, enable_rules, protected_domains, resolve_users, set_group_members,
        update_domain_rules, verified_domains,
    },
    sync::SyncState,
    tasks::{Admission, Declaration, Engine, Outcome, Step, StepContext, StepError, TaskError, TaskPlan},
};

/// A request to change what the protection covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTargetsRequest {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The new targets (they replace the old ones).
    pub policy_targets: PolicyTargetsInput,
}

impl PolicyTargetsRequest {
    /// Parses and checks a request; errors name the field.
    pub fn parse(value: Value) -> Result<Self, EventError> {
        let request: Self = event::from_value(value)?;
        request.policy_targets.check("policy_targets")?;
        Ok(request)
    }
}

/// A policy-target update as a kind of task.
pub struct PolicyTargetsUpdate;

impl TaskPlan for PolicyTargetsUpdate {
    const KIND: TaskKind = TaskKind::PolicyTargets;
    type Request = PolicyTargetsRequest;
    type Step = PolicyTargetStep;

    fn parse(value: Value) -> Result<PolicyTargetsRequest, EventError> {
        PolicyTargetsRequest::parse(value)
    }

    fn tenant_id(request: &PolicyTargetsRequest) -> TenantId {
        request.tenant_id
    }

    /// Only `active` tenants take new targets, and only targets the tenant's directory knows (an
    /// unknown user, group or domain refuses the request, naming it); they are stored with the
    /// task, which does not become the tenant's current task (its lifecycle does not move).
    async fn admit(
        engine: &Engine,
        request: &PolicyTargetsRequest,
        existing: Option<TenantRecord>,
    ) -> Result<Admission, TaskError> {
        let Some(mut tenant) = existing else {
            return Err(TaskError::UnknownTenant(request.tenant_id.to_string()));
        };
        if tenant.state != LifecycleState::Active {
            return Err(TaskError::WrongState {
                tenant: tenant.tenant_id.to_string(),
                state: tenant.state,
                hint: "policy targets change only for active tenants (re-consent or provision first)",
            });
        }
        SyncState::refuse_while_syncing(&engine.store, tenant.tenant_id).await?;
        check_against_directory(engine, &tenant, &request.policy_targets).await?;
        tenant.policy_targets = request.policy_targets.to_record();
        Ok(Admission::Open {
            tenant: Box::new(tenant),
            current: false,
        })
    }

    /// The lifecycle does not move.
    async fn finish(
        _: &Engine,
        _: &TenantRecord,
        _: &[StepRecord],
        _: &PolicyTargetsRequest,
    ) -> Result<Vec<String>, TaskError> {
        Ok(Vec::new())
    }
}

/// Refuses, naming the field, targets the tenant does not have: a user found neither by
/// principal name nor by mail address (or an address several users share), a group that does not
/// exist, a domain that is not one of its verified domains. Reads only.
async fn check_against_directory(
    engine: &Engine,
    tenant: &TenantRecord,
    targets: &PolicyTargetsInput,
) -> Result<(), TaskError> {
    let graph = engine
        .ms
        .graph(tenant)
        .await
        .map_err(|err| TaskError::Lookup(Box::new(err.into())))?;
    let users = resolve_users(&graph, targets.users.iter().map(|u| u.as_str()))
        .await
        .map_err(|err| TaskError::Lookup(Box::new(err)))?;
    let unknown = |field: &str, index: usize, reason: String| {
        TaskError::Input(EventError::Invalid {
            field: format!("policy_targets.{field}[{index}]"),
            reason,
        })
    };
    let position = |name: &str| targets.users.iter().position(|u| u.as_str() == name).unwrap_or(0);
    if let Some(first) = users.missing.first().or(users.ambiguous.first()) {
        let index = position(first);
        let problem = users.ids().err().unwrap_or_default();
        return Err(unknown("users", index, format!("{problem}; nothing was changed")));
    }
    if !targets.groups.is_empty() {
        let requests: Vec<BatchRequest> = targets
            .groups
            .iter()
            .enumerate()
            .map(|(i, group)| {
                BatchRequest::new(
                    i.to_string(),
                    "GET",
                    format!("/groups/{}?$select=id", group.as_str()),
                )
            })
            .collect();
        let answers = graph
            .batch(&requests)
            .await
            .map_err(|err| TaskError::Lookup(Box::new(err.into())))?;
        for (index, (request, answer)) in requests.iter().zip(answers).enumerate() {
            match answer.error("GET", &request.url) {
                None => {}
                Some(err) if err.is_not_found() => {
                    return Err(unknown(
                        "groups",
                        index,
                        format!(
                            "no group {} in the tenant; nothing was changed",
                            targets.groups[index].as_str()
                        ),
                    ));
                }
                Some(err) => return Err(TaskError::Lookup(Box::new(err.into()))),
            }
        }
    }
    if let Some(domains) = targets.domains.as_ref().filter(|d| !d.is_empty()) {
        let verified = verified_domains(&graph)
            .await
            .map_err(|err| TaskError::Lookup(Box::new(err.into())))?;
        if let Some(index) = domains
            .iter()
            .position(|d| !verified.contains(&d.as_str().to_ascii_lowercase()))
        {
            return Err(unknown(
                "domains",
                index,
                format!(
                    "{} is not a verified domain of the tenant ({}); nothing was changed",
                    domains[index].as_str(),
                    verified.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// One step of a policy-target update, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PolicyTargetStep {
    /// Both virtual groups hold exactly the targeted users.
    UpdateGroupMembers,
    /// The domain rules cover the targeted (or all accepted) domains.
    UpdateRuleDomains,
}

impl Step for PolicyTargetStep {
    type Request = PolicyTargetsRequest;

    fn declaration(self) -> Declaration<PolicyTargetsRequest> {
        match self {
            Self::UpdateGroupMembers => Declaration::alone(|ctx| Box::pin(set_group_members(ctx))),
            Self::UpdateRuleDomains => Declaration::alone(|ctx| Box::pin(update_rule_domains(ctx))),
        }
    }
}

/// Sets the domain rules' conditions to the targeted (or all accepted) domains where they differ.
async fn update_rule_domains(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let accepted = accepted_domains(&exchange.invoke(&Cmdlet::new("Get-AcceptedDomain")).await?);
    let desired = protected_domains(&ctx.tenant.policy_targets, &accepted);
    let rules = exchange.invoke(&Cmdlet::new("Get-TransportRule")).await?;
    let domain_rules = update_domain_rules(&exchange, &rules, ctx.names, &desired)
        .await
        .map_err(|err| StepError::Failed(err.to_string()))?;
    if domain_rules.reshape {
        // More or fewer parts: provisioning's own steps make, set and enable them.
        create_rules(ctx).await?;
        enable_rules(ctx).await?;
        return Ok(Outcome::Done(Some(format!(
            "domain rules reshaped to cover {} domain(s)",
            desired.len()
        ))));
    }
    let updated = domain_rules.updated;
    Ok(Outcome::Done(Some(match updated.is_empty() {
        true => format!("domain rules already cover {}", desired.join(", ")),
        false => format!("{} now cover {}", updated.join(" and "), desired.join(", ")),
    })))
}
