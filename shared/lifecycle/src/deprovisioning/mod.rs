//! Deprovisioning and cleanup: leave the tenant as it was (DESIGN §2, §4).
//!
//! `standard` does the seed's deprovisioning (sync and reports stopped, rerouting rules, outbound
//! connectors and virtual groups removed) and lists what is left for a human, by exact name;
//! `full` removes that too: the skip-spam and junk rules, the inbound connectors, the spoof entry,
//! exactly the IPs we added, the role assignments we made, and the app's service principal last.
//! Only recorded objects are removed, or with `adopt_existing` the seed's objects found by their
//! exact names. Runs on the same step machine as provisioning: resumable and idempotent.

pub mod plan;
pub mod steps;

use std::time::SystemTime;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use model::{
    event::{self, EventError},
    service::Service,
    sites::Site,
    task::{StepStatus, TaskId, TaskKind},
    tenant::{LifecycleState, TenantId},
};

use state::store::{ResourceKind, ResourceRecord, StepRecord, StoreError, TaskRecord, TenantRecord};

use crate::{
    provisioning::{ProvisionError, Provisioner, runner::attention_of},
    view::TaskView,
};

/// How much to remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The seed's deprovisioning; the rest is listed for manual cleanup.
    #[default]
    Standard,
    /// Standard plus the manual-cleanup list.
    Full,
}

/// A request to deprovision a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeprovisionRequest {
    /// The tenant.
    pub tenant_id: TenantId,
    /// How much to remove (default `standard`).
    #[serde(default)]
    pub mode: Mode,
    /// Go ahead although messages are held in quarantine.
    #[serde(default)]
    pub acknowledge_quarantine: bool,
    /// Also remove the seed's objects found by their exact names (a tenant never provisioned here).
    #[serde(default)]
    pub adopt_existing: bool,
    /// The tenant's site: needed only to adopt a tenant unknown here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
}

impl DeprovisionRequest {
    /// Parses a request; errors name the field.
    pub fn parse(value: Value) -> Result<Self, EventError> {
        event::from_value(value)
    }
}

impl Provisioner {
    /// Handles any event `deprovision` receives: a request, or `{"task_id"}` to continue now.
    pub async fn deprovision(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<TaskView, ProvisionError> {
        let deadline = deadline.filter(|d| *d > SystemTime::now());
        if event.get("task_id").is_some() {
            let crate::provisioning::Continue { task_id } = event::from_value(event)?;
            return Box::pin(self.run(task_id, deadline, true)).await;
        }
        let request = DeprovisionRequest::parse(event)?;
        if let Some(summary) = self.store.quarantine(request.tenant_id).await?
            && summary.quarantined_items > 0
            && !request.acknowledge_quarantine
        {
            return Err(ProvisionError::Quarantine {
                tenant: request.tenant_id.to_string(),
                count: summary.quarantined_items,
            });
        }
        let task_id = self.begin_deprovision(&request).await?;
        Box::pin(self.run(task_id, deadline, false)).await
    }

    /// Creates the deprovisioning task and moves the tenant to `deprovisioning`, or returns the
    /// task that already stands for it.
    async fn begin_deprovision(&self, request: &DeprovisionRequest) -> Result<TaskId, ProvisionError> {
        let raw = serde_json::to_value(request).unwrap_or(Value::Null);
        for _ in 0..5 {
            let existing = self.store.tenant(request.tenant_id).await?;
            let mut tenant = match existing {
                None if request.adopt_existing => {
                    let site = request.site.ok_or_else(|| EventError::Invalid {
                        field: "site".to_owned(),
                        reason: "needed to adopt a tenant that m365-inline never provisioned".to_owned(),
                    })?;
                    TenantRecord::new(
                        request.tenant_id,
                        site,
                        vec![Service::ExchangeOnline],
                        LifecycleState::Deprovisioning,
                    )
                }
                None => return Err(ProvisionError::UnknownTenant(request.tenant_id.to_string())),
                Some(tenant) => match tenant.state {
                    LifecycleState::Provisioning => {
                        return Err(ProvisionError::WrongState {
                            tenant: tenant.tenant_id.to_string(),
                            state: tenant.state,
                            hint: "wait for provisioning to finish (`status` shows its task), then deprovision",
                        });
                    }
                    LifecycleState::Deprovisioning | LifecycleState::Deprovisioned => {
                        if let Some(task_id) = self.standing_task(&tenant, request).await? {
                            return Ok(task_id);
                        }
                        tenant
                    }
                    LifecycleState::Active | LifecycleState::Failed | LifecycleState::NeedsReconsent => {
                        tenant
                    }
                },
            };
            let mut task = TaskRecord::new(request.tenant_id, TaskKind::Deprovision, raw.clone());
            let mut steps: Vec<StepRecord> = plan::steps(request)
                .into_iter()
                .enumerate()
                .map(|(order, name)| StepRecord::new(task.task_id, None, order as u16, name))
                .collect();
            tenant.state = LifecycleState::Deprovisioning;
            tenant.current_task_id = Some(task.task_id);
            tenant.updated_at = Utc::now();
            match self.open_task(&mut tenant, &mut task, &mut steps).await {
                Ok(()) => {
                    tracing::info!(tenant = %request.tenant_id, task = %task.task_id, mode = ?request.mode, "deprovisioning started");
                    return Ok(task.task_id);
                }
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

    /// The task a request joins instead of starting one: the running deprovisioning, or a
    /// finished one that already did what is asked (nothing recorded is left to remove).
    async fn standing_task(
        &self,
        tenant: &TenantRecord,
        request: &DeprovisionRequest,
    ) -> Result<Option<TaskId>, ProvisionError> {
        let Some(task_id) = tenant.current_task_id else {
            return Ok(None);
        };
        let Some(current) = self.store.task_with_steps(task_id).await? else {
            return Ok(None);
        };
        if current.task.kind != TaskKind::Deprovision {
            return Ok(None);
        }
        if !current.task.status.is_finished() {
            return Ok(Some(task_id));
        }
        let done_mode = DeprovisionRequest::parse(current.task.request.clone())
            .map(|r| r.mode)
            .unwrap_or_default();
        let succeeded = current.steps.iter().all(|s| s.status == StepStatus::Succeeded);
        let nothing_left = self.store.resources(tenant.tenant_id).await?.is_empty();
        let covered = done_mode == Mode::Full || request.mode == Mode::Standard;
        Ok((succeeded
            && covered
            && (nothing_left || request.mode == Mode::Standard)
            && !request.adopt_existing)
            .then_some(task_id))
    }

    /// Moves the tenant to `deprovisioned` once every removal succeeded; returns what is left for
    /// manual cleanup (standard mode).
    pub(crate) async fn finish_deprovision(
        &self,
        tenant: &TenantRecord,
        steps: &[StepRecord],
        request: &DeprovisionRequest,
    ) -> Result<Vec<String>, ProvisionError> {
        let failed: Vec<&StepRecord> = steps
            .iter()
            .filter(|s| s.status != StepStatus::Succeeded)
            .collect();
        let left = match request.mode {
            Mode::Standard => self
                .store
                .resources(tenant.tenant_id)
                .await?
                .iter()
                .map(describe)
                .collect(),
            Mode::Full => Vec::new(),
        };
        if failed.is_empty() {
            let attention = (!left.is_empty())
                .then(|| format!("{} object(s) left for manual cleanup; see the task", left.len()));
            self.move_tenant(
                tenant,
                LifecycleState::Deprovisioning,
                LifecycleState::Deprovisioned,
                attention,
            )
            .await?;
        } else {
            self.move_tenant(
                tenant,
                LifecycleState::Deprovisioning,
                LifecycleState::Deprovisioning,
                attention_of(&failed),
            )
            .await?;
        }
        Ok(left)
    }
}

/// A managed resource as an item of the manual-cleanup list, naming the exact object.
pub fn describe(resource: &ResourceRecord) -> String {
    let id = resource.external_id.as_deref().unwrap_or("id not recorded");
    match resource.kind {
        ResourceKind::TransportRule => format!("transport rule \"{}\" (Remove-TransportRule)", resource.key),
        ResourceKind::InboundConnector => {
            format!("inbound connector \"{}\" (Remove-InboundConnector)", resource.key)
        }
        ResourceKind::OutboundConnector => format!(
            "outbound connector \"{}\" (Remove-OutboundConnector)",
            resource.key
        ),
        ResourceKind::Group => format!("Microsoft 365 group \"{}\" ({id})", resource.key),
        ResourceKind::SpoofItem => {
            format!(
                "spoofed-sender allow entry {id} ({}) in the Tenant Allow/Block List",
                resource.key.replace('|', " / ")
            )
        }
        ResourceKind::AllowedIp => format!(
            "IP {} in the Default connection filter policy's IP Allow List",
            resource.key
        ),
        ResourceKind::RoleAssignment => format!("directory role assignment {id} ({})", resource.key),
        ResourceKind::ServicePrincipal => format!(
            "enterprise application (service principal {id}) of app {}",
            resource.key
        ),
    }
}
