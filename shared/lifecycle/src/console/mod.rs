//! The operator's console (the `api` function's behaviour, without HTTP): the fleet read from
//! its indexes, never by a `Scan`; a tenant, a task, a site's run; and the actions an operator
//! takes, each through the same door as the function that owns it: tasks are opened on the
//! engine with the task functions' validation and queued to `provision`, consent links and
//! Verify are `onboard`'s, a site's sync is `daily-sync`'s fan-out, a tenant's sync one message
//! to `sync-worker`.

mod actions;
mod error;
mod views;

use aws_config::SdkConfig;
use chrono::{Duration, NaiveDate};
use futures_util::future::{try_join, try_join_all, try_join5};
use model::{
    config::{ConfigError, ProcessEnv, Source},
    sites::Site,
    task::TaskId,
    tenant::{LifecycleState, TenantId},
};
use state::{
    queue::Queue,
    store::{Store, TenantCursor, TenantFilter},
};

pub use self::{
    actions::{Started, SyncQueued, TaskAction},
    error::ConsoleError,
    views::{DayCounts, FleetView, SiteHistory, SiteRuns, SyncSummary, TenantDetail, TenantList, TenantRow},
};
use crate::{
    onboarding::Onboarding,
    refresh::LastRefresh,
    sync::{RunProgress, SyncState, progress},
    tasks::{TaskView, TenantView},
};

/// How many of a tenant's tasks its detail shows.
pub const RECENT_TASKS: usize = 10;
/// How many tenants needing attention the fleet view names.
pub const ATTENTION_SHOWN: usize = 20;

/// The console's services: `onboard`'s (the engine, admission, the consent key) and the sync
/// queue.
pub struct Console {
    /// Consent links, Verify, and the engine that opens tasks.
    pub onboarding: Onboarding,
    /// The sync queue (`sync-worker`'s).
    pub sync: Queue,
}

impl Console {
    /// Builds every service from `source` (README: Configuration) and the SDK configuration.
    pub fn from_source(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            onboarding: Onboarding::from_source(sdk, source)?,
            sync: Queue::sync(sdk, source)?,
        })
    }

    /// Builds every service from the process environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = state::aws::sdk_config().await;
        Self::from_source(&sdk, &state::parameters::resolve(&sdk, &ProcessEnv).await?)
    }

    /// The state store.
    pub fn store(&self) -> &Store {
        &self.onboarding.engine.store
    }

    /// A page of the tenants `filter` asks for, after `cursor`.
    pub async fn tenants(
        &self,
        filter: &TenantFilter,
        limit: usize,
        cursor: Option<TenantCursor>,
    ) -> Result<TenantList, ConsoleError> {
        let page = self.store().tenants(filter, limit, cursor).await?;
        Ok(TenantList {
            tenants: page.tenants.iter().map(TenantRow::from).collect(),
            cursor: page.cursor.map(|c| c.to_string()),
        })
    }

    /// A tenant in detail.
    pub async fn tenant(&self, tenant_id: TenantId) -> Result<TenantDetail, ConsoleError> {
        let store = self.store();
        let tenant = store
            .tenant(tenant_id)
            .await?
            .ok_or_else(|| crate::tasks::TaskError::UnknownTenant(tenant_id.to_string()))?;
        let last_task = async {
            Ok::<_, state::store::StoreError>(match tenant.current_task_id {
                Some(task_id) => store.task_with_steps(task_id).await?.as_ref().map(TaskView::from),
                None => None,
            })
        };
        let (last_task, resources, sync, recent_tasks, quarantine) = futures_util::future::try_join5(
            last_task,
            store.resources(tenant_id),
            store.get::<SyncState>(&SyncState::key_of(tenant_id)),
            store.task_history(tenant_id, RECENT_TASKS, None),
            store.quarantine(tenant_id),
        )
        .await?;
        Ok(TenantDetail {
            view: TenantView::new(&tenant, last_task, resources),
            labels: tenant.labels(),
            paused_at: tenant.paused_at,
            sync: sync.as_ref().map(SyncSummary::from),
            quarantined_items: quarantine.map_or(0, |q| q.quarantined_items),
            recent_tasks,
        })
    }

    /// Each of `sites`' runs over the `days` days up to `today`, counted (the queries run
    /// together: one per site and day).
    pub async fn run_history(
        &self,
        sites: &[Site],
        today: NaiveDate,
        days: u32,
    ) -> Result<Vec<SiteHistory>, ConsoleError> {
        let store = self.store();
        try_join_all(sites.iter().map(|&site| async move {
            let dates = (0..i64::from(days))
                .rev()
                .map(|back| today - Duration::days(back));
            let runs = try_join_all(dates.map(|date| progress::progress(store, site, date))).await?;
            Ok::<_, ConsoleError>(SiteHistory {
                site,
                days: runs.iter().flatten().map(DayCounts::from).collect(),
            })
        }))
        .await
    }

    /// A task, per service and step.
    pub async fn task(&self, task_id: TaskId) -> Result<TaskView, ConsoleError> {
        Ok(TaskView::from(&self.onboarding.engine.task(task_id).await?))
    }

    /// A site's run on `date`.
    pub async fn run(&self, site: Site, date: NaiveDate) -> Result<RunProgress, ConsoleError> {
        progress::progress(self.store(), site, date)
            .await?
            .ok_or(ConsoleError::UnknownRun { site, date })
    }

    /// The fleet: counts by state and site, who needs attention, each site's last run (of
    /// `today` or the day before) and the last token refresh. Every count is a `Query` of an
    /// index.
    pub async fn fleet(&self, today: NaiveDate) -> Result<FleetView, ConsoleError> {
        let store = self.store();
        // The queries are independent: they run together, so the view costs one round trip's
        // time per site's run (today, then yesterday) rather than the sum of all of them.
        let states = try_join_all(LifecycleState::ALL.into_iter().map(|state| async move {
            let filter = TenantFilter {
                state: Some(state),
                ..TenantFilter::default()
            };
            Ok::<_, ConsoleError>((state.to_string(), store.count_tenants(&filter).await?))
        }));
        let attention = TenantFilter {
            attention: true,
            ..TenantFilter::default()
        };
        let sites = try_join_all(Site::all().map(|site| async move {
            let filter = TenantFilter {
                site: Some(site),
                ..TenantFilter::default()
            };
            let (tenants, mut last_run) = try_join(
                store.count_tenants(&filter),
                progress::progress(store, site, today),
            )
            .await?;
            if last_run.is_none() {
                last_run = progress::progress(store, site, today - Duration::days(1)).await?;
            }
            Ok::<_, ConsoleError>(SiteRuns {
                site,
                tenants,
                last_run,
            })
        }));
        let (by_state, needing_attention, shown, sites, last_refresh) = try_join5(
            states,
            async { Ok(store.count_tenants(&attention).await?) },
            async { Ok(store.tenants(&attention, ATTENTION_SHOWN, None).await?) },
            sites,
            async { Ok(store.get::<LastRefresh>(&LastRefresh::key_of()).await?) },
        )
        .await?;
        let by_state: std::collections::BTreeMap<String, u64> = by_state.into_iter().collect();
        Ok(FleetView {
            tenants: by_state.values().sum(),
            by_state,
            needing_attention,
            attention: shown.tenants.iter().map(TenantRow::from).collect(),
            sites,
            last_refresh,
        })
    }
}
