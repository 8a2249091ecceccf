//! `daily-sync`: one run per site and UTC date. The run record is created with a conditional
//! write before anything is queued, so a second delivery of the scheduler's event (which
//! EventBridge Scheduler may make) queues nothing new.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::{try_join, try_join_all};
use model::{
    config::{ConfigError, ProcessEnv, Source},
    sites::Site,
    tenant::{LifecycleState, TenantId},
};
use serde::{Deserialize, Serialize};
use state::{
    queue::Queue,
    store::{Key, Record, Store, StoreError, TenantFilter},
};

use tracing::Instrument;

use super::error::SyncError;
use crate::span;

/// The scheduler's input: `{"site": "eu"}`, plus `run_date` to re-run or backfill a day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailySyncRequest {
    /// The site to sync.
    pub site: Site,
    /// The UTC date of the run (`YYYY-MM-DD`); today (UTC) when absent.
    #[serde(default)]
    pub run_date: Option<NaiveDate>,
}

/// One message of the sync queue: sync this tenant for this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncMessage {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its site.
    pub site: Site,
    /// The run (`{site}-{date}`): the worker syncs a tenant once per run.
    pub run_id: String,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Recorded; messages are being queued. A delivery that finds a run here (a crash of the
    /// first) queues every message again; the worker drops the duplicates by run id.
    Enqueuing,
    /// Every message was queued.
    Enqueued,
}

/// The record of one site's run on one UTC date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRun {
    /// The site.
    pub site: Site,
    /// The UTC date.
    pub run_date: NaiveDate,
    /// `{site}-{date}`.
    pub run_id: String,
    /// Where it stands.
    pub status: RunStatus,
    /// Active tenants found.
    pub tenants: usize,
    /// Every tenant of the site by lifecycle state when the run queued (states without one
    /// left out): the fleet's daily snapshot, which the console charts over time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_state: BTreeMap<String, u64>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When every message was queued.
    #[serde(default)]
    pub enqueued_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
}

impl SiteRun {
    /// The key of a site's run on `date`.
    pub fn key_of(site: Site, date: NaiveDate) -> Key {
        Key {
            pk: format!("RUN#{}#{date}", site.code()),
            sk: "RUN".to_owned(),
        }
    }
}

impl Record for SiteRun {
    const ENTITY: &'static str = "site_run";

    fn key(&self) -> Key {
        Self::key_of(self.site, self.run_date)
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.started_at + state::store::records::FINISHED_TASK_RETENTION)
    }
}

state::versioned!(SiteRun);

/// What `daily-sync` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The site.
    pub site: Site,
    /// The run's UTC date.
    pub run_date: NaiveDate,
    /// The run id the messages carry.
    pub run_id: String,
    /// Whether this delivery found the run already done (nothing was queued).
    pub duplicate: bool,
    /// Active tenants of the site.
    pub tenants: usize,
    /// Messages queued by this delivery.
    pub enqueued: usize,
}

/// Records the run and queues one message per active tenant of the site (batches of ten).
pub async fn fan_out(
    store: &Store,
    queue: &Queue,
    request: &DailySyncRequest,
    now: DateTime<Utc>,
) -> Result<RunSummary, SyncError> {
    let site = request.site;
    let run_date = request.run_date.unwrap_or_else(|| now.date_naive());
    let run_id = format!("{}-{run_date}", site.code());
    let span = span::run(site, &run_id);
    queue_run(store, queue, site, run_date, run_id, now)
        .instrument(span)
        .await
}

/// [`fan_out`] within the run's span.
async fn queue_run(
    store: &Store,
    queue: &Queue,
    site: Site,
    run_date: NaiveDate,
    run_id: String,
    now: DateTime<Utc>,
) -> Result<RunSummary, SyncError> {
    let mut run = SiteRun {
        site,
        run_date,
        run_id: run_id.clone(),
        status: RunStatus::Enqueuing,
        tenants: 0,
        by_state: BTreeMap::new(),
        started_at: now,
        enqueued_at: None,
        version: 0,
    };
    match store.create(&mut run).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists { .. }) => {
            let existing: Option<SiteRun> = store.get(&run.key()).await?;
            match existing {
                Some(existing) if existing.status == RunStatus::Enqueued => {
                    tracing::info!("duplicate delivery of a finished run: nothing queued");
                    return Ok(RunSummary {
                        site,
                        run_date,
                        run_id,
                        duplicate: true,
                        tenants: existing.tenants,
                        enqueued: 0,
                    });
                }
                // The first delivery stopped before queueing everything: finish its work.
                Some(existing) => run = existing,
                None => {
                    return Err(SyncError::from(StoreError::Conflict {
                        entity: SiteRun::ENTITY,
                        key: run.key().to_string(),
                        expected_version: 1,
                    }));
                }
            }
        }
        Err(err) => return Err(err.into()),
    }
    let (tenants, by_state) = try_join(store.active_tenants(site), count_by_state(store, site)).await?;
    let messages: Vec<SyncMessage> = tenants
        .iter()
        .map(|t| SyncMessage {
            tenant_id: t.tenant_id,
            site,
            run_id: run_id.clone(),
        })
        .collect();
    queue.send_all(&messages).await?;
    run.status = RunStatus::Enqueued;
    run.tenants = messages.len();
    run.by_state = by_state;
    run.enqueued_at = Some(Utc::now());
    store.update(&mut run).await?;
    crate::meter::fleet(site, &run.by_state);
    tracing::info!(tenants = messages.len(), "daily sync queued");
    Ok(RunSummary {
        site,
        run_date,
        run_id,
        duplicate: false,
        tenants: messages.len(),
        enqueued: messages.len(),
    })
}

/// The site's tenants counted by state, on the fleet's state index (one `Query` per state,
/// together); states without a tenant are left out.
async fn count_by_state(store: &Store, site: Site) -> Result<BTreeMap<String, u64>, StoreError> {
    let counts = try_join_all(LifecycleState::ALL.into_iter().map(|state| async move {
        let filter = TenantFilter {
            state: Some(state),
            site: Some(site),
            ..TenantFilter::default()
        };
        Ok::<_, StoreError>((state.to_string(), store.count_tenants(&filter).await?))
    }))
    .await?;
    Ok(counts.into_iter().filter(|(_, count)| *count > 0).collect())
}

/// `daily-sync`'s dependencies.
pub struct DailySync {
    /// The state table.
    pub store: Store,
    /// The sync queue.
    pub queue: Queue,
}

impl DailySync {
    /// Builds from `source` (`TABLE_NAME`, `SYNC_QUEUE_URL`).
    pub fn from_source(sdk: &aws_config::SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_source(sdk, source)?,
            queue: Queue::sync(sdk, source)?,
        })
    }

    /// Builds from the process environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = state::aws::sdk_config().await;
        Self::from_source(&sdk, &state::parameters::resolve(&sdk, &ProcessEnv).await?)
    }

    /// Handles the scheduler's event; a bad event changes nothing.
    pub async fn handle(&self, event: serde_json::Value) -> Result<RunSummary, SyncError> {
        let request: DailySyncRequest = model::event::from_value(event)?;
        fan_out(&self.store, &self.queue, &request, Utc::now()).await
    }
}
