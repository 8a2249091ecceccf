//! A tenant whose grant is gone moves to `needs_reconsent`, whichever function saw it (the token
//! refresh, a sync, a task): it leaves the site index, so sync and refresh skip it until its admin
//! consents again.

use chrono::Utc;
use model::tenant::{LifecycleState, TenantId};
use state::{
    bus::EventBus,
    store::{Store, StoreError},
};

/// Moves an active tenant to `needs_reconsent` with `reason` as its attention (and how to get the
/// admin a consent link); a tenant in any other state is left as it is (a task in flight owns
/// its state).
pub async fn mark(
    store: &Store,
    bus: Option<&EventBus>,
    tenant: TenantId,
    reason: &str,
) -> Result<(), StoreError> {
    for _ in 0..3 {
        let Some(mut current) = store.tenant(tenant).await? else {
            return Ok(());
        };
        if current.state != LifecycleState::Active {
            return Ok(());
        }
        current.state = LifecycleState::NeedsReconsent;
        // The link itself is made on demand (it expires): Verify makes it and puts it here.
        current.attention = Some(format!(
            "{reason}; for the admin's consent link, run onboard with {{\"verify\": \"{tenant}\"}}"
        ));
        current.updated_at = Utc::now();
        match store.update(&mut current).await {
            Ok(()) => {
                crate::meter::needs_reconsent();
                tracing::warn!(tenant = %tenant, "tenant needs re-consent");
                crate::announce::moved(bus, &current).await;
                return Ok(());
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
