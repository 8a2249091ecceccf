//! Service running (issue 6): the daily sync of each site and the per-tenant sync it fans out to.
//!
//! - [`run`]: `daily-sync` reads a site's active tenants and queues one message per tenant, once
//!   per site and UTC date.
//! - [`worker`]: `sync-worker` syncs one tenant per message: directory delta into the snapshot,
//!   verified domains and MX, transport-rule domain conditions, drift of our objects.

pub mod directory;
pub mod dns;
pub mod domains;
pub mod drift;
pub mod error;
pub mod run;
pub mod state;
pub mod worker;

pub use self::{
    error::SyncError,
    run::{DailySyncRequest, RunSummary, SiteRun, SyncMessage},
    state::SyncState,
    worker::{Syncer, TenantReport},
};
