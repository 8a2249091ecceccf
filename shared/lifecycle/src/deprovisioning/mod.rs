//! Deprovisioning and cleanup, as a kind of task ([`Deprovisioning`]): leave the tenant as it was.
//!
//! `standard` does the predecessor's deprovisioning (sync and reports stopped, rerouting rules, outbound
//! connectors and virtual groups removed) and lists what is left for a human, by exact name;
//! `full` removes that too: the skip-spam and junk rules, the inbound connectors, the spoof entry,
//! exactly the IPs we added, the role assignments we made, and the app's service principal last.
//! Only recorded objects are removed, or with `adopt_existing` the predecessor's objects found by their
//! exact names. Messages held in quarantine must be acknowledged first.

mod request;
mod step;
mod steps;

use model::{
    event::EventError,
    service::{Service, ServiceState},
    task::{StepStatus, TaskKind},
    tenant::{LifecycleState, TenantId},
};
use state::store::{ResourceKind, ResourceRecord, StepRecord, TenantRecord};

pub use self::{
    request::{DeprovisionRequest, Mode},
    step::DeprovisionStep,
};
use crate::{
    sync::SyncState,
    tasks::{Admission, Engine, TaskError, TaskPlan, attention_of, service_states},
};

/// Deprovisioning as a kind of task.
pub struct Deprovisioning;

impl TaskPlan for Deprovisioning {
    const KIND: TaskKind = TaskKind::Deprovision;
    type Request = DeprovisionRequest;
    type Step = DeprovisionStep;

    fn parse(value: serde_json::Value) -> Result<DeprovisionRequest, EventError> {
        DeprovisionRequest::parse(value)
    }

    fn tenant_id(request: &DeprovisionRequest) -> TenantId {
        request.tenant_id
    }

    /// Refuses while messages are held in quarantine (unless acknowledged) or while provisioning
    /// runs; joins the deprovisioning that stands for the request; otherwise starts one, adopting
    /// a tenant never provisioned here when asked to.
    async fn admit(
        engine: &Engine,
        request: &DeprovisionRequest,
        existing: Option<TenantRecord>,
    ) -> Result<Admission, TaskError> {
        if let Some(summary) = engine.store.quarantine(request.tenant_id).await?
            && summary.quarantined_items > 0
            && !request.acknowledge_quarantine
        {
            return Err(TaskError::Quarantine {
                tenant: request.tenant_id.to_string(),
                count: summary.quarantined_items,
            });
        }
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
            None => return Err(TaskError::UnknownTenant(request.tenant_id.to_string())),
            Some(tenant) => match tenant.state {
                LifecycleState::Provisioning => {
                    return Err(TaskError::WrongState {
                        tenant: tenant.tenant_id.to_string(),
                        state: tenant.state,
                        hint: "wait for provisioning to finish (`status` shows its task), then deprovision",
                    });
                }
                LifecycleState::Deprovisioning | LifecycleState::Deprovisioned => {
                    if let Some(task_id) = standing_task(engine, &tenant, request).await? {
                        return Ok(Admission::Join(task_id));
                    }
                    tenant
                }
                LifecycleState::Active | LifecycleState::Failed | LifecycleState::NeedsReconsent => tenant,
            },
        };
        SyncState::refuse_while_syncing(&engine.store, tenant.tenant_id).await?;
        // An earlier deprovisioning scheduled the token secret's deletion: this one may need it.
        engine.restore_token_secret(tenant.tenant_id).await?;
        tenant.state = LifecycleState::Deprovisioning;
        Ok(Admission::lead(tenant))
    }

    /// `deprovisioned` once every removal succeeded; returns what is left for manual cleanup
    /// (standard mode), each item naming the exact object.
    async fn finish(
        engine: &Engine,
        tenant: &TenantRecord,
        steps: &[StepRecord],
        request: &DeprovisionRequest,
    ) -> Result<Vec<String>, TaskError> {
        // What is still recorded: in standard mode what it leaves; in full mode only what the
        // app may not remove itself. The service principal's removal ends our access: last.
        let succeeded = steps.iter().all(|s| s.status == StepStatus::Succeeded);
        let mut remaining = engine.store.resources(tenant.tenant_id).await?;
        remaining.sort_by_key(|r| r.kind == ResourceKind::ServicePrincipal);
        let left: Vec<String> = match request.mode {
            Mode::Full if !succeeded => Vec::new(),
            Mode::Standard | Mode::Full => remaining.iter().map(describe).collect(),
        };
        let (to, attention) = if succeeded {
            let attention = (!left.is_empty())
                .then(|| format!("{} object(s) left for manual cleanup; see the task", left.len()));
            (LifecycleState::Deprovisioned, attention)
        } else {
            (LifecycleState::Deprovisioning, attention_of(steps))
        };
        engine
            .move_tenant(
                tenant,
                LifecycleState::Deprovisioning,
                to,
                attention,
                service_states(&tenant.services, steps, ServiceState::Removed),
            )
            .await?;
        Ok(left)
    }
}

/// The task a request joins instead of starting one: the running deprovisioning, or a finished
/// one that already did what is asked (nothing recorded is left to remove).
async fn standing_task(
    engine: &Engine,
    tenant: &TenantRecord,
    request: &DeprovisionRequest,
) -> Result<Option<model::task::TaskId>, TaskError> {
    let Some(task_id) = tenant.current_task_id else {
        return Ok(None);
    };
    let Some(current) = engine.store.task_with_steps(task_id).await? else {
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
    let nothing_left = engine.store.resources(tenant.tenant_id).await?.is_empty();
    let covered = done_mode == Mode::Full || request.mode == Mode::Standard;
    Ok(
        (succeeded && covered && (nothing_left || request.mode == Mode::Standard) && !request.adopt_existing)
            .then_some(task_id),
    )
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
        ResourceKind::RoleAssignment => format!(
            "directory role assignment {id} ({}): Microsoft Entra admin center > Roles & admins",
            resource.key
        ),
        ResourceKind::ServicePrincipal => format!(
            "enterprise application (service principal {id}) of app {}: Microsoft Entra admin center > \
             Enterprise applications > the app > Properties > Delete (this ends the vendor's access)",
            resource.key
        ),
    }
}
