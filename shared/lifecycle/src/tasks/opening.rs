//! Opening a task (or joining the one that stands for the request), and moving a tenant's
//! lifecycle when a task ends. Both re-read and try again when another writer got there first.

use chrono::Utc;
use model::{
    service::{Service, ServiceState, ServiceStatus},
    task::{StepStatus, TaskId},
    tenant::{LifecycleState, TenantId},
};
use state::store::{StepRecord, StoreError, TaskRecord, TaskSummary, TenantRecord};

use tracing::Instrument;

use crate::span;

use super::{Admission, Engine, Step, TaskError, TaskPlan, view::scope_name};

/// How often a request looks again when another writer changed the tenant under it.
const OPEN_ATTEMPTS: usize = 5;
/// How often a finished task looks again before it leaves the tenant to the newer writer.
const MOVE_ATTEMPTS: usize = 3;

impl Engine {
    /// Cancels the scheduled deletion of the tenant's token secret (an earlier deprovisioning's),
    /// so a task opened again can keep its tokens; a secret not scheduled is left as it is.
    pub async fn restore_token_secret(&self, tenant_id: model::tenant::TenantId) -> Result<(), TaskError> {
        self.ms
            .tokens
            .vault()
            .restore(tenant_id)
            .await
            .map_err(|err| TaskError::Config(err.to_string()))
    }

    /// Opens the task `request` asks for (moving the tenant as its plan says, in the same
    /// transaction), or returns the task that already stands for it. A refusal changes nothing.
    pub async fn open_or_join<P: TaskPlan>(&self, request: &P::Request) -> Result<TaskId, TaskError> {
        let tenant_id = P::tenant_id(request);
        self.open_in_span::<P>(tenant_id, request)
            .instrument(span::tenant(tenant_id))
            .await
    }

    async fn open_in_span<P: TaskPlan>(
        &self,
        tenant_id: TenantId,
        request: &P::Request,
    ) -> Result<TaskId, TaskError> {
        let stored = serde_json::to_value(request).map_err(|err| TaskError::Config(err.to_string()))?;
        for _ in 0..OPEN_ATTEMPTS {
            let existing = self.store.tenant(tenant_id).await?;
            let (mut tenant, current) = match P::admit(self, request, existing).await? {
                Admission::Join(task_id) => return Ok(task_id),
                Admission::Open { tenant, current } => (tenant, current),
            };
            let mut task = TaskRecord::new(tenant_id, P::KIND, stored.clone());
            let mut steps: Vec<StepRecord> = P::steps(request)
                .into_iter()
                .enumerate()
                .map(|(order, step)| StepRecord::new(task.task_id, step.service(), order as u16, step.name()))
                .collect();
            if current {
                tenant.current_task_id = Some(task.task_id);
            }
            tenant.updated_at = Utc::now();
            match self.open_task(&mut tenant, &mut task, &mut steps).await {
                Ok(()) => {
                    tracing::info!(task = %task.task_id, kind = P::KIND.function(), "task opened");
                    return Ok(task.task_id);
                }
                // Another request got there first: look again.
                Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(TaskError::Contended(tenant_id.to_string()))
    }

    /// Opens (or joins) the task `request` asks for and queues it to run now on `provision`,
    /// which picks up every kind: for the doors that answer at once (the consent callback, the
    /// operator API) and leave the steps to the task functions.
    pub async fn start<P: TaskPlan>(&self, request: &P::Request) -> Result<TaskId, TaskError> {
        let task_id = self.open_or_join::<P>(request).await?;
        self.continuations
            .send(&super::Continue { task_id }, std::time::Duration::ZERO)
            .await?;
        Ok(task_id)
    }

    /// Moves the tenant (creating its record when new) and creates the task with its steps: all
    /// of it or nothing, so a lifecycle never points at a task that does not exist.
    async fn open_task(
        &self,
        tenant: &mut TenantRecord,
        task: &mut TaskRecord,
        steps: &mut [StepRecord],
    ) -> Result<(), StoreError> {
        let creating = tenant.version == 0;
        let mut transaction = self.store.transaction();
        transaction = if creating {
            transaction.create(tenant)
        } else {
            transaction.update(tenant)
        };
        let summary = TaskSummary::from(&*task);
        transaction = transaction.create(task).put(&summary);
        for step in steps.iter_mut() {
            transaction = transaction.create(step);
        }
        transaction.commit().await
    }

    /// Moves the tenant to `to` if it is still in `from`, with what a person must look at and
    /// where each service now stands, re-reading on conflict.
    pub async fn move_tenant(
        &self,
        tenant: &TenantRecord,
        from: LifecycleState,
        to: LifecycleState,
        attention: Option<String>,
        service_states: Vec<ServiceStatus>,
    ) -> Result<(), TaskError> {
        for _ in 0..MOVE_ATTEMPTS {
            let mut current = self
                .store
                .tenant(tenant.tenant_id)
                .await?
                .unwrap_or_else(|| tenant.clone());
            if current.state != from {
                return Ok(());
            }
            current.state = to;
            current.attention = attention.clone();
            current.service_states = service_states.clone();
            current.updated_at = Utc::now();
            match self.store.update(&mut current).await {
                Ok(()) => {
                    if to == LifecycleState::NeedsReconsent {
                        crate::meter::needs_reconsent();
                    }
                    tracing::info!(state = %to, "lifecycle moved");
                    crate::announce::moved(self.bus.as_ref(), &current).await;
                    return Ok(());
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}

/// Where each of `services` stands after a task's `steps`: `done` when every step it needs
/// (its own and the tenant-wide ones) succeeded, failed otherwise.
pub fn service_states(services: &[Service], steps: &[StepRecord], done: ServiceState) -> Vec<ServiceStatus> {
    services
        .iter()
        .map(|&service| {
            let needed = steps
                .iter()
                .filter(|s| s.service.is_none_or(|own| own == service));
            let state = if needed.clone().all(|s| s.status == StepStatus::Succeeded) {
                done
            } else {
                ServiceState::Failed
            };
            ServiceStatus { service, state }
        })
        .collect()
}

/// What the admin must look at, from the steps that did not succeed.
pub fn attention_of(steps: &[StepRecord]) -> Option<String> {
    let text = steps
        .iter()
        .filter(|s| s.status != StepStatus::Succeeded)
        .filter_map(|s| {
            s.last_error
                .as_ref()
                .map(|e| format!("{}: {e}", scope_name(s.service)))
        })
        .collect::<Vec<_>>()
        .join("; ");
    (!text.is_empty()).then_some(text)
}
