//! Records written by the vendor's scanning side and read here: the quarantine summary (checked
//! before deprovisioning) and the scheduled reports (stopped by deprovisioning).

use chrono::{DateTime, Utc};
use model::tenant::TenantId;
use serde::{Deserialize, Serialize};

use super::{Key, Record, key::tenant_partition};

/// Sort key of the quarantine summary.
pub const QUARANTINE: &str = "QUARANTINE";
/// Sort-key prefix of report schedules.
pub const REPORT_PREFIX: &str = "REPORT#";

/// How many of the tenant's messages are held in the vendor's quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineSummary {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Messages in quarantine now.
    pub quarantined_items: u64,
    /// When the scanning side last counted.
    pub updated_at: DateTime<Utc>,
}

impl Record for QuarantineSummary {
    const ENTITY: &'static str = "quarantine_summary";

    fn key(&self) -> Key {
        Key {
            pk: tenant_partition(self.tenant_id),
            sk: QUARANTINE.to_owned(),
        }
    }
}

/// A report the vendor sends on a schedule for the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSchedule {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The report's name.
    pub name: String,
    /// Whether it is still sent.
    pub enabled: bool,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Record for ReportSchedule {
    const ENTITY: &'static str = "report_schedule";

    fn key(&self) -> Key {
        Key {
            pk: tenant_partition(self.tenant_id),
            sk: format!("{REPORT_PREFIX}{}", self.name),
        }
    }
}
