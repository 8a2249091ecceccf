//! What the console answers: a tenant's row in a listing, its detail, the fleet at a glance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use model::{
    cloud::Cloud,
    label::Labels,
    service::{Service, ServiceStatus},
    sites::Site,
    task::TaskId,
    tenant::{LifecycleState, TenantId},
};
use serde::{Deserialize, Serialize};
use state::store::{TaskSummary, TenantRecord};

use crate::{
    refresh::LastRefresh,
    sync::{RunProgress, SyncState},
    tasks::TenantView,
};

/// A tenant in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRow {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The operator's name for it, reference and tags.
    #[serde(flatten)]
    pub labels: Labels,
    /// Its site.
    pub site: Site,
    /// Its cloud.
    pub cloud: Cloud,
    /// Its lifecycle state.
    pub state: LifecycleState,
    /// Since when its sync and refresh are paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    /// What someone must do, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
    /// The services asked for.
    pub services: Vec<Service>,
    /// Where each service stands after the last task that finished on it; empty before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_states: Vec<ServiceStatus>,
    /// The task that last moved its lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_task_id: Option<TaskId>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&TenantRecord> for TenantRow {
    fn from(tenant: &TenantRecord) -> Self {
        Self {
            tenant_id: tenant.tenant_id,
            labels: tenant.labels(),
            site: tenant.site,
            cloud: tenant.cloud,
            state: tenant.state,
            paused_at: tenant.paused_at,
            attention: tenant.attention.clone(),
            services: tenant.services.clone(),
            service_states: tenant.service_states.clone(),
            current_task_id: tenant.current_task_id,
            updated_at: tenant.updated_at,
        }
    }
}

/// One page of a tenant listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantList {
    /// The tenants, by site, then id.
    pub tenants: Vec<TenantRow>,
    /// Give it as `cursor` for the next page; none after the last.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// What the last syncs of a tenant found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// When it was last synced.
    pub synced_at: Option<DateTime<Utc>>,
    /// The run that last synced it.
    pub last_run_id: Option<String>,
    /// The verified domains found.
    pub verified_domains: Vec<String>,
    /// What drifted the last time drift was repaired.
    pub last_drift: Vec<String>,
    /// When drift was last repaired.
    pub last_drift_at: Option<DateTime<Utc>>,
    /// The MX records that do not route to the vendor.
    pub mx_problems: Vec<String>,
}

impl From<&SyncState> for SyncSummary {
    fn from(state: &SyncState) -> Self {
        Self {
            synced_at: state.synced_at,
            last_run_id: state.last_run_id.clone(),
            verified_domains: state.verified_domains.clone(),
            last_drift: state.last_drift.clone(),
            last_drift_at: state.last_drift_at,
            mx_problems: state.mx_problems.clone(),
        }
    }
}

/// A tenant in detail: its view, its labels and pause, its last sync, its recent tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantDetail {
    /// State, attention, services, policy targets, last task, managed resources.
    #[serde(flatten)]
    pub view: TenantView,
    /// The operator's name for it, reference and tags.
    #[serde(flatten)]
    pub labels: Labels,
    /// Since when its sync and refresh are paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    /// What its syncs found; none before its first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncSummary>,
    /// Messages in quarantine as the scanning side last counted (a deprovisioning must
    /// acknowledge them when not zero).
    pub quarantined_items: u64,
    /// Its newest tasks, newest first (kept beyond the tasks' 30 days).
    pub recent_tasks: Vec<TaskSummary>,
}

/// A site's last run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteRuns {
    /// The site.
    pub site: Site,
    /// Its tenants (every state).
    pub tenants: u64,
    /// Its latest run of today or yesterday (UTC), with its counts and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunProgress>,
}

/// A site's run on one day, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// The run's date (UTC).
    pub date: chrono::NaiveDate,
    /// Tenants queued.
    pub queued: usize,
    /// Tenants synced.
    pub synced: usize,
    /// Tenants whose last attempt failed.
    pub failed: usize,
    /// Tenants skipped.
    pub skipped: usize,
    /// The site's tenants by lifecycle state when the run queued (states without one left out;
    /// empty for a run recorded before runs took the snapshot).
    pub by_state: BTreeMap<String, u64>,
}

impl From<&RunProgress> for DayCounts {
    fn from(run: &RunProgress) -> Self {
        Self {
            date: run.run.run_date,
            queued: run.queued,
            synced: run.synced,
            failed: run.failed,
            skipped: run.skipped,
            by_state: run.run.by_state.clone(),
        }
    }
}

/// A site's runs over the last days, oldest first; a day without a run is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SiteHistory {
    /// The site.
    pub site: Site,
    /// Its runs.
    pub days: Vec<DayCounts>,
}

/// The fleet at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetView {
    /// Every tenant under management.
    pub tenants: u64,
    /// Tenants by lifecycle state (every state named, zero included).
    pub by_state: BTreeMap<String, u64>,
    /// Tenants someone must act on.
    pub needing_attention: u64,
    /// The first of them, by site, then id.
    pub attention: Vec<TenantRow>,
    /// Each site, its tenants and its last run.
    pub sites: Vec<SiteRuns>,
    /// The last token refresh's report; none before the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<LastRefresh>,
}
