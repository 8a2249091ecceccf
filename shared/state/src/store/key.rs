//! Primary keys of the single state table (docs/design.md, "State").
//!
//! | item              | pk                 | sk                                  |
//! |-------------------|--------------------|-------------------------------------|
//! | tenant            | `TENANT#{id}`      | `TENANT`                            |
//! | managed resource  | `TENANT#{id}`      | `RES#{kind}#{key}`                  |
//! | task              | `TASK#{task_id}`   | `TASK`                              |
//! | step of a task    | `TASK#{task_id}`   | `STEP#{service}#{order:03}#{name}`  |
//! | audit entry       | `AUDIT#{id}`       | `{action}#{task_id}#{subject}`      |
//! | consent request   | `CONSENT#{nonce}`  | `CONSENT`                           |
//! | task in a history | `TASKS#{id}`       | `{created_at}#{task_id}`            |
//!
//! Indexes: `active-by-site`, and the fleet's `tenants-by-site`, `tenants-by-state` and
//! `tenants-needing-attention` (below).

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use model::{service::Service, sites::Site, task::TaskId, tenant::TenantId};

/// Name of the table's partition key attribute.
pub const PARTITION_KEY: &str = "pk";
/// Name of the table's sort key attribute.
pub const SORT_KEY: &str = "sk";
/// The sparse index of active tenants by site.
pub const SITE_INDEX: &str = "active-by-site";
/// Partition key of [`SITE_INDEX`]: set only on tenants that the daily sync covers.
pub const SITE_INDEX_KEY: &str = "active_site";
/// The TTL attribute (epoch seconds); finished tasks and their steps expire through it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The index of every tenant, ordered by site.
pub const BY_SITE: &str = "tenants-by-site";
/// The index of tenants by lifecycle state, ordered by site.
pub const BY_STATE: &str = "tenants-by-state";
/// Hash key of [`BY_SITE`]: the same value on every tenant.
pub const FLEET_KEY: &str = "tenant_fleet";
/// The value of [`FLEET_KEY`].
pub const FLEET: &str = "tenant";
/// Hash key of [`BY_STATE`]: the tenant's lifecycle state.
pub const STATE_KEY: &str = "tenant_state";
/// The sparse index of tenants someone must act on, ordered by site.
pub const BY_ATTENTION: &str = "tenants-needing-attention";
/// Hash key of [`BY_ATTENTION`]: [`FLEET`], set only on a tenant that needs attention.
pub const ATTENTION_KEY: &str = "tenant_attention";
/// The attribute of a tenant record's tags (its field `tags`), which a listing filters on.
pub const TAGS_ATTRIBUTE: &str = "tags";
/// Range key of the three fleet indexes: `{site}#{tenant_id}`.
pub const ORDER_KEY: &str = "tenant_order";

/// Where a tenant record sits in the fleet's indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetEntry {
    /// Its lifecycle state.
    pub state: String,
    /// `{site}#{tenant_id}`.
    pub order: String,
    /// Whether it is in the attention index.
    pub attention: bool,
}

/// The range key of a tenant in the fleet's indexes: `{site}#{tenant_id}`.
pub fn fleet_order(site: Site, tenant_id: TenantId) -> String {
    format!("{}#{tenant_id}", site.code())
}

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

impl Key {
    /// The tenant record.
    pub fn tenant(tenant_id: TenantId) -> Self {
        Self {
            pk: tenant_partition(tenant_id),
            sk: TENANT_SORT_KEY.to_owned(),
        }
    }

    /// A resource we created or added in the tenant.
    pub fn resource(tenant_id: TenantId, kind: &str, key: &str) -> Self {
        Self {
            pk: tenant_partition(tenant_id),
            sk: format!("{RESOURCE_PREFIX}{kind}#{key}"),
        }
    }

    /// A consent link's request (the operator's choices), by the link's nonce.
    pub fn consent(nonce: &uuid::Uuid) -> Self {
        Self {
            pk: format!("CONSENT#{nonce}"),
            sk: "CONSENT".to_owned(),
        }
    }

    /// An audit entry of a tenant: a partition of its own, so no removal of the tenant's
    /// items reaches it.
    pub fn audit(tenant_id: TenantId, action: &str, task_id: &str, subject: &str) -> Self {
        Self {
            pk: format!("AUDIT#{tenant_id}"),
            sk: format!("{action}#{task_id}#{subject}"),
        }
    }

    /// A task's summary in its tenant's history: a partition of its own, so that no removal of
    /// the tenant's items reaches it; sort keys order by creation (RFC 3339, UTC, milliseconds).
    pub fn task_summary(tenant_id: TenantId, created_at: DateTime<Utc>, task_id: TaskId) -> Self {
        Self {
            pk: history_partition(tenant_id),
            sk: format!(
                "{}#{task_id}",
                created_at.to_rfc3339_opts(SecondsFormat::Millis, true)
            ),
        }
    }

    /// A task record.
    pub fn task(task_id: &str) -> Self {
        Self {
            pk: task_partition(task_id),
            sk: "TASK".to_owned(),
        }
    }

    /// A step of a task; steps sort by service, then order.
    pub fn step(task_id: &str, service: Option<Service>, order: u16, name: &str) -> Self {
        let scope = service.map_or("tenant", Service::code);
        Self {
            pk: task_partition(task_id),
            sk: format!("{STEP_PREFIX}{scope}#{order:03}#{name}"),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.pk, self.sk)
    }
}

/// Sort key of the tenant record.
pub const TENANT_SORT_KEY: &str = "TENANT";
/// Sort-key prefix of managed resources.
pub const RESOURCE_PREFIX: &str = "RES#";
/// Sort-key prefix of steps.
pub const STEP_PREFIX: &str = "STEP#";

/// The partition of a tenant and its resources.
pub fn tenant_partition(tenant_id: TenantId) -> String {
    format!("TENANT#{tenant_id}")
}

/// The partition of a tenant's task history.
pub fn history_partition(tenant_id: TenantId) -> String {
    format!("TASKS#{tenant_id}")
}

/// The partition of a task and its steps.
pub fn task_partition(task_id: &str) -> String {
    format!("TASK#{task_id}")
}
