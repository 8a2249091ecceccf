//! Lifecycle changes announced on the event bus, for a vendor's notifications (mail, chat,
//! ticketing). The detail of each event is a [`Notice`]; its `detail-type` names the change.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    sites::Site,
    task::{TaskId, TaskKind},
    tenant::TenantId,
};

/// The `source` of every event m365-inline puts on its bus.
pub const SOURCE: &str = "m365-inline";

/// The version of the detail's shape; a change that removes or renames a field raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// One lifecycle change of one tenant: the detail of an event on the bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tenant that changed.
    pub tenant_id: TenantId,
    /// Its site.
    pub site: Site,
    /// The operator's name for it, if any.
    pub display_name: Option<String>,
    /// The operator's reference for the customer (a ticketing system's key), if any.
    pub customer_ref: Option<String>,
    /// When the change was recorded.
    pub at: DateTime<Utc>,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// What changed, under `change` in the detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Provisioning finished: the tenant is protected and its daily sync and refresh run.
    TenantActive {
        /// The provisioning task.
        task_id: Option<TaskId>,
    },
    /// The admin's consent or a role is gone: work stops until the admin consents again.
    NeedsReconsent {
        /// What was refused, and what to do.
        reason: String,
    },
    /// Deprovisioning finished: the vendor's objects are gone from the tenant.
    Deprovisioned {
        /// The deprovisioning task.
        task_id: Option<TaskId>,
        /// What a person must still look at (objects left for manual cleanup), if anything.
        attention: Option<String>,
    },
    /// A task ended with a step that failed.
    TaskFailed {
        /// The task.
        task_id: TaskId,
        /// Its kind.
        task_kind: TaskKind,
        /// The step that failed first.
        step: Option<String>,
        /// What it failed with.
        error: Option<String>,
    },
    /// The daily sync put back objects of ours someone changed or removed.
    DriftRepaired {
        /// What was found changed or gone, one line per object (each now put back).
        repaired: Vec<String>,
    },
}

impl Change {
    /// Every `detail-type`, for the documentation and its tests.
    pub const DETAIL_TYPES: [&'static str; 5] = [
        "Tenant Active",
        "Tenant Needs Reconsent",
        "Tenant Deprovisioned",
        "Task Failed",
        "Drift Repaired",
    ];

    /// The event's `detail-type`, which a rule matches on.
    pub fn detail_type(&self) -> &'static str {
        let index = match self {
            Self::TenantActive { .. } => 0,
            Self::NeedsReconsent { .. } => 1,
            Self::Deprovisioned { .. } => 2,
            Self::TaskFailed { .. } => 3,
            Self::DriftRepaired { .. } => 4,
        };
        Self::DETAIL_TYPES[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_flat_json_with_its_change_named() {
        let tenant = "11111111-2222-3333-4444-555555555555"
            .parse::<TenantId>()
            .expect("guid");
        let notice = Notice {
            schema_version: SCHEMA_VERSION,
            tenant_id: tenant,
            site: Site::Eu,
            display_name: Some("<Contoso>".into()),
            customer_ref: None,
            at: DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .expect("time")
                .with_timezone(&Utc),
            change: Change::NeedsReconsent {
                reason: "consent revoked".into(),
            },
        };
        assert_eq!(notice.change.detail_type(), "Tenant Needs Reconsent");
        assert_eq!(
            serde_json::to_value(&notice).expect("json"),
            serde_json::json!({
                "schema_version": 1,
                "tenant_id": "11111111-2222-3333-4444-555555555555",
                "site": "eu",
                "display_name": "<Contoso>",
                "customer_ref": null,
                "at": "2026-12-04T10:00:00Z",
                "change": "needs_reconsent",
                "reason": "consent revoked",
            })
        );
    }
}
