//! `make bench`: measures cold start, requests per tenant, sync throughput, token refresh and
//! provisioning against the budgets of docs/design.md ("Budgets"), and writes `BENCHMARKS.md` and
//! `bench/results.json`. Run by `scripts/bench.sh` (under `scripts/with-moto.sh`), which builds
//! the release artifacts first.
//!
//! Sizes and run counts can be lowered for a quick look with `BENCH_TENANTS`, `BENCH_RUNS`,
//! `BENCH_LARGE_USERS`, `BENCH_LARGE_RUNS`, `BENCH_COLD_ROUNDS` and `BENCH_PHASE_RUNS`, and
//! `BENCH_ONLY=cold-start` measures cold start alone (the committed figures use the defaults).

mod cold_start;
mod error;
mod memory;
mod phases;
mod provisioning;
mod refresh;
mod report;
mod requests;
mod throughput;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use error::{BenchError, Result};
use integration_tests::lab::Lab;
use report::Report;

/// The subcommand of the 100,000-user sync child ([`memory::child`]).
pub const SYNC_CHILD: &str = "sync-child";
/// The subcommand of an init-phase child ([`phases::run`]).
pub const INIT_PHASE: &str = "init-phase";

/// This bench binary run again as a child with `args` and only the environment `env`, its
/// standard input closed, its output captured.
pub async fn child(
    args: &[&str],
    env: &std::collections::BTreeMap<String, String>,
    stderr: std::process::Stdio,
) -> Result<std::process::Output> {
    let exe = std::env::current_exe().map_err(BenchError::io("the bench binary's path"))?;
    tokio::process::Command::new(exe)
        .args(args)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stderr(stderr)
        .output()
        .await
        .map_err(BenchError::io(format!("run the bench child {}", args.join(" "))))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// How much the run measures.
pub struct Plan {
    /// Rounds of cold starts of every function (`BENCH_COLD_ROUNDS`).
    pub cold_start_rounds: usize,
    /// Fresh processes per init phase (`BENCH_PHASE_RUNS`).
    pub phase_runs: usize,
    /// Runs of each lifecycle and latency figure (`BENCH_RUNS`).
    pub runs: usize,
    /// Tenants of the sync throughput round (`BENCH_TENANTS`).
    pub tenants: usize,
    /// Users of the large tenant's first sync (`BENCH_LARGE_USERS`).
    pub large_users: u64,
    /// Runs of the large tenant's first sync (`BENCH_LARGE_RUNS`).
    pub large_runs: usize,
}

impl Plan {
    fn from_env() -> Self {
        let get = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Self {
            cold_start_rounds: get("BENCH_COLD_ROUNDS", 21),
            phase_runs: get("BENCH_PHASE_RUNS", 7),
            runs: get("BENCH_RUNS", 3),
            tenants: get("BENCH_TENANTS", 1000),
            large_users: get("BENCH_LARGE_USERS", 100_000) as u64,
            large_runs: get("BENCH_LARGE_RUNS", 2),
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some(SYNC_CHILD) => memory::child().await,
        Some(INIT_PHASE) => match phases::run(args.get(1).map(String::as_str).unwrap_or_default()).await {
            Ok(ms) => {
                println!("{ms}");
                Ok(())
            }
            Err(err) => Err(err),
        },
        None => run_all().await,
        Some(other) => Err(BenchError::Setup(format!(
            "unknown subcommand {other}; run without arguments"
        ))),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints a progress line.
pub fn step(text: &str) {
    eprintln!("==> {text}");
}

async fn run_all() -> Result<()> {
    let started = Instant::now();
    let plan = Plan::from_env();
    let lab = Lab::for_bench().await;
    let mut report = Report::default();

    step("cold start");
    report.sections.push(cold_start::section(&lab, &plan).await?);
    step("init phases (cold-start experiments)");
    report.experiments = phases::section(&lab, &plan).await?;
    if std::env::var("BENCH_ONLY").as_deref() == Ok("cold-start") {
        return write(&mut report, started);
    }
    step("requests per tenant");
    report.sections.push(requests::section(&lab, &plan).await?);
    step("provisioning under latency");
    report.sections.push(provisioning::section(&lab, &plan).await?);
    step("sync throughput and worker memory");
    report.sections.push(throughput::section(&lab, &plan).await?);
    step("token refresh");
    report.sections.push(refresh::section(&lab, &plan).await?);
    step("first sync of a large tenant (worker memory)");
    let large = memory::figures(&lab, &plan).await?;
    if let Some(requests) = report.sections.iter_mut().find(|s| s.title.starts_with("2.")) {
        requests.figures.extend(large);
    }

    write(&mut report, started)
}

fn write(report: &mut Report, started: Instant) -> Result<()> {
    // Measured in the order that keeps moto fast; reported in the order.
    report.sections.sort_by(|a, b| a.title.cmp(&b.title));
    report.context = context(started.elapsed());
    let markdown = report.markdown();
    std::fs::write(root().join("BENCHMARKS.md"), &markdown).map_err(BenchError::io("write BENCHMARKS.md"))?;
    std::fs::write(root().join("bench/results.json"), report.results_json())
        .map_err(BenchError::io("write bench/results.json"))?;
    let missed: Vec<String> = report
        .figures()
        .filter(|f| f.met() == Some(false))
        .map(|f| f.figure.clone())
        .collect();
    step(&format!(
        "wrote BENCHMARKS.md and bench/results.json in {:.0} s; budgets missed: {}",
        started.elapsed().as_secs_f64(),
        if missed.is_empty() {
            "none".to_owned()
        } else {
            missed.join(", ")
        }
    ));
    Ok(())
}

fn context(elapsed: Duration) -> Vec<(String, String)> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    vec![
        (
            "commit".to_owned(),
            format!("`{}`", git(&["rev-parse", "--short", "HEAD"])),
        ),
        (
            "date".to_owned(),
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("machine".to_owned(), format!("{cores} cores, Linux, x86_64")),
        (
            "duration".to_owned(),
            format!("{:.0} s of measuring (after the build)", elapsed.as_secs_f64()),
        ),
    ]
}
