//! The durable audit trail: actions that raise someone's privilege in a customer's tenant, kept
//! without expiry (tasks and steps expire after 30 days; these entries never do).

use chrono::{DateTime, Utc};
use model::{task::TaskId, tenant::TenantId};
use serde::{Deserialize, Serialize};

use super::{key::Key, records::Record};

/// One audited action; writing it again (a retried step) overwrites the same item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The tenant it happened in.
    pub tenant_id: TenantId,
    /// What was done, e.g. `global_administrator_assigned`.
    pub action: String,
    /// To whom or what (a user principal name).
    pub subject: String,
    /// The task that did it.
    pub task_id: TaskId,
    /// Who asked, as the request named them.
    pub requested_by: String,
    /// Microsoft's id of the result (the role assignment).
    pub reference: String,
    /// When it was done.
    pub at: DateTime<Utc>,
}

impl Record for AuditRecord {
    const ENTITY: &'static str = "audit";

    fn key(&self) -> Key {
        Key::audit(
            self.tenant_id,
            &self.action,
            &self.task_id.to_string(),
            &self.subject,
        )
    }
}
