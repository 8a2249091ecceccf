//! Announcing a tenant's lifecycle change on the event bus, after the change is recorded.
//!
//! The record is the truth and is already written: a notice that does not reach the bus is
//! logged with everything it said and counted (`EventsNotPublished`), and the work goes on.

use chrono::Utc;
use model::{
    notice::{Change, Notice, SCHEMA_VERSION},
    tenant::LifecycleState,
};
use state::{bus::EventBus, store::TenantRecord};

/// Announces the state `tenant` was just moved to, if it is one a vendor hears of.
pub async fn moved(bus: Option<&EventBus>, tenant: &TenantRecord) {
    if let Some(change) = change_of(tenant) {
        announce(bus, tenant, change).await;
    }
}

/// What a tenant's move to its state announces: reaching `active`, `needs_reconsent` or
/// `deprovisioned` (the other states are a task's own, which its view shows).
fn change_of(tenant: &TenantRecord) -> Option<Change> {
    let task_id = tenant.current_task_id;
    match tenant.state {
        LifecycleState::Active => Some(Change::TenantActive { task_id }),
        LifecycleState::NeedsReconsent => Some(Change::NeedsReconsent {
            reason: tenant
                .attention
                .clone()
                .unwrap_or_else(|| "Microsoft refused the tenant's grant".to_owned()),
        }),
        LifecycleState::Deprovisioned => Some(Change::Deprovisioned {
            task_id,
            attention: tenant.attention.clone(),
        }),
        _ => None,
    }
}

/// Puts `change` of `tenant` on `bus`; without a bus (a function that never changes a lifecycle)
/// there is nothing to announce to.
pub async fn announce(bus: Option<&EventBus>, tenant: &TenantRecord, change: Change) {
    let Some(bus) = bus else {
        return;
    };
    let notice = Notice {
        schema_version: SCHEMA_VERSION,
        tenant_id: tenant.tenant_id,
        site: tenant.site,
        display_name: tenant.display_name.clone(),
        customer_ref: tenant.customer_ref.clone(),
        at: Utc::now(),
        change,
    };
    match bus.publish(&notice).await {
        Ok(()) => tracing::info!(
            detail_type = notice.change.detail_type(),
            "lifecycle event published"
        ),
        Err(err) => {
            crate::meter::event_not_published();
            tracing::error!(
                error = %err,
                notice = %serde_json::to_string(&notice).unwrap_or_default(),
                "lifecycle event not published; the change is recorded, only its notification is missing"
            );
        }
    }
}
