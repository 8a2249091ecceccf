//! Provisioning of a tenant as a resumable step machine (DESIGN §6).
//!
//! A request creates the tenant record (or moves it back to `provisioning`), a task and its steps
//! in one transaction; the runner then works through the steps, recording each outcome before
//! the next starts. A step waiting on Microsoft queues a delayed continuation; a crash at any point
//! followed by a re-invoke (or the queued continuation) finishes with the same tenant state.

pub mod context;
pub mod error;
pub mod plan;
pub mod request;
pub(crate) mod runner;
pub mod steps;

use std::time::SystemTime;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

pub use self::{
    context::Microsoft,
    error::{ProvisionError, StepError},
    request::{Continue, Invocation, ProvisionRequest},
};
use crate::view::TaskView;
use model::{
    retry::RetryPolicy,
    task::{TaskId, TaskKind},
    tenant::LifecycleState,
    vendor::VendorConfig,
};
use state::{
    queue::Queue,
    store::{StepRecord, Store, StoreError, TaskRecord, TenantRecord},
};

/// Everything provisioning works with.
pub struct Provisioner {
    /// The state store.
    pub store: Store,
    /// Clients for the tenants' Microsoft services.
    pub ms: Microsoft,
    /// The vendor's facts.
    pub vendor: VendorConfig,
    /// The continuation queue.
    pub continuations: Queue,
    /// Retries of whole steps (calls have their own, in `ms`).
    pub retry: RetryPolicy,
}

/// The answer of `provision`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// The task's view.
    Task(TaskView),
    /// The plan of a dry run.
    Plan(DryRun),
    /// The outcome of each continuation of an SQS batch.
    Batch(BatchAnswer),
}

/// A dry run: what would be called, in order. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    /// The tenant.
    pub tenant_id: model::tenant::TenantId,
    /// Always true.
    pub dry_run: bool,
    /// The steps and their calls.
    pub plan: Vec<plan::PlannedStep>,
}

/// Partial batch failures for the SQS event source (`ReportBatchItemFailures`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BatchAnswer {
    /// The messages to deliver again.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One message to deliver again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchItemFailure {
    /// Its SQS message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl Provisioner {
    /// Builds every dependency from the environment (see README: Configuration).
    pub async fn from_env() -> Result<Self, model::config::ConfigError> {
        use model::config::ProcessEnv;
        use state::config;
        let source = ProcessEnv;
        let store_config = config::StoreConfig::from_source(&source)?;
        let vault_config = config::VaultConfig::from_source(&source)?;
        let queues = config::QueueConfig::from_source(&source)?;
        let overrides = microsoft::endpoints::EndpointOverrides::from_source(&source)?;
        let vendor = model::vendor::VendorConfig::from_source(&source)?;
        let sdk = state::aws::sdk_config().await;
        let http = microsoft::http::client();
        let retry = RetryPolicy::default();
        let vault = state::vault::Vault::from_config(&sdk, &vault_config);
        let identity = microsoft::identity::IdentityClient::new(http.clone(), retry);
        Ok(Self {
            store: Store::from_config(&sdk, &store_config),
            ms: Microsoft {
                http,
                tokens: crate::tokens::TokenBroker::new(vault, identity, overrides.clone()),
                overrides,
                retry,
            },
            vendor,
            continuations: Queue::new(aws_sdk_sqs::Client::new(&sdk), queues.provision_queue_url),
            retry: RetryPolicy {
                max_attempts: 3,
                ..retry
            },
        })
    }

    /// Handles any event `provision` receives.
    pub async fn handle(&self, event: Value, deadline: Option<SystemTime>) -> Result<Answer, ProvisionError> {
        // Lambda never invokes with a deadline already past; local emulators sometimes do.
        let deadline = deadline.filter(|d| {
            let usable = *d > SystemTime::now();
            if !usable {
                tracing::warn!("the invocation's deadline has already passed; running without one");
            }
            usable
        });
        match Invocation::parse(event)? {
            Invocation::Start(request) => self.start(*request, deadline).await,
            Invocation::Continue(continuations) if continuations.iter().all(|(id, _)| id.is_none()) => {
                let mut last = None;
                for (_, Continue { task_id }) in continuations {
                    last = Some(Box::pin(self.run(task_id, deadline, true)).await?);
                }
                last.map(Answer::Task)
                    .ok_or_else(|| ProvisionError::Config("empty continuation".to_owned()))
            }
            Invocation::Continue(continuations) => {
                let mut answer = BatchAnswer::default();
                for (message_id, Continue { task_id }) in continuations {
                    if let Err(err) = Box::pin(self.run(task_id, deadline, false)).await {
                        tracing::error!(task = %task_id, error = %err, "continuation failed; SQS will deliver it again");
                        answer.batch_item_failures.push(BatchItemFailure {
                            item_identifier: message_id.unwrap_or_default(),
                        });
                    }
                }
                Ok(Answer::Batch(answer))
            }
        }
    }

    /// Starts provisioning (or joins the one running) and runs it as far as it can go now.
    pub async fn start(
        &self,
        request: ProvisionRequest,
        deadline: Option<SystemTime>,
    ) -> Result<Answer, ProvisionError> {
        if request.options.dry_run {
            return Ok(Answer::Plan(DryRun {
                tenant_id: request.tenant_id,
                dry_run: true,
                plan: plan::dry_run(&request, &self.vendor.names()),
            }));
        }
        let task_id = self.begin(&request).await?;
        // Boxed: the step machine is a deep future, kept off the stack.
        Ok(Answer::Task(Box::pin(self.run(task_id, deadline, false)).await?))
    }

    /// Creates the task (and moves the tenant to `provisioning`) or returns the task that
    /// already stands for this tenant.
    async fn begin(&self, request: &ProvisionRequest) -> Result<TaskId, ProvisionError> {
        let raw = request_json(request);
        for _ in 0..5 {
            let existing = self.store.tenant(request.tenant_id).await?;
            let mut tenant = match existing {
                None => {
                    let mut tenant = TenantRecord::new(
                        request.tenant_id,
                        request.site,
                        request.services.clone(),
                        LifecycleState::Provisioning,
                    );
                    tenant.cloud = request.cloud;
                    tenant
                }
                Some(tenant) => match tenant.state {
                    // Join the running task, or answer with the finished one: nothing changes.
                    LifecycleState::Provisioning | LifecycleState::Active => {
                        if let Some(task_id) = tenant.current_task_id {
                            return Ok(task_id);
                        }
                        tenant
                    }
                    LifecycleState::Deprovisioning => {
                        return Err(ProvisionError::WrongState {
                            tenant: tenant.tenant_id.to_string(),
                            state: tenant.state,
                            hint: "wait for deprovisioning to finish, then provision again",
                        });
                    }
                    LifecycleState::Deprovisioned
                    | LifecycleState::Failed
                    | LifecycleState::NeedsReconsent => {
                        // The token secret may be scheduled for deletion by a full deprovision.
                        self.ms
                            .tokens
                            .vault()
                            .restore(tenant.tenant_id)
                            .await
                            .map_err(|err| ProvisionError::Config(err.to_string()))?;
                        tenant
                    }
                },
            };
            let mut task = TaskRecord::new(request.tenant_id, TaskKind::Provision, raw.clone());
            let mut steps: Vec<StepRecord> = plan::steps(request)
                .into_iter()
                .enumerate()
                .map(|(order, kind)| StepRecord::new(task.task_id, kind.service(), order as u16, kind.name()))
                .collect();
            tenant.state = LifecycleState::Provisioning;
            tenant.site = request.site;
            tenant.cloud = request.cloud;
            tenant.services = request.services.clone();
            tenant.policy_targets = request.policy_targets.to_record();
            tenant.current_task_id = Some(task.task_id);
            tenant.attention = None;
            tenant.updated_at = Utc::now();
            match self.open_task(&mut tenant, &mut task, &mut steps).await {
                Ok(()) => {
                    tracing::info!(tenant = %request.tenant_id, task = %task.task_id, "provisioning started");
                    return Ok(task.task_id);
                }
                // Another request got there first: look again.
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

    /// Moves the tenant (creating its record when new) and creates the task with its steps: all
    /// of it or nothing, so a lifecycle never points at a task that does not exist.
    pub(crate) async fn open_task(
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
        transaction = transaction.create(task);
        for step in steps.iter_mut() {
            transaction = transaction.create(step);
        }
        transaction.commit().await
    }

    /// The current view of a task.
    pub async fn view(&self, task_id: TaskId) -> Result<TaskView, ProvisionError> {
        let task = self
            .store
            .task_with_steps(task_id)
            .await?
            .ok_or_else(|| ProvisionError::UnknownTask(task_id.to_string()))?;
        Ok(TaskView::from(&task))
    }
}

/// The request as stored on the task, in its validated form.
fn request_json(request: &ProvisionRequest) -> Value {
    let targets = request.policy_targets.to_record();
    let mut policy_targets = serde_json::json!({"users": targets.users, "groups": targets.groups});
    if let Some(domains) = targets.domains {
        policy_targets["domains"] = Value::from(domains);
    }
    serde_json::json!({
        "tenant_id": request.tenant_id,
        "site": request.site,
        "cloud": request.cloud,
        "services": request.services,
        "policy_targets": policy_targets,
        "options": {
            "ip_allow_list": request.options.ip_allow_list,
            "promote_delegates_to_global_admin": request.options.promote_delegates_to_global_admin,
            "delegates": request.options.delegates.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            "dry_run": false
        }
    })
}
