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
//!
//! Indexes: `active-by-site` (below) and the fleet's (`super::fleet`).

use std::fmt;

use model::{service::Service, tenant::TenantId};

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

/// The partition of a task and its steps.
pub fn task_partition(task_id: &str) -> String {
    format!("TASK#{task_id}")
}
