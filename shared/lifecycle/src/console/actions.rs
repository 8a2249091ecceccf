//! What an operator does from the console: start a task, Verify, a consent link, sync a tenant
//! or a site now, pause and resume, label. Each goes through the door of the function that owns
//! it, so it is validated the same way and fails with the same errors.

use chrono::Utc;
use model::{
    event,
    label::LabelsUpdate,
    sites::Site,
    task::TaskId,
    tenant::{LifecycleState, TenantId},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use state::store::StoreError;

use super::{Console, ConsoleError, TenantRow, error::invalid};
use crate::{
    deprovisioning::Deprovisioning,
    entry::Invocation,
    onboarding::ConsentLink,
    policy_targets::PolicyTargetsUpdate,
    provisioning::{self, DryRun, Provisioning},
    sync::{DailySyncRequest, RunSummary, SyncMessage, daily},
    tasks::{TaskError, TaskPlan, TaskView},
    verify::Checklist,
};

/// How often a change to a tenant's record looks again when another writer got there first.
const WRITE_ATTEMPTS: usize = 5;

/// The tasks an operator starts, by the path's last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAction {
    /// `provision`: the request `provision` takes.
    Provision,
    /// `deprovision`: the request `deprovision` takes.
    Deprovision,
    /// `policy-targets`: the request `policy-targets` takes.
    PolicyTargets,
}

/// A task started (or joined), or the plan of a dry run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Started {
    /// The task, as it stands right after opening; `provision` runs it.
    Task(TaskView),
    /// What a provisioning would do, changing nothing.
    Plan(DryRun),
}

/// A tenant's sync queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncQueued {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The run id its message carries (`manual-…`: in no site's run).
    pub run_id: String,
}

/// `{"run_date"?}`: the body of a site's sync.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteSync {
    #[serde(default)]
    run_date: Option<chrono::NaiveDate>,
}

impl Console {
    /// Starts (or joins) the task `action` names for the tenant, from `body` as the task's function
    /// takes it (the tenant comes from the path), and queues it to `provision`.
    pub async fn start(
        &self,
        action: TaskAction,
        tenant_id: TenantId,
        body: Value,
    ) -> Result<Started, ConsoleError> {
        let request = with_tenant(body, tenant_id)?;
        let engine = &self.onboarding.engine;
        let task_id = match action {
            TaskAction::Provision => {
                let request = Provisioning::parse(request)?;
                let Invocation::Start(request) = self
                    .onboarding
                    .admission
                    .admit(Invocation::Start(Box::new(request)))?
                else {
                    unreachable!("admission hands back what it admits")
                };
                if request.options.dry_run {
                    return Ok(Started::Plan(provisioning::dry_run(
                        &request,
                        &engine.vendor.names(),
                    )));
                }
                engine.start::<Provisioning>(&request).await?
            }
            TaskAction::Deprovision => {
                let request = Deprovisioning::parse(request)?;
                engine.start::<Deprovisioning>(&request).await?
            }
            TaskAction::PolicyTargets => {
                let request = PolicyTargetsUpdate::parse(request)?;
                engine.start::<PolicyTargetsUpdate>(&request).await?
            }
        };
        Ok(Started::Task(self.task(task_id).await?))
    }

    /// Verify, as `onboard` answers `{"verify": tenant}`.
    pub async fn verify(&self, tenant_id: TenantId) -> Result<Checklist, ConsoleError> {
        Ok(self.onboarding.verify(json!({ "verify": tenant_id })).await?)
    }

    /// A consent link, as `onboard` answers the same request.
    pub async fn consent_link(&self, body: Value) -> Result<ConsentLink, ConsoleError> {
        Ok(self.onboarding.link(body).await?)
    }

    /// Queues one sync of an active, unpaused tenant now, outside its site's runs.
    pub async fn sync_tenant(&self, tenant_id: TenantId) -> Result<SyncQueued, ConsoleError> {
        let tenant = self
            .store()
            .tenant(tenant_id)
            .await?
            .ok_or_else(|| TaskError::UnknownTenant(tenant_id.to_string()))?;
        if !tenant.state.is_synced() {
            return Err(TaskError::WrongState {
                tenant: tenant_id.to_string(),
                state: tenant.state,
                hint: "only an active tenant is synced",
            }
            .into());
        }
        if tenant.paused_at.is_some() {
            return Err(ConsoleError::Paused(tenant_id.to_string()));
        }
        let message = SyncMessage {
            tenant_id,
            site: tenant.site,
            // Unique, so the worker (which syncs a tenant once per run id) syncs it again.
            run_id: format!("manual-{}", Utc::now().format("%Y%m%dT%H%M%S%.3fZ")),
        };
        self.sync.send(&message, std::time::Duration::ZERO).await?;
        Ok(SyncQueued {
            tenant_id,
            run_id: message.run_id,
        })
    }

    /// A site's daily sync now, as `daily-sync` runs it (once per site and date).
    pub async fn sync_site(&self, site: Site, body: Value) -> Result<RunSummary, ConsoleError> {
        let asked: SiteSync = match body {
            Value::Null => SiteSync::default(),
            body => event::from_value(body)?,
        };
        let request = DailySyncRequest {
            site,
            run_date: asked.run_date,
        };
        Ok(daily::fan_out(self.store(), &self.sync, &request, Utc::now()).await?)
    }

    /// Pauses the tenant's sync and token refresh (it leaves the site index); its tasks still run.
    pub async fn pause(&self, tenant_id: TenantId) -> Result<TenantRow, ConsoleError> {
        self.change(tenant_id, |tenant| {
            if matches!(
                tenant.state,
                LifecycleState::Deprovisioning | LifecycleState::Deprovisioned
            ) {
                return Err(TaskError::WrongState {
                    tenant: tenant_id.to_string(),
                    state: tenant.state,
                    hint: "it has no sync or token refresh to pause",
                }
                .into());
            }
            if tenant.paused_at.is_some() {
                return Ok(false);
            }
            tenant.paused_at = Some(Utc::now());
            Ok(true)
        })
        .await
    }

    /// Resumes a paused tenant's sync and token refresh from their next run.
    pub async fn resume(&self, tenant_id: TenantId) -> Result<TenantRow, ConsoleError> {
        self.change(tenant_id, |tenant| Ok(tenant.paused_at.take().is_some()))
            .await
    }

    /// Sets the tenant's display name, customer reference or tags (`LabelsUpdate`).
    pub async fn label(&self, tenant_id: TenantId, body: Value) -> Result<TenantRow, ConsoleError> {
        let update: LabelsUpdate = event::from_value(body)?;
        self.change(tenant_id, |tenant| {
            let labels = tenant
                .labels()
                .updated(update.clone())
                .map_err(|err| invalid(&err.field, err.reason))?;
            let changed = labels != tenant.labels();
            tenant.set_labels(labels);
            Ok(changed)
        })
        .await
    }

    /// Applies `change` to the tenant's record (it answers whether anything changed) and writes
    /// it conditionally, re-reading when another writer got there first.
    async fn change(
        &self,
        tenant_id: TenantId,
        change: impl Fn(&mut state::store::TenantRecord) -> Result<bool, ConsoleError>,
    ) -> Result<TenantRow, ConsoleError> {
        let store = self.store();
        for _ in 0..WRITE_ATTEMPTS {
            let mut tenant = store
                .tenant(tenant_id)
                .await?
                .ok_or_else(|| TaskError::UnknownTenant(tenant_id.to_string()))?;
            if !change(&mut tenant)? {
                return Ok(TenantRow::from(&tenant));
            }
            tenant.updated_at = Utc::now();
            match store.update(&mut tenant).await {
                Ok(()) => return Ok(TenantRow::from(&tenant)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(TaskError::Contended(tenant_id.to_string()).into())
    }
}

/// The body with the path's tenant as its `tenant_id`; a body naming another tenant is refused.
fn with_tenant(body: Value, tenant_id: TenantId) -> Result<Value, ConsoleError> {
    let mut body = match body {
        Value::Null => serde_json::Map::new(),
        Value::Object(body) => body,
        _ => return Err(invalid(".", "expected a JSON object")),
    };
    match body.get("tenant_id") {
        Some(given) if *given != json!(tenant_id) => {
            return Err(invalid(
                "tenant_id",
                format!("the path names tenant {tenant_id}; leave `tenant_id` out of the body"),
            ));
        }
        _ => {}
    }
    body.insert("tenant_id".to_owned(), json!(tenant_id));
    Ok(Value::Object(body))
}

impl Started {
    /// The task's id (none for a dry run).
    pub fn task_id(&self) -> Option<TaskId> {
        match self {
            Self::Task(task) => Some(task.task_id),
            Self::Plan(_) => None,
        }
    }
}
