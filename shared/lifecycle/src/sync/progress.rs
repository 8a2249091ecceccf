//! A site run's progress: each tenant's outcome is kept in the run's partition beside the run
//! record, so an operator reads how many were queued, synced, failed and skipped, and when the
//! run completed, with one `Query`. The latest outcome of a tenant counts, except that nothing
//! replaces a sync that succeeded in the same run (a late redelivery that fails, or finds the
//! tenant gone).

use chrono::{DateTime, NaiveDate, Utc};
use model::{sites::Site, tenant::TenantId};
use serde::{Deserialize, Serialize};
use state::store::{Key, Record, Store, StoreError, decode, key, records::FINISHED_TASK_RETENTION};

use super::{
    daily::{RunStatus, SiteRun, SyncMessage},
    error::SyncError,
    report::{Outcome, TenantReport},
};

/// The most characters of a failure kept (Microsoft's text is bounded already).
const MAX_DETAIL: usize = 1_000;

/// Sort-key prefix of a run's tenant outcomes.
const TENANT_PREFIX: &str = "TENANT#";

/// How one tenant's sync in a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Synced (also: found synced already in this run).
    Synced,
    /// Failed; SQS delivers it again until its dead-letter queue takes it.
    Failed,
    /// Not synced, on purpose (not active, needs re-consent, not under management).
    Skipped,
}

/// One tenant's outcome in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTenant {
    /// The run's site.
    pub site: Site,
    /// The run's UTC date.
    pub run_date: NaiveDate,
    /// The tenant.
    pub tenant_id: TenantId,
    /// How its sync ended.
    pub outcome: RunOutcome,
    /// Why it failed or was skipped.
    #[serde(default)]
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl Record for RunTenant {
    const ENTITY: &'static str = "run_tenant";

    fn key(&self) -> Key {
        Key {
            pk: SiteRun::key_of(self.site, self.run_date).pk,
            sk: format!("{TENANT_PREFIX}{}", self.tenant_id),
        }
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.at + FINISHED_TASK_RETENTION)
    }
}

/// Where a run stands, counted from its tenants' outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunProgress {
    /// The run record.
    pub run: SiteRun,
    /// Tenants queued.
    pub queued: usize,
    /// Tenants synced.
    pub synced: usize,
    /// Tenants whose last attempt failed.
    pub failed: usize,
    /// Tenants skipped.
    pub skipped: usize,
    /// When the last queued tenant's outcome came, once every one has one.
    pub completed_at: Option<DateTime<Utc>>,
    /// The failed tenants and why, by tenant id.
    pub failures: Vec<RunFailure>,
}

/// A tenant whose last attempt in a run failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RunFailure {
    /// The tenant.
    pub tenant_id: TenantId,
    /// What its sync said.
    pub reason: String,
}

/// The run of `site` on `date` and its tenants' outcomes, if the run exists.
pub async fn progress(store: &Store, site: Site, date: NaiveDate) -> Result<Option<RunProgress>, StoreError> {
    let key = SiteRun::key_of(site, date);
    let mut run: Option<SiteRun> = None;
    let mut tenants: Vec<RunTenant> = Vec::new();
    for item in store.query_prefix(&key.pk, "").await? {
        let sk = item
            .get(key::SORT_KEY)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if sk == key.sk {
            run = Some(decode(item)?);
        } else if sk.starts_with(TENANT_PREFIX) {
            tenants.push(decode(item)?);
        }
    }
    let Some(run) = run else {
        return Ok(None);
    };
    let count = |outcome| tenants.iter().filter(|t| t.outcome == outcome).count();
    let queued = run.tenants;
    let completed = run.status == RunStatus::Enqueued && tenants.len() >= queued;
    let mut failures: Vec<RunFailure> = tenants
        .iter()
        .filter(|t| t.outcome == RunOutcome::Failed)
        .map(|t| RunFailure {
            tenant_id: t.tenant_id,
            reason: t.detail.clone().unwrap_or_default(),
        })
        .collect();
    failures.sort();
    Ok(Some(RunProgress {
        queued,
        synced: count(RunOutcome::Synced),
        failed: count(RunOutcome::Failed),
        skipped: count(RunOutcome::Skipped),
        completed_at: completed.then(|| tenants.iter().map(|t| t.at).max()).flatten(),
        failures,
        run,
    }))
}

/// Keeps how `message`'s sync ended in its run. A continued sync has not ended; a message whose
/// run id names no run (a hand-made one) is kept nowhere.
pub async fn note(
    store: &Store,
    message: &SyncMessage,
    result: &Result<TenantReport, SyncError>,
) -> Result<(), StoreError> {
    let Some(run_date) = run_date(message) else {
        return Ok(());
    };
    let (outcome, detail) = match result {
        Ok(report) if report.duplicate => (RunOutcome::Synced, None),
        Ok(report) => match report.outcome {
            Outcome::Synced => (RunOutcome::Synced, None),
            Outcome::Skipped => (RunOutcome::Skipped, report.reason.clone()),
            Outcome::Continued => return Ok(()),
        },
        Err(err) => (
            RunOutcome::Failed,
            Some(model::validation::bounded_text(
                &format!("{}: {err}", err.error_type()),
                MAX_DETAIL,
            )),
        ),
    };
    let record = RunTenant {
        site: message.site,
        run_date,
        tenant_id: message.tenant_id,
        outcome,
        detail,
        at: Utc::now(),
    };
    if outcome != RunOutcome::Synced {
        let kept: Option<RunTenant> = store.get(&record.key()).await?;
        if kept.is_some_and(|k| k.outcome == RunOutcome::Synced) {
            return Ok(());
        }
    }
    store.put(&record).await
}

/// The date of `message`'s run (`{site}-{date}`).
fn run_date(message: &SyncMessage) -> Option<NaiveDate> {
    message
        .run_id
        .strip_prefix(message.site.code())?
        .strip_prefix('-')?
        .parse()
        .ok()
}
