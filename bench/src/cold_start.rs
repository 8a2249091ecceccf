//! Cold start of each function's release `bootstrap`: init (process start to the first Runtime
//! API request), the first event answered, idle RSS and zip size, and the same for the
//! hello-world binary of the same run.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use integration_tests::{
    lab::{FUNCTIONS, Lab},
    runtime_api::{Outcome, RuntimeApi},
};
use serde_json::{Value, json};

use crate::{
    Plan,
    error::{BenchError, Result},
    report::{Figure, Section, mb, ms},
};

/// The reference binary every function is compared with.
pub const HELLO_WORLD: &str = "hello-world";

/// How long a process may take to reach the Runtime API before it counts as broken.
const INIT_LIMIT: Duration = Duration::from_secs(10);
/// How long a process is left idle at the Runtime API before its RSS is read.
const SETTLE: Duration = Duration::from_millis(300);

/// One cold start.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    /// Spawn to the first `next` request.
    pub init: Duration,
    /// Spawn to the first event's response (or error) posted.
    pub first_event: Duration,
    /// `VmRSS` once idle after the first event, in KiB.
    pub idle_rss_kb: u64,
}

/// The first event each function gets: cheap, touching the state it builds, changing nothing
/// that matters (unknown ids answer `NotFound`; the sites have no active tenant yet).
pub fn first_event(name: &str) -> Value {
    match name {
        "status" => json!({"tenant_id": uuid::Uuid::new_v4().to_string()}),
        "provision" | "deprovision" | "policy-targets" => {
            json!({"task_id": uuid::Uuid::new_v4().to_string()})
        }
        "daily-sync" => json!({"site": "anz", "run_date": "2000-01-01"}),
        "sync-worker" => json!({"Records": []}),
        "api" => integration_tests::function_url::request_event(
            "GET",
            &format!("/tasks/{}", uuid::Uuid::new_v4()),
            "",
        ),
        _ => json!({}),
    }
}

/// `target/lambda/<name>/bootstrap` (extracted from the zip by `scripts/bench.sh`).
pub fn bootstrap(name: &str) -> PathBuf {
    crate::root().join("target/lambda").join(name).join("bootstrap")
}

/// `target/lambda/<name>/bootstrap.zip`'s size in bytes.
pub fn zip_size(name: &str) -> Result<u64> {
    let path = crate::root()
        .join("target/lambda")
        .join(name)
        .join("bootstrap.zip");
    std::fs::metadata(&path)
        .map(|m| m.len())
        .map_err(BenchError::io(format!(
            "{} (run `make bench`, which builds it)",
            path.display()
        )))
}

/// Starts `binary` as Lambda would (the Runtime API, the function's variables, `env`), waits for
/// its first `next` request, gives it [`first_event`], waits for the answer, reads its RSS once
/// idle, and stops it.
pub async fn measure(name: &str, binary: &Path, env: &BTreeMap<String, String>) -> Result<ColdStart> {
    let api = RuntimeApi::start(name, [first_event(name)])
        .await
        .map_err(BenchError::io("start the Runtime API"))?;
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .envs(env)
        .envs(api.lambda_env(name))
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(BenchError::io(format!("start {}", binary.display())))?;
    let pid = child.id();
    let outcome = match (
        api.init_done(INIT_LIMIT).await,
        api.first_outcome(INIT_LIMIT).await,
    ) {
        (Some(init_done), Some((first_done, first))) => {
            tokio::time::sleep(SETTLE).await;
            let rss = pid.map(|pid| status_kb(pid, "VmRSS")).transpose()?.flatten();
            let error = match first {
                Outcome::Error(error) => Some(error.to_string()),
                Outcome::Answer(_) => None,
            };
            match (rss, error) {
                (_, Some(error)) if error.contains("Configuration") => Err(BenchError::run(
                    format!("cold start of {name}"),
                    format!("its configuration was refused: {error}"),
                )),
                (Some(idle_rss_kb), _) => Ok(ColdStart {
                    init: init_done.saturating_duration_since(started),
                    first_event: first_done.saturating_duration_since(started),
                    idle_rss_kb,
                }),
                (None, _) => Err(BenchError::run(
                    format!("cold start of {name}"),
                    "the process ended after its first event",
                )),
            }
        }
        _ => Err(BenchError::run(
            format!("cold start of {name}"),
            format!(
                "no Runtime API request or answer within {INIT_LIMIT:?}; start {} by hand with the stack's environment to see why",
                binary.display()
            ),
        )),
    };
    let _ = child.kill().await;
    outcome
}

/// A `kB` field (e.g. `VmRSS`, `VmHWM`) of `/proc/<pid>/status`; `None` if the process is gone.
pub fn status_kb(pid: u32, field: &str) -> Result<Option<u64>> {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => Ok(field_kb(&status, field)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(BenchError::io(format!("/proc/{pid}/status"))(err)),
    }
}

/// A `kB` field of a `/proc/*/status` text.
pub fn field_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Section 1: cold start of every function against the hello-world binary of the same run.
pub async fn section(lab: &Lab, plan: &Plan) -> Result<Section> {
    let env = lab.function_env();
    let names: Vec<&str> = std::iter::once(HELLO_WORLD).chain(FUNCTIONS).collect();
    // One unmeasured start each first: the page cache holds every binary after it.
    for name in &names {
        measure(name, &bootstrap(name), &env).await?;
    }
    let mut init: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut first: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut rss: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..plan.cold_start_rounds {
        for (i, name) in names.iter().enumerate() {
            let start = measure(name, &bootstrap(name), &env).await?;
            init[i].push(ms(start.init));
            first[i].push(ms(start.first_event));
            rss[i].push(mb(start.idle_rss_kb));
        }
    }
    let mut figures = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let zip = zip_size(name)? as f64 / 1_000_000.0;
        figures.push(Figure::new(format!("{name}: init"), "ms", init[i].clone()));
        if i > 0 {
            let ratios: Vec<f64> = init[i].iter().zip(&init[0]).map(|(f, h)| f / h).collect();
            figures.push(
                Figure::new(format!("{name}: init / hello-world"), "x", ratios)
                    .at_most(1.5)
                    .notes(ratio_note(name)),
            );
        }
        figures.push(Figure::new(
            format!("{name}: init + first event"),
            "ms",
            first[i].clone(),
        ));
        figures.push(Figure::new(format!("{name}: idle RSS"), "MB", rss[i].clone()).at_most(20.0));
        figures.push(Figure::new(format!("{name}: zip"), "MB", vec![zip]).at_most(8.0));
    }
    Ok(Section {
        title: "1. Cold start".to_owned(),
        intro: format!(
            "Release `bootstrap` of every function and of `bench/hello-world`, started {} times each \
             (interleaved, after one unmeasured start each); the ratio is taken per round against that \
             round's hello-world. *Init + first event*: spawn to the answer of a first, cheap event \
             that uses the function's clients (`status` and the task functions: an unknown id read \
             from DynamoDB; `daily-sync`: a run of a site without tenants; `token-refresh`: the site \
             index; `sync-worker`: an empty batch). Idle RSS is read after that event, at the next \
             `next` request. MB here is MiB for RSS and 10^6 bytes for zips.",
            plan.cold_start_rounds
        ),
        figures,
    })
}

fn ratio_note(name: &str) -> String {
    let built = match name {
        "status" => "the state store (AWS SDK configuration, DynamoDB client) is",
        "daily-sync" => "the daily run (AWS SDK configuration, DynamoDB and SQS clients) is",
        _ => "the services (configuration, AWS SDK configuration, HTTP client, AWS clients) are",
    };
    format!(
        "INIT is the runtime and the log subscriber; {built} built on the first event (*init + first \
         event*; experiments below). Both processes start in 2-3 ms, so a loaded machine moves single \
         rounds by whole multiples (see max)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_kb_field() {
        let status = "Name:\tx\nVmHWM:\t  12345 kB\nVmRSS:\t   1000 kB\n";
        assert_eq!(field_kb(status, "VmRSS"), Some(1000));
        assert_eq!(field_kb(status, "VmHWM"), Some(12345));
        assert_eq!(field_kb(status, "VmSwap"), None);
    }
}
