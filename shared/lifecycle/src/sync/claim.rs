//! A worker's claim on a tenant for one run: a conditional write on its sync state, so two
//! workers never sync one tenant at once, and a claim of a worker that died lapses.

use chrono::{Duration, Utc};
use state::store::StoreError;

use super::{SyncError, SyncState, Syncer};

/// How long a worker holds a tenant; past it (the worker died) another may take it.
const CLAIM: Duration = Duration::minutes(5);

impl Syncer {
    /// Takes the tenant for this run (a conditional write): a second worker at the same time, for
    /// the same run or another, gets `Busy` and its message comes back later.
    pub(super) async fn claim(&self, state: &mut SyncState, run_id: &str) -> Result<(), SyncError> {
        let now = Utc::now();
        let busy = |state: &SyncState| SyncError::Busy {
            tenant: state.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
            run: state.claimed_by.clone().unwrap_or_default(),
            until: state.claimed_until.map(|t| t.to_rfc3339()).unwrap_or_default(),
        };
        if state.claimed_by.is_some() && state.claimed_until.is_some_and(|until| until > now) {
            return Err(busy(state));
        }
        state.claimed_by = Some(run_id.to_owned());
        state.claimed_until = Some(now + CLAIM);
        let written = match state.version {
            0 => self.store.create(state).await,
            _ => self.store.update(state).await,
        };
        match written {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                let key = state::store::Record::key(&*state);
                let current: Option<SyncState> = self.store.get(&key).await?;
                Err(busy(&current.unwrap_or_default()))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Writes the state and gives the tenant back; fails if another worker took it meanwhile.
    pub(super) async fn release(&self, state: &mut SyncState) -> Result<(), SyncError> {
        state.claimed_by = None;
        state.claimed_until = None;
        self.store.update(state).await?;
        Ok(())
    }
}
