//! The doors of the three task functions (`provision`, `deprovision`, `policy-targets`): each
//! event is parsed, opens or joins a task of its kind on the [`Engine`], and runs it as far as it
//! can go now. Continuations of every kind arrive at `provision` and are handed to the plan of
//! the task's kind here, above the engine, which knows none.

mod admission;
mod invocation;

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::SqsBatchResponse;
use model::{
    config::{ConfigError, ProcessEnv, Source},
    event,
    task::{TaskId, TaskKind},
};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

pub use self::{admission::Admission, invocation::Invocation};
use crate::{
    deprovisioning::Deprovisioning,
    policy_targets::PolicyTargetsUpdate,
    provisioning::{self, DryRun, Provisioning},
    span,
    tasks::{Continue, Engine, RunOptions, TaskError, TaskPlan, TaskView},
};

/// The task functions' services: the engine, and the kinds of task it runs.
pub struct Lifecycle {
    /// The task engine.
    pub engine: Engine,
    /// What the deployment lets into `provision`.
    pub admission: Admission,
}

/// The answer of `provision`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// The task's view.
    Task(TaskView),
    /// The plan of a dry run.
    Plan(DryRun),
    /// The continuations of an SQS batch that failed and must be delivered again.
    Batch(SqsBatchResponse),
}

impl Lifecycle {
    /// Builds every service from `source` (README: Configuration) and the SDK configuration.
    pub fn from_source(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            engine: Engine::from_source(sdk, source)?,
            admission: Admission::from_source(source)?,
        })
    }

    /// Builds every service from the process environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = state::aws::sdk_config().await;
        Self::from_source(&sdk, &state::parameters::resolve(&sdk, &ProcessEnv).await?)
    }

    /// Handles any event `provision` receives (see [`Invocation`]).
    pub async fn provision(&self, event: Value, deadline: Option<SystemTime>) -> Result<Answer, TaskError> {
        let deadline = crate::deadline::usable(deadline);
        match self.admission.admit(Invocation::parse(event)?)? {
            Invocation::Start(request) if request.options.dry_run => Ok(Answer::Plan(provisioning::dry_run(
                &request,
                &self.engine.vendor.names(),
            ))),
            Invocation::Start(request) => {
                let task_id = self.engine.open_or_join::<Provisioning>(&request).await?;
                Ok(Answer::Task(
                    self.resume(task_id, deadline, false, Some(TaskKind::Provision))
                        .await?,
                ))
            }
            Invocation::Continue(Continue { task_id }) => Ok(Answer::Task(
                self.resume(task_id, deadline, true, Some(TaskKind::Provision))
                    .await?,
            )),
            // The continuation queue carries every kind; only the functions can send to it.
            Invocation::Batch(continuations) => {
                let mut answer = SqsBatchResponse::default();
                for (message_id, continuation) in continuations {
                    let span = span::message(&message_id);
                    let failed = async {
                        match continuation {
                            Ok(Continue { task_id }) => match self.resume(task_id, deadline, false, None).await {
                                Ok(_) => false,
                                Err(err) => {
                                    tracing::error!(task = %task_id, error = %err, error_type = err.error_type(), "continuation failed; SQS will deliver it again");
                                    true
                                }
                            },
                            // Alone back to the queue; after its receives, to the dead-letter queue.
                            Err(err) => {
                                tracing::error!(error = %err, "malformed continuation");
                                true
                            }
                        }
                    }
                    .instrument(span)
                    .await;
                    if failed {
                        answer.add_failure(message_id);
                    }
                }
                Ok(Answer::Batch(answer))
            }
            // Admission unwraps the one envelope parse allows; a second one is refused.
            Invocation::Event { .. } => Err(TaskError::Input(model::event::EventError::Invalid {
                field: "detail".to_owned(),
                reason: "an EventBridge event inside an EventBridge event".to_owned(),
            })),
        }
    }

    /// Handles any event `deprovision` receives: a request, or `{"task_id"}` to continue now.
    pub async fn deprovision(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<TaskView, TaskError> {
        self.start_or_continue::<Deprovisioning>(event, deadline).await
    }

    /// Handles any event `policy-targets` receives: a request, or `{"task_id"}` to continue now.
    pub async fn update_policy_targets(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<TaskView, TaskError> {
        self.start_or_continue::<PolicyTargetsUpdate>(event, deadline)
            .await
    }

    async fn start_or_continue<P: TaskPlan>(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<TaskView, TaskError> {
        let deadline = crate::deadline::usable(deadline);
        if event.get("task_id").is_some() {
            let Continue { task_id } = event::from_value(event)?;
            return self.resume(task_id, deadline, true, Some(P::KIND)).await;
        }
        let request = P::parse(event)?;
        let task_id = self.engine.open_or_join::<P>(&request).await?;
        self.resume(task_id, deadline, false, Some(P::KIND)).await
    }

    /// Runs the task as far as it can go now (see [`Engine::run`]); `only` refuses, changing
    /// nothing, a task of another kind (a function asked directly runs its own kind only).
    pub async fn resume(
        &self,
        task_id: TaskId,
        deadline: Option<SystemTime>,
        look_now: bool,
        only: Option<TaskKind>,
    ) -> Result<TaskView, TaskError> {
        let task = self.engine.task(task_id).await?;
        if let Some(called) = only.filter(|kind| *kind != task.task.kind) {
            return Err(TaskError::WrongKind {
                task: task_id.to_string(),
                kind: task.task.kind,
                called: called.function(),
                owner: task.task.kind.function(),
            });
        }
        // A function asked directly is the one run nothing delivers again if it dies.
        let options = RunOptions {
            deadline,
            look_now,
            direct: only.is_some(),
        };
        // Boxed: the step machine is a deep future, kept off the stack.
        match task.task.kind {
            TaskKind::Provision => Box::pin(self.engine.run::<Provisioning>(task, options)).await,
            TaskKind::Deprovision => Box::pin(self.engine.run::<Deprovisioning>(task, options)).await,
            TaskKind::PolicyTargets => Box::pin(self.engine.run::<PolicyTargetsUpdate>(task, options)).await,
        }
    }
}
