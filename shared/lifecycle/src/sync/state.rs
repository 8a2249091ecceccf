//! What the sync keeps per tenant: its sync state (delta links, domains, expected MX, last run),
//! the directory snapshot entries, and the drift it repaired.
//!
//! | item            | pk               | sk                           |
//! |-----------------|------------------|------------------------------|
//! | sync state      | `TENANT#{id}`    | `SYNC`                       |
//! | drift repaired  | `TENANT#{id}`    | `DRIFT#{RFC 3339 time}`      |
//! | snapshot entry  | `DIR#{id}`       | `USER#{object id}` / `GROUP#{object id}` |
//!
//! The snapshot has its own partition so that reading a tenant's resources never pages through
//! a hundred thousand users.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use model::tenant::TenantId;
use serde::{Deserialize, Serialize};
use state::store::{Key, Record, Store, key::tenant_partition};

use crate::tasks::TaskError;

/// Sort key of the sync state.
pub const SYNC_SORT_KEY: &str = "SYNC";
/// Sort-key prefix of drift records.
pub const DRIFT_PREFIX: &str = "DRIFT#";

/// The partition of a tenant's directory snapshot.
pub fn snapshot_partition(tenant_id: TenantId) -> String {
    format!("DIR#{tenant_id}")
}

/// A tenant's sync state, written at the end of every sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncState {
    /// The tenant.
    pub tenant_id: Option<TenantId>,
    /// The users delta link to resume from (absolute Graph URL; holds no token).
    pub users_delta: Option<String>,
    /// The groups delta link to resume from.
    pub groups_delta: Option<String>,
    /// Verified domains that receive mail, lower-case, sorted.
    pub verified_domains: Vec<String>,
    /// Exchange's accepted domains, lower-case, sorted.
    pub accepted_domains: Vec<String>,
    /// Expected MX hosts per verified domain (from `serviceConfigurationRecords`).
    pub expected_mx: BTreeMap<String, Vec<String>>,
    /// When every domain's expected MX was last read (a week later they are read again).
    pub expected_mx_read_at: Option<DateTime<Utc>>,
    /// Domains whose live MX does not route to Exchange Online, with what was found.
    pub mx_problems: Vec<String>,
    /// Drift found and repaired by the last sync that found any.
    pub last_drift: Vec<String>,
    /// When that drift was repaired.
    pub last_drift_at: Option<DateTime<Utc>>,
    /// A full listing that an invocation's deadline cut short, to go on from in the next one.
    pub listing: Option<ListingCheckpoint>,
    /// The run that last synced the tenant: a second delivery of its message changes nothing.
    pub last_run_id: Option<String>,
    /// When the tenant was last synced.
    pub synced_at: Option<DateTime<Utc>>,
    /// The run whose worker is syncing the tenant now, if any: one worker per tenant at a time.
    pub claimed_by: Option<String>,
    /// When that claim lapses (a worker that died holds it no longer).
    pub claimed_until: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

state::versioned!(SyncState);

impl SyncState {
    /// The key of `tenant_id`'s sync state.
    pub fn key_of(tenant_id: TenantId) -> Key {
        Key {
            pk: tenant_partition(tenant_id),
            sk: SYNC_SORT_KEY.to_owned(),
        }
    }

    /// The stored delta link of `kind`.
    pub fn delta(&self, kind: EntryKind) -> Option<&str> {
        match kind {
            EntryKind::User => self.users_delta.as_deref(),
            EntryKind::Group => self.groups_delta.as_deref(),
        }
    }

    /// The stored delta link of `kind`, to replace.
    pub fn delta_mut(&mut self, kind: EntryKind) -> &mut Option<String> {
        match kind {
            EntryKind::User => &mut self.users_delta,
            EntryKind::Group => &mut self.groups_delta,
        }
    }

    /// Until when a worker holds the tenant, if one does now (a lapsed claim holds nothing).
    pub fn held_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.claimed_by.as_ref()?;
        self.claimed_until.filter(|until| *until > now)
    }

    /// Refuses a lifecycle write while a sync holds the tenant: a sync that read the tenant
    /// before the write would repair what the write removes (deprovisioning) or set back what it
    /// changes (policy targets).
    pub async fn refuse_while_syncing(store: &Store, tenant_id: TenantId) -> Result<(), TaskError> {
        let state: Option<Self> = store.get(&Self::key_of(tenant_id)).await?;
        match state.and_then(|s| s.held_until(Utc::now())) {
            Some(until) => Err(TaskError::Syncing {
                tenant: tenant_id.to_string(),
                until: until.to_rfc3339(),
            }),
            None => Ok(()),
        }
    }
}

impl Record for SyncState {
    const ENTITY: &'static str = "sync_state";

    fn key(&self) -> Key {
        match self.tenant_id {
            Some(id) => Self::key_of(id),
            // Never written without a tenant; an empty partition would be refused by DynamoDB.
            None => Key {
                pk: String::new(),
                sk: SYNC_SORT_KEY.to_owned(),
            },
        }
    }
}

/// Where a full listing stopped: the next invocation lists on from `next_link` instead of
/// starting over (a 100,000-user first sync is ~101 pages, more than one invocation's time at
/// Graph's real latency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingCheckpoint {
    /// What is being listed.
    pub kind: EntryKind,
    /// The next page (Graph's own link, holding no token): of the kind's listing, or of its
    /// delta (a delta of many changes stopped the same way).
    pub next_link: String,
    /// The from-now delta link taken before the listing began, stored once it ends.
    pub delta_link: Option<String>,
    /// Whether entries the listing did not write are removed at its end (an expired delta link;
    /// for a delta's checkpoint: when its link must be given up and the kind listed anew).
    pub sweep: bool,
    /// The generation the listing stamps on entries (the run that began it).
    pub generation: String,
    /// Pages read so far, across invocations (the page limit counts them all).
    pub pages: usize,
    /// Objects written so far.
    pub upserted: usize,
    /// Objects removed so far (a delta's `@removed`).
    #[serde(default)]
    pub removed: usize,
}

/// Drift of our objects that a sync found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// When it was repaired.
    pub repaired_at: DateTime<Utc>,
    /// What was found, one finding per entry (e.g. "transport rule X deleted").
    pub findings: Vec<String>,
}

impl Record for DriftRecord {
    const ENTITY: &'static str = "drift";

    fn key(&self) -> Key {
        Key {
            pk: tenant_partition(self.tenant_id),
            sk: format!("{DRIFT_PREFIX}{}", self.repaired_at.to_rfc3339()),
        }
    }
}

/// Whether a snapshot entry is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A user.
    User,
    /// A group.
    Group,
}

impl EntryKind {
    /// The sort-key prefix of the kind.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::User => "USER#",
            Self::Group => "GROUP#",
        }
    }
}

/// One user or group of the tenant's directory snapshot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// The tenant.
    pub tenant_id: TenantId,
    /// User or group.
    pub kind: EntryKind,
    /// Microsoft's object id.
    pub id: String,
    /// The user principal name (users) or display name (groups).
    pub name: String,
    /// Display name (users) or mail address (groups), where there is one.
    #[serde(default)]
    pub detail: Option<String>,
    /// The full listing that last wrote the entry (a listing removes entries of older ones).
    #[serde(default)]
    pub generation: String,
}

impl DirectoryEntry {
    /// The key of an entry.
    pub fn key_of(tenant_id: TenantId, kind: EntryKind, id: &str) -> Key {
        Key {
            pk: snapshot_partition(tenant_id),
            sk: format!("{}{id}", kind.prefix()),
        }
    }
}

impl Record for DirectoryEntry {
    const ENTITY: &'static str = "directory_entry";

    fn key(&self) -> Key {
        Self::key_of(self.tenant_id, self.kind, &self.id)
    }
}
