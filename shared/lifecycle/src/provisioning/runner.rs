//! The step machine: runs a task's steps in order, records each outcome before the next step
//! starts, and when Microsoft needs time, queues a delayed continuation instead of idling. The
//! same machine runs provisioning and deprovisioning tasks; only their steps and the way a
//! finished task moves the tenant differ.

use std::{
    future::Future,
    time::{Duration as StdDuration, SystemTime},
};

use chrono::{DateTime, Duration, Utc};

use super::{
    Provisioner,
    context::StepContext,
    error::{ProvisionError, StepError},
    plan::{self, StepKind},
    request::{Continue, ProvisionRequest},
    steps::{self, Outcome},
};
use crate::{
    deprovisioning::{self, DeprovisionRequest},
    view::{TaskView, status_of},
};
use model::{
    retry::{RetryHint, Retryable},
    service::Service,
    task::{StepErrorKind, StepStatus, TaskId, TaskKind, TaskStatus},
    tenant::LifecycleState,
};
use state::store::{StepRecord, StoreError, TaskRecord, TaskWithSteps, TenantRecord};

/// A step that keeps failing transiently is given up after this many starts.
const MAX_STEP_ATTEMPTS: u32 = 10;
/// Time kept in reserve before the Lambda deadline: no step starts within it. A step cut off by
/// the deadline anyway stays `running` and is run again (steps are idempotent).
const DEADLINE_RESERVE: StdDuration = StdDuration::from_secs(15);
/// Delay before a transiently failing step is tried again from a continuation.
const TRANSIENT_RETRY: Duration = Duration::seconds(30);

/// How a finished task moves its tenant.
enum Finish<'r> {
    /// Provisioning: to `active`, `failed` or `needs_reconsent`.
    Provision,
    /// Deprovisioning: to `deprovisioned` once every removal succeeded.
    Deprovision(&'r DeprovisionRequest),
    /// The lifecycle does not move (policy-target updates).
    Nothing,
}

/// A task about to run, with what the whole run needs.
struct Pending<'t> {
    task: TaskRecord,
    steps: Vec<StepRecord>,
    tenant: &'t TenantRecord,
    deadline: Option<SystemTime>,
    look_now: bool,
}

/// Why a run stopped early.
enum Stop {
    /// Another worker changed the task or a step: it is running the task now.
    Overtaken,
    /// The Lambda deadline is near.
    Deadline,
}

impl Provisioner {
    /// Runs the task as far as it can go now; returns its view. With `look_now`, waiting steps
    /// look again at once (a direct `{"task_id"}` invoke); otherwise they keep their time (a
    /// queued continuation, so duplicate deliveries cannot multiply the work).
    pub async fn run(
        &self,
        task_id: TaskId,
        deadline: Option<SystemTime>,
        look_now: bool,
    ) -> Result<TaskView, ProvisionError> {
        let Some(TaskWithSteps { task, steps }) = self.store.task_with_steps(task_id).await? else {
            return Err(ProvisionError::UnknownTask(task_id.to_string()));
        };
        if task.status.is_finished() {
            return Ok(TaskView::new(&task, &steps));
        }
        let remaining = deadline.and_then(|d| d.duration_since(SystemTime::now()).ok());
        tracing::info!(task = %task_id, kind = ?task.kind, remaining_ms = remaining.map(|r| r.as_millis() as u64), "running task");
        let tenant = self.store.tenant(task.tenant_id).await?;
        let tenant = tenant.ok_or_else(|| ProvisionError::UnknownTenant(task.tenant_id.to_string()))?;
        let names = self.vendor.names();
        let kind = task.kind;
        let pending = Pending {
            task,
            steps,
            tenant: &tenant,
            deadline,
            look_now,
        };
        match kind {
            TaskKind::Provision => {
                let request = ProvisionRequest::parse(pending.task.request.clone())?;
                let order: Vec<&str> = plan::steps(&request).into_iter().map(StepKind::name).collect();
                let ctx = self.step_context(&tenant, task_id, &request, &names);
                let run_step = |name: &str| steps::run_named(name.to_owned(), &ctx);
                self.drive(pending, &order, run_step, Finish::Provision).await
            }
            TaskKind::Deprovision => {
                let request = DeprovisionRequest::parse(pending.task.request.clone())?;
                let order = deprovisioning::plan::steps(&request);
                let ctx = self.step_context(&tenant, task_id, &request, &names);
                let run_step = |name: &str| deprovisioning::steps::run(name.to_owned(), &ctx);
                self.drive(pending, &order, run_step, Finish::Deprovision(&request))
                    .await
            }
            TaskKind::PolicyTargets => {
                let request =
                    crate::policy_targets::PolicyTargetsRequest::parse(pending.task.request.clone())?;
                let ctx = self.step_context(&tenant, task_id, &request, &names);
                let run_step = |name: &str| crate::policy_targets::run(name.to_owned(), &ctx);
                self.drive(pending, &crate::policy_targets::STEPS, run_step, Finish::Nothing)
                    .await
            }
        }
    }

    /// What every step of `task_id` works with.
    fn step_context<'a, R>(
        &'a self,
        tenant: &'a TenantRecord,
        task_id: TaskId,
        request: &'a R,
        names: &'a model::vendor::ManagedNames,
    ) -> StepContext<'a, R> {
        StepContext {
            tenant,
            task_id,
            request,
            vendor: &self.vendor,
            names,
            store: &self.store,
            ms: &self.ms,
        }
    }

    /// Runs the task's steps in `order` and settles the task.
    async fn drive<F, Fut>(
        &self,
        pending: Pending<'_>,
        order: &[&str],
        run_step: F,
        finish: Finish<'_>,
    ) -> Result<TaskView, ProvisionError>
    where
        F: Fn(&str) -> Fut,
        Fut: Future<Output = Result<Outcome, StepError>>,
    {
        let Pending {
            mut task,
            mut steps,
            tenant,
            deadline,
            look_now,
        } = pending;
        let task_id = task.task_id;
        steps.sort_by_key(|s| order.iter().position(|o| *o == s.name));
        task.status = TaskStatus::Running;
        task.updated_at = Utc::now();
        match self.store.update(&mut task).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return self.view(task_id).await,
            Err(err) => return Err(err.into()),
        }
        let stopped = self
            .run_steps(tenant, task_id, &mut steps, deadline, look_now, &run_step)
            .await?;
        if matches!(stopped, Some(Stop::Overtaken)) {
            return self.view(task_id).await;
        }
        self.settle(
            &mut task,
            &steps,
            tenant,
            matches!(stopped, Some(Stop::Deadline)),
            finish,
        )
        .await?;
        Ok(TaskView::new(&task, &steps))
    }

    /// Runs every step that may run now, in order.
    async fn run_steps<F, Fut>(
        &self,
        tenant: &TenantRecord,
        task_id: TaskId,
        steps: &mut [StepRecord],
        deadline: Option<SystemTime>,
        look_now: bool,
        run_step: &F,
    ) -> Result<Option<Stop>, ProvisionError>
    where
        F: Fn(&str) -> Fut,
        Fut: Future<Output = Result<Outcome, StepError>>,
    {
        let now = Utc::now();
        // A service stops at its first unfinished step; tenant-wide steps gate every service.
        let mut blocked: Vec<Option<Service>> = Vec::new();
        for index in 0..steps.len() {
            let scope = steps[index].service;
            let tenant_wide_open = steps
                .iter()
                .any(|s| s.service.is_none() && s.status != StepStatus::Succeeded);
            if blocked.contains(&scope) || (scope.is_some() && tenant_wide_open) {
                continue;
            }
            match steps[index].status {
                StepStatus::Succeeded | StepStatus::Skipped => continue,
                StepStatus::Failed => {
                    blocked.push(scope);
                    continue;
                }
                StepStatus::Waiting if !look_now && steps[index].not_before.is_some_and(|at| at > now) => {
                    blocked.push(scope);
                    continue;
                }
                _ => {}
            }
            if deadline
                .is_some_and(|d| d.duration_since(SystemTime::now()).unwrap_or_default() < DEADLINE_RESERVE)
            {
                return Ok(Some(Stop::Deadline));
            }
            let step = &mut steps[index];
            let name = step.name.clone();
            step.status = StepStatus::Running;
            step.attempts += 1;
            step.updated_at = Utc::now();
            if let Err(err) = self.store.update(step).await {
                return overtaken_or(err);
            }
            tracing::info!(tenant = %tenant.tenant_id, task = %task_id, step = %name, attempt = step.attempts, "step started");
            let result = self
                .retry
                .run(&name, || async {
                    let result = run_step(&name).await;
                    if let Some(resource) = result.as_ref().err().and_then(StepError::refused_token) {
                        self.ms.tokens.invalidate(tenant.tenant_id, resource);
                    }
                    result
                })
                .await;
            record_result(step, result, tenant);
            if let Err(err) = self.store.update(step).await {
                return overtaken_or(err);
            }
            if step.status != StepStatus::Succeeded {
                blocked.push(scope);
            }
        }
        Ok(None)
    }

    /// Finishes the run: queues a continuation while steps wait, or closes the task and moves the
    /// tenant's lifecycle when nothing is left.
    async fn settle(
        &self,
        task: &mut TaskRecord,
        steps: &[StepRecord],
        tenant: &TenantRecord,
        out_of_time: bool,
        finish: Finish<'_>,
    ) -> Result<(), ProvisionError> {
        let now = Utc::now();
        let wake = next_wake(steps);
        let open = steps
            .iter()
            .any(|s| matches!(s.status, StepStatus::Pending | StepStatus::Running));
        let blocked_only = open && !out_of_time && wake.is_none();
        task.updated_at = now;
        if out_of_time || (wake.is_some() && !blocked_only) {
            let at = if out_of_time {
                now
            } else {
                wake.unwrap_or(now).max(now)
            };
            task.status = if out_of_time {
                TaskStatus::Running
            } else {
                TaskStatus::Waiting
            };
            // One continuation per wake time: a duplicate delivery must not queue another.
            if task.wake_at != Some(at) || at <= now {
                task.wake_at = Some(at);
                let delay = (at - now).to_std().unwrap_or_default() + StdDuration::from_secs(1);
                self.continuations
                    .send(
                        &Continue {
                            task_id: task.task_id,
                        },
                        delay,
                    )
                    .await?;
            }
        } else {
            // Nothing more can happen: every step finished, or a failed step blocks the rest.
            task.status = if status_of(steps) == TaskStatus::Succeeded {
                TaskStatus::Succeeded
            } else {
                TaskStatus::Failed
            };
            task.finished_at = Some(now);
            task.wake_at = None;
            task.last_error = steps
                .iter()
                .find(|s| s.status == StepStatus::Failed)
                .and_then(|s| s.last_error.clone());
            match finish {
                Finish::Provision => self.finish_provision(tenant, steps).await?,
                Finish::Deprovision(request) => {
                    task.manual_cleanup = self.finish_deprovision(tenant, steps, request).await?;
                }
                Finish::Nothing => {}
            }
        }
        match self.store.update(task).await {
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Moves the tenant out of `provisioning` when its task ends.
    async fn finish_provision(
        &self,
        tenant: &TenantRecord,
        steps: &[StepRecord],
    ) -> Result<(), ProvisionError> {
        let failed: Vec<&StepRecord> = steps
            .iter()
            .filter(|s| s.status != StepStatus::Succeeded)
            .collect();
        let exchange_ok = steps
            .iter()
            .filter(|s| s.service.is_none() || s.service == Some(Service::ExchangeOnline))
            .all(|s| s.status == StepStatus::Succeeded);
        let reconsent = failed
            .iter()
            .any(|s| s.error_kind == Some(StepErrorKind::NeedsReconsent));
        let state = match (reconsent, exchange_ok) {
            (true, _) => LifecycleState::NeedsReconsent,
            (false, true) => LifecycleState::Active,
            (false, false) => LifecycleState::Failed,
        };
        self.move_tenant(tenant, LifecycleState::Provisioning, state, attention_of(&failed))
            .await
    }

    /// Moves the tenant to `to` if it is still in `from`, re-reading on conflict.
    pub(crate) async fn move_tenant(
        &self,
        tenant: &TenantRecord,
        from: LifecycleState,
        to: LifecycleState,
        attention: Option<String>,
    ) -> Result<(), ProvisionError> {
        for _ in 0..3 {
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
            current.updated_at = Utc::now();
            match self.store.update(&mut current).await {
                Ok(()) => {
                    tracing::info!(tenant = %tenant.tenant_id, state = %to, "lifecycle moved");
                    return Ok(());
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}

/// What the admin must look at, from the steps that did not succeed.
pub(crate) fn attention_of(failed: &[&StepRecord]) -> Option<String> {
    let text = failed
        .iter()
        .filter_map(|s| {
            s.last_error
                .as_ref()
                .map(|e| format!("{}: {e}", crate::view::scope_name(s.service)))
        })
        .collect::<Vec<_>>()
        .join("; ");
    (!text.is_empty()).then_some(text)
}

fn record_result(step: &mut StepRecord, result: Result<Outcome, StepError>, tenant: &TenantRecord) {
    let now = Utc::now();
    step.updated_at = now;
    match result {
        Ok(Outcome::Done(note)) => {
            step.status = StepStatus::Succeeded;
            step.outcome = note;
            step.last_error = None;
            step.error_kind = None;
            step.not_before = None;
        }
        Ok(Outcome::Wait { until, reason }) => {
            step.status = StepStatus::Waiting;
            step.outcome = Some(reason);
            step.not_before = Some(until);
        }
        Err(err) => {
            let message = err.to_string();
            let hint = err.retry_hint();
            tracing::warn!(tenant = %tenant.tenant_id, step = %step.name, error = %message, "step did not finish");
            step.error_kind = Some(err.kind());
            step.last_error = Some(message);
            match hint {
                RetryHint::After(delay) if step.attempts < MAX_STEP_ATTEMPTS => {
                    step.status = StepStatus::Waiting;
                    step.not_before = Some(now + Duration::from_std(delay).unwrap_or(TRANSIENT_RETRY));
                }
                RetryHint::Backoff if step.attempts < MAX_STEP_ATTEMPTS => {
                    step.status = StepStatus::Waiting;
                    step.not_before = Some(now + TRANSIENT_RETRY);
                }
                _ => step.status = StepStatus::Failed,
            }
        }
    }
}

fn overtaken_or(err: StoreError) -> Result<Option<Stop>, ProvisionError> {
    match err {
        StoreError::Conflict { .. } => Ok(Some(Stop::Overtaken)),
        other => Err(other.into()),
    }
}

/// When a waiting step next looks.
pub fn next_wake(steps: &[StepRecord]) -> Option<DateTime<Utc>> {
    steps
        .iter()
        .filter(|s| s.status == StepStatus::Waiting)
        .filter_map(|s| s.not_before)
        .min()
}
