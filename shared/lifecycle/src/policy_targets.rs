//! Policy-target updates, as a kind of task ([`PolicyTargetsUpdate`]): the virtual groups'
//! members and the domain rules' conditions follow the tenant's new targets. The targets are
//! stored on the tenant when the task opens; its two steps read them from there.

use microsoft::exchange::{Cmdlet, ExchangeAdmin};
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
        accepted_domains, create_rules, enable_rules, protected_domains, set_group_members,
        update_domain_rules,
    },
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

    /// Only `active` tenants take new targets; they are stored with the task, which does not
    /// become the tenant's current task (its lifecycle does not move).
    async fn admit(
        _: &Engine,
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
        tenant.policy_targets = request.policy_targets.to_record();
        Ok(Admission::Open {
            tenant,
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
