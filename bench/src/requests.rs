//! Requests per tenant through the whole lifecycle, from m365-sim's stats: provisioning, first
//! sync of a 1,000-user tenant, a steady-state (unchanged) sync, a token refresh and a full
//! deprovision. (The 100,000-user first sync is measured with the worker's memory, in
//! [`crate::memory`].)

use integration_tests::lab::{Lab, TenantCounts, exchange_mx, provision_request};
use lifecycle::sync::SyncMessage;
use model::{sites::Site, tenant::TenantId};
use serde_json::{Value, json};

use crate::{
    Plan,
    error::{BenchError, Result},
    report::{Figure, Section, thousands},
};

/// The lifecycle stages measured, in order.
pub const STAGES: [&str; 5] = [
    "provisioning",
    "first sync, 1,000 users",
    "steady-state sync",
    "token refresh (forced)",
    "full deprovision",
];

/// What one run through the lifecycle cost one tenant.
#[derive(Debug, Clone, Default)]
pub struct LifecycleRun {
    /// Simulator counts per stage, in [`STAGES`] order.
    pub stages: Vec<TenantCounts>,
    /// Exchange HTTP requests of the steady-state sync (one `$batch` holds several cmdlets).
    pub steady_exchange_http: usize,
    /// Secret writes of the token refresh.
    pub refresh_secret_writes: usize,
}

/// A customer tenant like the tests' Contoso, on its own domain, with `users` users; returns
/// the tenant and the two targeted users.
pub fn customer_tenant(lab: &Lab, users: u64) -> Result<(TenantId, [String; 2])> {
    let domain = format!("c{}.example", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let tenant = lab.customer_tenant(&domain, "198.51.100.7");
    if users > 3 {
        let patch = serde_json::from_value(json!({"add_users": users - 3}))
            .map_err(|e| BenchError::Setup(format!("directory patch: {e}")))?;
        lab.sim
            .patch_directory(&tenant.to_string(), &patch)
            .map_err(|e| BenchError::Setup(format!("directory patch: {e}")))?;
    }
    lab.dns.set_mx(&domain, &[&exchange_mx(&domain)]);
    Ok((tenant, ["alice", "bob"].map(|n| format!("{n}@{domain}"))))
}

/// Provisions `tenant` through `provision`'s handler in a new process; fails unless the task
/// succeeded.
pub async fn provision(lab: &Lab, event: Value) -> Result<Value> {
    succeeded("provision", lab.provision_in(&lab.fresh_lifecycle(), event).await)
}

/// The task view of a task that succeeded; an error naming `what` otherwise.
fn succeeded(what: &str, answer: std::result::Result<Value, lambda_runtime::Diagnostic>) -> Result<Value> {
    let view = answer.map_err(|d| BenchError::run(what, format!("{}: {}", d.error_type, d.error_message)))?;
    if view["status"] != "succeeded" {
        return Err(BenchError::run(what, format!("task did not succeed: {view}")));
    }
    Ok(view)
}

/// One tenant through every stage, each stage's requests counted on their own.
pub async fn lifecycle(lab: &Lab, users: u64) -> Result<LifecycleRun> {
    let (tenant, targeted) = customer_tenant(lab, users)?;
    let mut run = LifecycleRun::default();

    lab.sim.reset_stats();
    provision(lab, provision_request(tenant, &targeted)).await?;
    run.stages.push(lab.counts(tenant));

    let syncer = lab.syncer();
    for (n, run_id) in ["first", "steady"].into_iter().enumerate() {
        lab.sim.reset_stats();
        let message = SyncMessage {
            tenant_id: tenant,
            site: Site::Us,
            run_id: format!("{run_id}-{tenant}"),
        };
        let report = syncer
            .sync_tenant(&message)
            .await
            .map_err(|e| BenchError::run("sync", e))?;
        if n == 1 {
            if report.full_listing || !report.drift.is_empty() {
                return Err(BenchError::run(
                    "steady-state sync",
                    format!("not steady: {report:?}"),
                ));
            }
            run.steady_exchange_http = report.exchange_http_requests;
        }
        run.stages.push(lab.counts(tenant));
    }

    lab.sim.reset_stats();
    let report = lab
        .refresher()
        .run(&json!({"force": true}))
        .await
        .map_err(|e| BenchError::run("token refresh", e))?;
    if report.tenants != 1 {
        return Err(BenchError::run(
            "token refresh",
            format!("expected one active tenant, found {}", report.tenants),
        ));
    }
    run.refresh_secret_writes = report.secret_writes;
    run.stages.push(lab.counts(tenant));

    lab.sim.reset_stats();
    let event = json!({"tenant_id": tenant.to_string(), "mode": "full"});
    succeeded(
        "deprovision",
        lab.deprovision_in(&lab.fresh_lifecycle(), event).await,
    )?;
    run.stages.push(lab.counts(tenant));
    Ok(run)
}

/// A stage's figure beyond the counts: name, unit, how to read it from a run, budget, notes.
type Extra = (
    &'static str,
    &'static str,
    fn(&LifecycleRun) -> usize,
    f64,
    &'static str,
);

/// The figures of `runs` (each a [`lifecycle`]).
pub fn figures(runs: &[LifecycleRun]) -> Vec<Figure> {
    let mut figures = Vec::new();
    let of = |stage: usize, pick: &dyn Fn(&TenantCounts) -> u64| -> Vec<f64> {
        runs.iter().map(|r| pick(&r.stages[stage]) as f64).collect()
    };
    for (i, stage) in STAGES.iter().enumerate() {
        let token = Figure::new(
            format!("{stage}: token requests"),
            "requests",
            of(i, &|c| c.token.requests),
        );
        let token = match i {
            3 => token
                .at_most(2.0)
                .notes("forced: every token re-minted; budget ≤ 1 per resource (Graph, Exchange) per tenant per hour"),
            _ => token,
        };
        figures.push(token);
        let graph = Figure::new(
            format!("{stage}: Graph requests"),
            "requests",
            of(i, &|c| c.graph.requests),
        );
        figures.push(match i {
            2 => graph
                .at_most(5.0)
                .notes("one `$batch`: the envelope plus users delta, groups delta, domains"),
            _ => graph,
        });
        figures.push(Figure::new(
            format!("{stage}: Graph writes"),
            "requests",
            of(i, &|c| c.graph.writes),
        ));
        figures.push(Figure::new(
            format!("{stage}: Exchange cmdlets"),
            "requests",
            of(i, &|c| c.exchange.requests),
        ));
        figures.push(Figure::new(
            format!("{stage}: Exchange writes"),
            "requests",
            of(i, &|c| c.exchange.writes),
        ));
        // Two stages have one more figure each, measured beside the counts.
        let extra: Option<Extra> = match i {
            2 => Some((
                "steady-state sync: Exchange HTTP requests",
                "requests",
                |r| r.steady_exchange_http,
                2.0,
                "every drift read (rules, connectors, IP allow list, spoof entries) in one Exchange `$batch`",
            )),
            3 => Some((
                "token refresh (forced): secret writes",
                "writes",
                |r| r.refresh_secret_writes,
                1.0,
                "both tokens in one secret, written once per tenant per refresh",
            )),
            _ => None,
        };
        if let Some((name, unit, pick, budget, notes)) = extra {
            let values = runs.iter().map(|r| pick(r) as f64).collect();
            figures.push(Figure::new(name, unit, values).at_most(budget).notes(notes));
        }
    }
    figures
}

pub async fn section(lab: &Lab, plan: &Plan) -> Result<Section> {
    let mut runs = Vec::new();
    for _ in 0..plan.runs {
        runs.push(lifecycle(lab, 1000).await?);
    }
    Ok(Section {
        title: "2. Requests per tenant".to_owned(),
        intro: format!(
            "One tenant (3 named users plus generated ones, 1,000 in all; Exchange Administrator role not \
             yet assigned, as in the tests) through provisioning (two targeted users, every service, IP \
             allow list), its first sync, an unchanged sync, a forced token refresh and a full \
             deprovision: {} runs, each on a new tenant. The {}-user first sync is a separate active \
             tenant without our objects, {} run(s), measured last (moto copies every table on each \
             transaction, so 100,000 snapshot items would slow every later provisioning step).",
            plan.runs,
            thousands(plan.large_users),
            plan.large_runs
        ),
        figures: figures(&runs),
    })
}
