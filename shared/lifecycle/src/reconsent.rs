//! A tenant whose grant is gone moves to `needs_reconsent`, whichever function saw it (the token
//! refresh, a sync, a task): it leaves the site index, so sync and refresh skip it until its admin
//! consents again.

use chrono::Utc;
use model::tenant::{LifecycleState, TenantId};
use state::store::{Store, StoreError};

/// Moves an active tenant to `needs_reconsent` with `reason` as its attention; a tenant in any
/// other state is left as it is (a task in flight owns its state).
pub async fn mark(store: &Store, tenant: TenantId, reason: &str) -> Result<(), StoreError> {
    for _ in 0..3 {
        let Some(mut current) = store.tenant(tenant).await? else {
            return Ok(());
        };
        if current.state != LifecycleState::Active {
            return Ok(());
        }
        current.state = LifecycleState::NeedsReconsent;
        current.attention = Some(reason.to_owned());
        current.updated_at = Utc::now();
        match store.update(&mut current).await {
            Ok(()) => {
                tracing::warn!(tenant = %tenant, "tenant needs re-consent");
                return Ok(());
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
