//! Policy-target updates: the virtual groups' members and the domain rules' conditions follow
//! the tenant's new targets. A task with two steps on the shared step machine: resumable,
//! idempotent, and recorded like provisioning.

use std::time::SystemTime;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use microsoft::exchange::{Cmdlet, ExchangeAdmin};

use model::{
    event::{self, EventError},
    policy::PolicyTargetsInput,
    task::{TaskId, TaskKind},
    tenant::{LifecycleState, TenantId},
};

use state::store::{StepRecord, StoreError, TaskRecord};

use crate::{
    provisioning::{
        ProvisionError, Provisioner,
        context::StepContext,
        error::StepError,
        steps::{Outcome, groups::apply_members},
    },
    sync::{domains::protected_domains, worker::update_domain_rules},
    view::TaskView,
};

/// The steps, in order.
pub const STEPS: [&str; 2] = ["update_group_members", "update_rule_domains"];

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

impl Provisioner {
    /// Handles any event `policy-targets` receives: a request, or `{"task_id"}` to continue now.
    pub async fn update_policy_targets(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<TaskView, ProvisionError> {
        let deadline = deadline.filter(|d| *d > SystemTime::now());
        if event.get("task_id").is_some() {
            let crate::provisioning::Continue { task_id } = event::from_value(event)?;
            return Box::pin(self.run(task_id, deadline, true)).await;
        }
        let request = PolicyTargetsRequest::parse(event)?;
        let task_id = self.begin_policy_update(&request).await?;
        Box::pin(self.run(task_id, deadline, false)).await
    }

    /// Stores the new targets on the tenant and creates the task, in one transaction.
    async fn begin_policy_update(&self, request: &PolicyTargetsRequest) -> Result<TaskId, ProvisionError> {
        let raw = serde_json::to_value(request).unwrap_or(Value::Null);
        for _ in 0..5 {
            let Some(mut tenant) = self.store.tenant(request.tenant_id).await? else {
                return Err(ProvisionError::UnknownTenant(request.tenant_id.to_string()));
            };
            if tenant.state != LifecycleState::Active {
                return Err(ProvisionError::WrongState {
                    tenant: tenant.tenant_id.to_string(),
                    state: tenant.state,
                    hint: "policy targets change only for active tenants (re-consent or provision first)",
                });
            }
            let mut task = TaskRecord::new(request.tenant_id, TaskKind::PolicyTargets, raw.clone());
            let mut steps: Vec<StepRecord> = STEPS
                .iter()
                .enumerate()
                .map(|(order, name)| StepRecord::new(task.task_id, None, order as u16, *name))
                .collect();
            tenant.policy_targets = request.policy_targets.to_record();
            tenant.updated_at = Utc::now();
            match self.open_task(&mut tenant, &mut task, &mut steps).await {
                Ok(()) => return Ok(task.task_id),
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(ProvisionError::Store(StoreError::Conflict {
            entity: "tenant",
            key: request.tenant_id.to_string(),
            expected_version: 0,
        }))
    }
}

/// Runs the step named `name`.
pub async fn run(name: String, ctx: &StepContext<'_, PolicyTargetsRequest>) -> Result<Outcome, StepError> {
    match name.as_str() {
        "update_group_members" => {
            let (wanted, added, removed) = apply_members(ctx, &ctx.request.policy_targets).await?;
            Ok(Outcome::Done(Some(format!(
                "{wanted} protected user(s); {added} membership(s) added, {removed} removed"
            ))))
        }
        "update_rule_domains" => {
            let exchange = ctx.ms.exchange(ctx.tenant).await?;
            let accepted: Vec<String> = exchange
                .invoke(&Cmdlet::new("Get-AcceptedDomain"))
                .await?
                .iter()
                .filter_map(|d| d["DomainName"].as_str().map(str::to_ascii_lowercase))
                .collect();
            let desired = protected_domains(&ctx.request.policy_targets.to_record(), &accepted);
            let rules = exchange.invoke(&Cmdlet::new("Get-TransportRule")).await?;
            let updated = update_domain_rules(&exchange, &rules, ctx.names, &desired)
                .await
                .map_err(|err| StepError::Failed(err.to_string()))?;
            Ok(Outcome::Done(Some(match updated.is_empty() {
                true => format!("domain rules already cover {}", desired.join(", ")),
                false => format!("{} now cover {}", updated.join(" and "), desired.join(", ")),
            })))
        }
        other => Err(StepError::Failed(format!(
            "{other:?} is not a policy-target step"
        ))),
    }
}
