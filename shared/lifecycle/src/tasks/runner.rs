//! The step machine: runs a task's steps in order, records each outcome before the next step
//! starts, and when Microsoft needs time, queues a delayed continuation instead of idling. It
//! knows no task kind: the steps, and how a finished task moves its tenant, come from the plan.

use std::time::{Duration as StdDuration, SystemTime};

use chrono::{DateTime, Duration, Utc};
use model::{
    notice::Change,
    retry::{RetryHint, Retryable},
    service::Service,
    task::{StepStatus, TaskId, TaskStatus},
};
use state::{
    queue::MAX_DELAY,
    store::{StepRecord, StoreError, TaskRecord, TaskSummary, TaskWithSteps},
};

use tracing::Instrument;

use crate::{deadline::Deadline, span};

use super::{
    Continue, Engine, Outcome, Step, StepContext, StepError, TaskError, TaskPlan, TaskView, view::status_of,
};

/// A step that keeps failing transiently is given up after this many starts.
const MAX_STEP_ATTEMPTS: u32 = 10;
/// Time kept in reserve before the Lambda deadline: no step starts within it. A step cut off by
/// the deadline anyway stays `running` and is run again (steps are idempotent).
const DEADLINE_RESERVE: StdDuration = StdDuration::from_secs(15);
/// Delay before a transiently failing step is tried again from a continuation.
const TRANSIENT_RETRY: Duration = Duration::seconds(30);
/// How long after a direct invoke's deadline its safety continuation arrives.
const SAFETY_MARGIN: StdDuration = StdDuration::from_secs(30);

/// How a run was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// The Lambda deadline, if any: no step starts within [`DEADLINE_RESERVE`] of it.
    pub deadline: Option<SystemTime>,
    /// Waiting steps look again at once (a direct `{"task_id"}` invoke); otherwise they keep
    /// their time (a queued continuation, so duplicate deliveries cannot multiply the work).
    pub look_now: bool,
    /// A direct invoke, which nothing delivers again if it dies (a timeout, a crash): a safety
    /// continuation is queued first, arriving after the deadline, unless one is on its way.
    pub direct: bool,
}

/// Why a run stopped early.
enum Stop {
    /// Another worker changed the task or a step: it is running the task now.
    Overtaken,
    /// The Lambda deadline is near.
    Deadline,
}

/// A task being run, with what the whole run needs.
struct Run<'r, P: TaskPlan> {
    ctx: StepContext<'r>,
    request: &'r P::Request,
    look_now: bool,
}

impl Engine {
    /// Runs the task (of kind `P`) as far as it can go now, as `options` say; returns its view.
    /// Every line it logs names the task and its tenant.
    pub async fn run<P: TaskPlan>(
        &self,
        task: TaskWithSteps,
        options: RunOptions,
    ) -> Result<TaskView, TaskError> {
        let span = span::task(task.task.tenant_id, task.task.task_id, task.task.kind);
        self.run_in_span::<P>(task, options).instrument(span).await
    }

    async fn run_in_span<P: TaskPlan>(
        &self,
        task: TaskWithSteps,
        options: RunOptions,
    ) -> Result<TaskView, TaskError> {
        let RunOptions {
            deadline,
            look_now,
            direct,
        } = options;
        let TaskWithSteps { mut task, mut steps } = task;
        if task.status.is_finished() {
            return Ok(TaskView::new(&task, &steps));
        }
        let task_id = task.task_id;
        let remaining = deadline.and_then(|d| d.duration_since(SystemTime::now()).ok());
        tracing::info!(
            remaining_ms = remaining.map(|r| r.as_millis() as u64),
            "running task"
        );
        let tenant = self.store.tenant(task.tenant_id).await?;
        let tenant = tenant.ok_or_else(|| TaskError::UnknownTenant(task.tenant_id.to_string()))?;
        let request = P::parse(task.request.clone())?;
        let order = P::steps(&request);
        steps.sort_by_key(|s| order.iter().position(|o| o.name() == s.name));
        let names = self.vendor.names();
        let run = Run::<P> {
            ctx: StepContext {
                tenant: &tenant,
                task: Some(task_id),
                vendor: &self.vendor,
                names: &names,
                store: &self.store,
                ms: &self.ms,
                deadline: Deadline::new(deadline, DEADLINE_RESERVE),
            },
            request: &request,
            look_now,
        };
        if direct && let Some(deadline) = deadline {
            self.queue_safety(&mut task, deadline).await?;
        }
        task.status = TaskStatus::Running;
        task.updated_at = Utc::now();
        match self.save(&mut task).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return self.view(task_id).await,
            Err(err) => return Err(err.into()),
        }
        let stopped = self.run_steps(&run, &mut steps).await?;
        if matches!(stopped, Some(Stop::Overtaken)) {
            return self.view(task_id).await;
        }
        let out_of_time = matches!(stopped, Some(Stop::Deadline));
        self.settle(&run, &mut task, &steps, out_of_time).await?;
        Ok(TaskView::new(&task, &steps))
    }

    /// Queues the continuation that finishes the task if this run dies before it settles,
    /// unless one is on its way already (it is then the safety). Arriving after the deadline, it
    /// finds the task finished (nothing to do) or stopped where the run died (it goes on).
    async fn queue_safety(&self, task: &mut TaskRecord, deadline: SystemTime) -> Result<(), TaskError> {
        let now = Utc::now();
        if task.wake_at.is_some_and(|arrives| arrives > now) {
            return Ok(());
        }
        let until_deadline = deadline.duration_since(SystemTime::now()).unwrap_or_default();
        let after = Duration::from_std(until_deadline + SAFETY_MARGIN).unwrap_or(Duration::zero());
        self.queue_continuation(task, now + after).await
    }

    /// Queues the task's continuation to arrive at `at`, or within SQS's longest delay if that is
    /// later (a longer wait is then a chain), and records when it arrives as `wake_at`.
    async fn queue_continuation(&self, task: &mut TaskRecord, at: DateTime<Utc>) -> Result<(), TaskError> {
        let now = Utc::now();
        // One second under SQS's limit: the delay below adds a second, so it never comes early.
        let longest = Duration::seconds(MAX_DELAY.as_secs() as i64 - 1);
        let arrives = at.max(now).min(now + longest);
        let delay = (arrives - now).to_std().unwrap_or_default() + StdDuration::from_secs(1);
        self.continuations
            .send(
                &Continue {
                    task_id: task.task_id,
                },
                delay,
            )
            .await?;
        task.wake_at = Some(arrives);
        Ok(())
    }

    /// Runs every step that may run now, in order.
    async fn run_steps<P: TaskPlan>(
        &self,
        run: &Run<'_, P>,
        steps: &mut [StepRecord],
    ) -> Result<Option<Stop>, TaskError> {
        let tenant = run.ctx.tenant;
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
                StepStatus::Waiting
                    if !run.look_now && steps[index].not_before.is_some_and(|at| at > now) =>
                {
                    blocked.push(scope);
                    continue;
                }
                _ => {}
            }
            if run.ctx.deadline.is_near() {
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
            let span = span::step(&name);
            span.in_scope(|| tracing::info!(attempt = step.attempts, "step started"));
            // One run of the step: its calls retry on their own, and a step that fails
            // transiently waits for a continuation instead of being run again here (a retried
            // step could far outlast the invocation). Only a token Microsoft refused is worth
            // one more run at once, with a freshly minted token.
            let started = std::time::Instant::now();
            let mut result = self.run_step::<P>(run, &name).instrument(span.clone()).await;
            if let Some(resource) = result.as_ref().err().and_then(StepError::refused_token) {
                self.ms.tokens.invalidate(tenant.tenant_id, resource);
                result = self.run_step::<P>(run, &name).instrument(span.clone()).await;
            }
            crate::meter::step_ran(&name, started.elapsed());
            span.in_scope(|| record_result(step, result));
            if let Err(err) = self.store.update(step).await {
                return overtaken_or(err);
            }
            if step.status != StepStatus::Succeeded {
                blocked.push(scope);
            }
        }
        Ok(None)
    }

    /// Runs the step called `name` of the task once.
    async fn run_step<P: TaskPlan>(&self, run: &Run<'_, P>, name: &str) -> Result<Outcome, StepError> {
        match P::Step::from_name(name) {
            Some(kind) => kind.run(&run.ctx, run.request).await,
            None => Err(StepError::Failed(format!(
                "{name:?} is not a step of a {:?} task",
                P::KIND
            ))),
        }
    }

    /// Finishes the run: queues a continuation while steps wait, or closes the task and lets the
    /// plan move the tenant's lifecycle when nothing is left.
    async fn settle<P: TaskPlan>(
        &self,
        run: &Run<'_, P>,
        task: &mut TaskRecord,
        steps: &[StepRecord],
        out_of_time: bool,
    ) -> Result<(), TaskError> {
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
            // `wake_at` is when the queued continuation arrives. SQS delays at most 15 minutes, so
            // a longer wait is a chain of continuations, each queued when the one before arrives;
            // a duplicate delivery while one is on its way queues nothing.
            let queued = task.wake_at.filter(|arrives| *arrives > now);
            if at <= now || queued.is_none_or(|arrives| at < arrives) {
                self.queue_continuation(task, at).await?;
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
            task.manual_cleanup = P::finish(self, run.ctx.tenant, steps, run.request).await?;
        }
        match self.save(task).await {
            Ok(()) => {
                if task.status.is_finished() {
                    crate::meter::task_finished(P::KIND, task.status);
                }
                if task.status == TaskStatus::Failed {
                    let failed = steps.iter().find(|s| s.status == StepStatus::Failed);
                    let change = Change::TaskFailed {
                        task_id: task.task_id,
                        task_kind: P::KIND,
                        step: failed.map(|s| s.name.clone()),
                        error: task.last_error.clone(),
                    };
                    crate::announce::announce(self.bus.as_ref(), run.ctx.tenant, change).await;
                }
                Ok(())
            }
            // Another run saved first: it counts the task.
            Err(StoreError::Conflict { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Writes the task if it is still at the version read, and its summary in the tenant's
    /// history with it (all or nothing).
    async fn save(&self, task: &mut TaskRecord) -> Result<(), StoreError> {
        let summary = TaskSummary::from(&*task);
        self.store.transaction().update(task).put(&summary).commit().await
    }

    /// The current view of a task.
    pub async fn view(&self, task_id: TaskId) -> Result<TaskView, TaskError> {
        Ok(TaskView::from(&self.task(task_id).await?))
    }

    /// The task and its steps.
    pub async fn task(&self, task_id: TaskId) -> Result<TaskWithSteps, TaskError> {
        self.store
            .task_with_steps(task_id)
            .await?
            .ok_or_else(|| TaskError::UnknownTask(task_id.to_string()))
    }
}

/// The most characters of a step's outcome or error kept: they hold tenant-chosen names and
/// Microsoft's text, and a step item must stay far below DynamoDB's 400 KB.
const MAX_STEP_TEXT: usize = 4_000;

/// A step's outcome or error as stored and shown: bounded, control and direction characters
/// escaped (the Microsoft clients bound their own text already; names from the tenant are not).
fn stored(text: &str) -> String {
    model::validation::bounded_text(text, MAX_STEP_TEXT)
}

fn record_result(step: &mut StepRecord, result: Result<Outcome, StepError>) {
    let now = Utc::now();
    step.updated_at = now;
    match result {
        Ok(Outcome::Done(note)) => {
            step.status = StepStatus::Succeeded;
            step.outcome = note.as_deref().map(stored);
            step.last_error = None;
            step.error_kind = None;
            step.not_before = None;
        }
        Ok(Outcome::Wait { until, reason }) => {
            step.status = StepStatus::Waiting;
            step.outcome = Some(stored(&reason));
            step.not_before = Some(until);
        }
        Err(err) => {
            let message = stored(&err.to_string());
            let hint = err.retry_hint();
            tracing::warn!(error = %message, "step did not finish");
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

fn overtaken_or(err: StoreError) -> Result<Option<Stop>, TaskError> {
    match err {
        StoreError::Conflict { .. } => Ok(Some(Stop::Overtaken)),
        other => Err(other.into()),
    }
}

/// When a waiting step next looks.
fn next_wake(steps: &[StepRecord]) -> Option<DateTime<Utc>> {
    steps
        .iter()
        .filter(|s| s.status == StepStatus::Waiting)
        .filter_map(|s| s.not_before)
        .min()
}
