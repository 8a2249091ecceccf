//! Peak memory of a sync worker on a 100,000-user tenant's first sync. The sync runs in a child
//! process (this binary, `bench sync-child`) built exactly as `sync-worker`'s `main` builds its
//! worker (`Syncer::from_env`); the simulator stays in the parent, so its memory is not counted.
//! The child reports its `VmRSS` before the sync and its `VmHWM` (peak RSS) after it.

use std::{collections::BTreeMap, process::Stdio, time::Instant};

use integration_tests::lab::{Lab, TenantCounts};
use lifecycle::sync::SyncMessage;
use model::{sites::Site, tenant::TenantId};
use serde::{Deserialize, Serialize};

use crate::{
    Plan,
    cold_start::field_kb,
    error::{BenchError, Result},
    report::{Figure, mb, median, number, thousands},
};

/// The variable naming the tenant the child syncs.
const TENANT_VARIABLE: &str = "BENCH_TENANT_ID";

/// What the child reports (one JSON line on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    /// `VmRSS` after building the worker, before the sync (KiB).
    pub rss_before_kb: u64,
    /// `VmHWM` after the sync (KiB).
    pub peak_rss_kb: u64,
    /// Users written to the snapshot.
    pub users: usize,
    /// Whether it was a full listing.
    pub full_listing: bool,
    /// Wall time of the sync in seconds.
    pub seconds: f64,
}

/// One measured first sync of a large tenant.
#[derive(Debug, Clone)]
pub struct LargeSync {
    /// The child's report.
    pub child: ChildReport,
    /// The tenant's requests.
    pub counts: TenantCounts,
}

/// Creates a tenant with `users` users and syncs it for the first time in a child process.
pub async fn large_first_sync(lab: &Lab, users: u64) -> Result<LargeSync> {
    let tenant = lab.active_tenant(Site::Us, users).await;
    lab.sim.reset_stats();
    let mut env: BTreeMap<String, String> = lab.function_env();
    env.insert(TENANT_VARIABLE.to_owned(), tenant.to_string());
    env.insert("RUST_LOG".to_owned(), "off".to_owned());
    let output = crate::child(&[crate::SYNC_CHILD], &env, Stdio::inherit()).await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(BenchError::run(
            "100,000-user sync child",
            format!("{}: {stdout}", output.status),
        ));
    }
    let child: ChildReport = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .ok_or_else(|| BenchError::run("100,000-user sync child", format!("no report in {stdout:?}")))?;
    if child.users as u64 != users || !child.full_listing {
        return Err(BenchError::run(
            "100,000-user sync child",
            format!("expected a full listing of {users} users: {child:?}"),
        ));
    }
    Ok(LargeSync {
        child,
        counts: lab.counts(tenant),
    })
}

/// The child: builds the worker from the environment, syncs one tenant, prints a [`ChildReport`].
pub async fn child() -> Result<()> {
    let tenant: TenantId = std::env::var(TENANT_VARIABLE)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| BenchError::Setup(format!("{TENANT_VARIABLE} is not a tenant id")))?;
    let syncer = lifecycle::sync::Syncer::from_env()
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let rss_before_kb = own_status_kb("VmRSS")?;
    let started = Instant::now();
    let report = syncer
        .sync_tenant(&SyncMessage {
            tenant_id: tenant,
            site: Site::Us,
            run_id: format!("large-{tenant}"),
        })
        .await
        .map_err(|e| BenchError::run("sync", e))?;
    let seconds = started.elapsed().as_secs_f64();
    let report = ChildReport {
        rss_before_kb,
        peak_rss_kb: own_status_kb("VmHWM")?,
        users: report.users.0,
        full_listing: report.full_listing,
        seconds,
    };
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| BenchError::run("child report", e))?
    );
    Ok(())
}

/// A request figure's name and how to count it from a tenant's counts.
type Counted = (&'static str, fn(&TenantCounts) -> u64);

fn own_status_kb(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(BenchError::io("/proc/self/status"))?;
    field_kb(&status, field)
        .ok_or_else(|| BenchError::run("memory", format!("no {field} in /proc/self/status")))
}

/// The large tenant's first sync: its requests and the worker's peak memory.
pub async fn figures(lab: &Lab, plan: &Plan) -> Result<Vec<Figure>> {
    let mut figures = Vec::new();
    let mut large = Vec::new();
    for _ in 0..plan.large_runs {
        large.push(large_first_sync(lab, plan.large_users).await?);
    }
    let users = thousands(plan.large_users);
    let of = |pick: &dyn Fn(&LargeSync) -> f64| large.iter().map(pick).collect::<Vec<f64>>();
    figures.push(
        Figure::new(
            format!("first sync, {users} users: Graph requests"),
            "requests",
            of(&|l| l.counts.graph.requests as f64),
        )
        .at_most(110.0)
        .notes("pages of 999 users, the `$deltatoken=latest` link taken first, groups, domains and the `$batch` envelope"),
    );
    let counted: [Counted; 4] = [
        ("token requests", |c| c.token.requests),
        ("Graph writes", |c| c.graph.writes),
        ("Exchange cmdlets", |c| c.exchange.requests),
        ("Exchange writes", |c| c.exchange.writes),
    ];
    for (what, count) in counted {
        figures.push(Figure::new(
            format!("first sync, {users} users: {what}"),
            "requests",
            of(&|l| count(&l.counts) as f64),
        ));
    }
    figures.push(
        Figure::new(
            format!("sync worker peak RSS, first sync of {users} users"),
            "MB",
            of(&|l| mb(l.child.peak_rss_kb)),
        )
        .at_most(256.0)
        .notes(format!(
            "`VmHWM` of a child process built by `Syncer::from_env` (RSS before the sync: {} MB); the \
             simulator runs in the parent and is not counted. Budget: the functions' `MemorySize` in the \
             template (the design sets none). Sync wall time (moto): {} s",
            number(median(&of(&|l| mb(l.child.rss_before_kb)))),
            number(median(&of(&|l| l.child.seconds)))
        )),
    );
    Ok(figures)
}
