//! What operators see: the task view (per service and per step) and the tenant view.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use model::{
    cloud::Cloud,
    policy::PolicyTargets,
    service::{Service, ServiceStatus},
    sites::Site,
    task::{StepStatus, TaskId, TaskKind, TaskStatus},
    tenant::{LifecycleState, TenantId},
};
use serde::Serialize;
use state::store::{ResourceRecord, StepRecord, TaskRecord, TaskWithSteps, TenantRecord};

/// A task as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    /// The task.
    pub task_id: TaskId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// What it does.
    pub kind: TaskKind,
    /// Where it stands overall.
    pub status: TaskStatus,
    /// The error that stopped it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Per service (and `tenant` for tenant-wide steps): status and steps.
    pub services: BTreeMap<String, ServiceView>,
    /// What is left for a human to remove (standard deprovisioning), each naming the object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_cleanup: Vec<String>,
}

/// One service within a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    /// The service's status, derived from its steps.
    pub status: TaskStatus,
    /// Its steps in order.
    pub steps: Vec<StepView>,
}

/// One step within a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
    /// The step's name.
    pub name: String,
    /// Where it stands.
    pub status: StepStatus,
    /// How often it was started.
    pub attempts: u32,
    /// The last error it met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What kind of problem the last error is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<model::task::StepErrorKind>,
    /// What it found or did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// While waiting: when it looks again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// When it last changed.
    pub changed_at: DateTime<Utc>,
}

/// The overall status of a group of steps.
pub fn status_of<'a>(steps: impl IntoIterator<Item = &'a StepRecord>) -> TaskStatus {
    let statuses: Vec<StepStatus> = steps.into_iter().map(|s| s.status).collect();
    if statuses.contains(&StepStatus::Failed) {
        TaskStatus::Failed
    } else if statuses.contains(&StepStatus::Running) {
        TaskStatus::Running
    } else if statuses.contains(&StepStatus::Waiting) {
        TaskStatus::Waiting
    } else if statuses.iter().all(|s| s.is_finished()) {
        TaskStatus::Succeeded
    } else if statuses.iter().any(|s| s.is_finished()) {
        TaskStatus::Running
    } else {
        TaskStatus::Pending
    }
}

/// The service key of a step in views.
pub fn scope_name(service: Option<Service>) -> &'static str {
    service.map_or("tenant", Service::code)
}

impl TaskView {
    /// The view of a task and its steps.
    pub fn new(task: &TaskRecord, steps: &[StepRecord]) -> Self {
        let mut services: BTreeMap<String, Vec<&StepRecord>> = BTreeMap::new();
        for step in steps {
            services
                .entry(scope_name(step.service).to_owned())
                .or_default()
                .push(step);
        }
        let services = services
            .into_iter()
            .map(|(name, steps)| {
                let view = ServiceView {
                    status: status_of(steps.iter().copied()),
                    steps: steps
                        .iter()
                        .map(|s| StepView {
                            name: s.name.clone(),
                            status: s.status,
                            attempts: s.attempts,
                            last_error: s.last_error.clone(),
                            error_kind: s.error_kind,
                            outcome: s.outcome.clone(),
                            not_before: s.not_before,
                            changed_at: s.updated_at,
                        })
                        .collect(),
                };
                (name, view)
            })
            .collect();
        Self {
            task_id: task.task_id,
            tenant_id: task.tenant_id,
            kind: task.kind,
            status: task.status,
            last_error: task.last_error.clone(),
            created_at: task.created_at,
            updated_at: task.updated_at,
            services,
            manual_cleanup: task.manual_cleanup.clone(),
        }
    }
}

impl From<&TaskWithSteps> for TaskView {
    fn from(task: &TaskWithSteps) -> Self {
        Self::new(&task.task, &task.steps)
    }
}

/// A tenant as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantView {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its site.
    pub site: Site,
    /// Its cloud.
    pub cloud: Cloud,
    /// Its lifecycle state.
    pub state: LifecycleState,
    /// What the admin must do, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
    /// The services asked for.
    pub services: Vec<Service>,
    /// Where each service stands after the last task that finished on it; empty before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_states: Vec<ServiceStatus>,
    /// What the protection covers.
    pub policy_targets: PolicyTargets,
    /// The last task that moved its lifecycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_task: Option<TaskView>,
    /// Everything we created or added in the tenant.
    pub managed_resources: Vec<ResourceRecord>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl TenantView {
    /// The view of a tenant, its last task and its resources.
    pub fn new(
        tenant: &TenantRecord,
        last_task: Option<TaskView>,
        mut resources: Vec<ResourceRecord>,
    ) -> Self {
        resources.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        Self {
            tenant_id: tenant.tenant_id,
            site: tenant.site,
            cloud: tenant.cloud,
            state: tenant.state,
            attention: tenant.attention.clone(),
            services: tenant.services.clone(),
            service_states: tenant.service_states.clone(),
            policy_targets: tenant.policy_targets.clone(),
            last_task,
            managed_resources: resources,
            updated_at: tenant.updated_at,
        }
    }
}
