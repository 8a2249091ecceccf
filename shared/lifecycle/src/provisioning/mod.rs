//! Provisioning of a tenant, as a kind of task ([`Provisioning`]).
//!
//! A request moves the tenant to `provisioning` (creating its record when new) and opens a task
//! whose steps ([`ProvisionStep`], in order) put the vendor's objects in place: the Exchange
//! Administrator role, the virtual groups, connectors, transport rules created disabled, the
//! allow lists, and last the rules switched on. SharePoint Online and OneDrive are services of
//! their own whose steps prove their grants. When the task ends the tenant becomes `active`
//! (Exchange Online done), `needs_reconsent` or `failed`. A dry run returns the plan of calls.

pub mod request;
mod step;
mod steps;

use model::{
    service::{Service, ServiceState},
    task::{StepErrorKind, StepStatus, TaskKind},
    tenant::{LifecycleState, TenantId},
    vendor::ManagedNames,
};
use serde::Serialize;
use state::store::{StepRecord, TenantRecord};

pub use self::{
    request::{Options, ProvisionRequest},
    step::ProvisionStep,
    steps::{
        connectors::{WantedConnector, wanted_connectors},
        groups::{ResolvedUsers, resolve_users, set_group_members},
        rules::{
            DomainRules, accepted_domains, create_rules, enable_rules, protected_domains, update_domain_rules,
        },
        tenant::verified_domains,
    },
};
use crate::tasks::{
    Admission, Engine, PlannedCall, Step, TaskError, TaskPlan, attention_of, scope_name, service_states,
};

/// Provisioning as a kind of task.
pub struct Provisioning;

impl TaskPlan for Provisioning {
    const KIND: TaskKind = TaskKind::Provision;
    type Request = ProvisionRequest;
    type Step = ProvisionStep;

    fn parse(value: serde_json::Value) -> Result<ProvisionRequest, model::event::EventError> {
        ProvisionRequest::parse(value)
    }

    fn tenant_id(request: &ProvisionRequest) -> TenantId {
        request.tenant_id
    }

    /// Tenant-wide steps first, then each requested service's.
    fn steps(request: &ProvisionRequest) -> Vec<ProvisionStep> {
        ProvisionStep::wanted_by(request)
            .into_iter()
            .filter(|step| step.service().is_none_or(|s| request.services.contains(&s)))
            .collect()
    }

    /// Joins the running (or finished) provisioning; refuses while deprovisioning; otherwise
    /// (re)provisions, bringing back a token secret a full deprovision scheduled for deletion.
    async fn admit(
        engine: &Engine,
        request: &ProvisionRequest,
        existing: Option<TenantRecord>,
    ) -> Result<Admission, TaskError> {
        let invalid_cloud = |reason: String| {
            TaskError::Input(model::event::EventError::Invalid {
                field: "cloud".to_owned(),
                reason,
            })
        };
        // A credential goes only to its own cloud's login host, and a tenant lives in one cloud.
        if !engine.ms.tokens.vault().has_app_credentials(request.cloud) {
            return Err(invalid_cloud(format!(
                "this deployment has no app registration for the {} cloud (each national cloud has its own): set APP_SECRET_ID_{}",
                request.cloud,
                request.cloud.to_string().to_uppercase()
            )));
        }
        if let Some(tenant) = existing.as_ref().filter(|t| t.cloud != request.cloud) {
            return Err(invalid_cloud(format!(
                "tenant {} is in the {} cloud; a tenant's cloud cannot change",
                tenant.tenant_id, tenant.cloud
            )));
        }
        let mut tenant = match existing {
            None => TenantRecord::new(
                request.tenant_id,
                request.site,
                request.services.clone(),
                LifecycleState::Provisioning,
            ),
            Some(tenant) => match tenant.state {
                // Join the running task, or answer with the finished one: nothing changes.
                LifecycleState::Provisioning | LifecycleState::Active => match tenant.current_task_id {
                    Some(task_id) => return Ok(Admission::Join(task_id)),
                    None => tenant,
                },
                LifecycleState::Deprovisioning => {
                    return Err(TaskError::WrongState {
                        tenant: tenant.tenant_id.to_string(),
                        state: tenant.state,
                        hint: "wait for deprovisioning to finish, then provision again",
                    });
                }
                LifecycleState::Deprovisioned | LifecycleState::Failed | LifecycleState::NeedsReconsent => {
                    // The token secret may be scheduled for deletion by a deprovisioning.
                    engine.restore_token_secret(tenant.tenant_id).await?;
                    tenant
                }
            },
        };
        tenant.state = LifecycleState::Provisioning;
        tenant.site = request.site;
        tenant.cloud = request.cloud;
        tenant.services = request.services.clone();
        tenant.policy_targets = request.policy_targets.to_record();
        tenant.attention = None;
        Ok(Admission::lead(tenant))
    }

    /// `active` once Exchange Online (and the tenant-wide steps) succeeded; `needs_reconsent`
    /// if a grant is gone; `failed` otherwise. What failed becomes the tenant's `attention`.
    async fn finish(
        engine: &Engine,
        tenant: &TenantRecord,
        steps: &[StepRecord],
        _request: &ProvisionRequest,
    ) -> Result<Vec<String>, TaskError> {
        let exchange_ok = steps
            .iter()
            .filter(|s| s.service.is_none() || s.service == Some(Service::ExchangeOnline))
            .all(|s| s.status == StepStatus::Succeeded);
        let reconsent = steps.iter().any(|s| {
            s.status != StepStatus::Succeeded && s.error_kind == Some(StepErrorKind::NeedsReconsent)
        });
        let state = match (reconsent, exchange_ok) {
            (true, _) => LifecycleState::NeedsReconsent,
            (false, true) => LifecycleState::Active,
            (false, false) => LifecycleState::Failed,
        };
        engine
            .move_tenant(
                tenant,
                LifecycleState::Provisioning,
                state,
                attention_of(steps),
                service_states(&tenant.services, steps, ServiceState::Provisioned),
            )
            .await?;
        Ok(Vec::new())
    }
}

/// A dry run: what would be called, in order. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Always true.
    pub dry_run: bool,
    /// The steps and their calls.
    pub plan: Vec<PlannedStep>,
}

/// A step with its calls, for the `dry_run` plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// The service, or `tenant`.
    pub service: &'static str,
    /// The step.
    pub step: &'static str,
    /// Its calls in order.
    pub calls: Vec<PlannedCall>,
}

/// The full ordered plan of calls for `request`; nothing is called.
pub fn dry_run(request: &ProvisionRequest, names: &ManagedNames) -> DryRun {
    let plan = Provisioning::steps(request)
        .into_iter()
        .map(|step| PlannedStep {
            service: scope_name(step.service()),
            step: step.name(),
            calls: (step.declaration().calls)(request, names),
        })
        .collect();
    DryRun {
        tenant_id: request.tenant_id,
        dry_run: true,
        plan,
    }
}
