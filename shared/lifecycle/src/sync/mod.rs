//! Service running: the daily sync of each site and the per-tenant sync it fans out to.
//!
//! - [`DailySync`] (`daily-sync`) records a site's run and queues one message per active tenant,
//!   once per site and UTC date.
//! - [`Syncer`] (`sync-worker`) syncs one tenant per message: directory delta into the snapshot,
//!   verified domains and MX, transport-rule domain conditions, drift of our objects (repaired by
//!   the provisioning steps themselves), and keeps how it ended in the run's progress.

mod claim;
pub mod daily;
pub mod directory;
pub mod dns;
pub mod domains;
pub mod drift;
pub mod error;
pub mod progress;
pub mod report;
pub mod snapshot;
pub mod state;
pub mod worker;

pub use self::{
    daily::{DailySync, DailySyncRequest, RunSummary, SiteRun, SyncMessage},
    error::SyncError,
    progress::{RunFailure, RunOutcome, RunProgress},
    report::TenantReport,
    state::SyncState,
    worker::Syncer,
};
