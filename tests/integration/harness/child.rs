//! A function run in its own process: this test binary started again, running
//! `process_entry_point`, which wires the function from its environment exactly as the function's
//! `main` does (`from_env`) and hands it one event. Used where a test needs a process to die
//! (the crash matrix) or to run under its own AWS identity (least privilege).

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use integration_tests::{
    capture::Capture,
    lab::{Lab, lambda_context},
    runtime_api::{Outcome, RuntimeApi},
};
use model::tenant::TenantId;
use serde_json::{Value, json};

/// The child's function, by its crate name; unset in a normal test run.
const CHILD_FUNCTION: &str = "CHILD_FUNCTION";
/// The child's event, as JSON.
const CHILD_EVENT: &str = "CHILD_EVENT";
/// Seconds the invocation has before its deadline (default: Lambda's 15 minutes).
const CHILD_DEADLINE_SECS: &str = "CHILD_DEADLINE_SECS";
/// Prefix of the line that carries the child's answer.
const ANSWER: &str = "CHILD_ANSWER ";
/// Set when the child serves events from a Runtime API, as the function's `main` does.
const CHILD_SERVED: &str = "CHILD_SERVED";

/// The child process: one invocation of one function. Started only by [`FunctionProcess`].
#[tokio::test]
#[ignore = "the child process of the crash and privilege tests, not a test of its own"]
async fn process_entry_point() {
    let Ok(function) = std::env::var(CHILD_FUNCTION) else {
        return;
    };
    if std::env::var_os(CHILD_SERVED).is_some() {
        let ended = serve(&function).await;
        panic!("{function}: the runtime loop ended: {ended:?}");
    }
    lifecycle::telemetry::init();
    let event: Value =
        serde_json::from_str(&std::env::var(CHILD_EVENT).expect(CHILD_EVENT)).expect("CHILD_EVENT is JSON");
    let mut context = lambda_context();
    if let Ok(seconds) = std::env::var(CHILD_DEADLINE_SECS) {
        let seconds: u64 = seconds.parse().expect("CHILD_DEADLINE_SECS is a number");
        let deadline = std::time::SystemTime::now() + Duration::from_secs(seconds);
        context.deadline = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as u64;
    }
    let answer = invoke(&function, lambda_runtime::LambdaEvent::new(event, context)).await;
    println!(
        "{ANSWER}{}",
        answer.unwrap_or_else(|err| json!({"error": err.error_type}))
    );
}

/// Runs `function`'s `main`: the same call, word for word.
async fn serve(function: &str) -> Result<(), lambda_runtime::Error> {
    use lifecycle::{
        Lifecycle,
        function::serve,
        onboarding::Onboarding,
        refresh::Refresher,
        sync::{DailySync, Syncer},
    };
    use state::store::Store;
    match function {
        "provision" => serve(Lifecycle::from_env, provision::handler).await,
        "deprovision" => serve(Lifecycle::from_env, deprovision::handler).await,
        "policy-targets" => serve(Lifecycle::from_env, policy_targets::handler).await,
        "status" => serve(Store::from_env, status::handler).await,
        "onboard" => serve(Onboarding::from_env, onboard::handler).await,
        "token-refresh" => serve(Refresher::from_env, token_refresh::handler).await,
        "daily-sync" => serve(DailySync::from_env, daily_sync::handler).await,
        "sync-worker" => serve(Syncer::from_env, sync_worker::handler).await,
        "api" => serve(lifecycle::console::Console::from_env, api::handler).await,
        other => panic!("no function {other}"),
    }
}

/// Wires `function` from the environment as its `main` does and runs `event` through its handler.
async fn invoke(
    function: &str,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Diagnostic> {
    use lifecycle::{
        Lifecycle,
        onboarding::Onboarding,
        refresh::Refresher,
        sync::{DailySync, Syncer},
    };
    use model::config;
    // Each arm wires the function's dependencies from the environment, as its `main.rs` does.
    macro_rules! run {
        ($wire:expr, $handler:path) => {{
            let wired = $wire
                .await
                .unwrap_or_else(|err: config::ConfigError| panic!("{function}: configuration: {err}"));
            json!($handler(&wired, event).await?)
        }};
    }
    Ok(match function {
        "provision" => run!(Lifecycle::from_env(), provision::handler),
        "deprovision" => run!(Lifecycle::from_env(), deprovision::handler),
        "policy-targets" => run!(Lifecycle::from_env(), policy_targets::handler),
        "status" => run!(state::store::Store::from_env(), status::handler),
        "onboard" => run!(Onboarding::from_env(), onboard::handler),
        "token-refresh" => run!(Refresher::from_env(), token_refresh::handler),
        "daily-sync" => run!(DailySync::from_env(), daily_sync::handler),
        "sync-worker" => run!(Syncer::from_env(), sync_worker::handler),
        "api" => run!(lifecycle::console::Console::from_env(), api::handler),
        other => panic!("no function {other}"),
    })
}

/// One function invocation in a child process, on a lab's stack and simulator.
pub struct FunctionProcess {
    command: Command,
    function: String,
    log: PathBuf,
}

impl FunctionProcess {
    /// `function` with `event`, configured for `lab` (the environment of its function processes).
    pub fn new(lab: &Lab, function: &str, event: &Value) -> Self {
        let mut command = Command::new(std::env::current_exe().expect("this test binary"));
        command
            .args([
                "--exact",
                "harness::child::process_entry_point",
                "--ignored",
                "--nocapture",
            ])
            // Only what the template gives this function (and the lab's settings).
            .env_clear()
            .envs(lab.env_of_function(function))
            .env("RUST_LOG", "trace")
            .env(CHILD_FUNCTION, function)
            .env(CHILD_EVENT, event.to_string());
        let log = std::env::temp_dir().join(format!("m365-inline-{function}-{}.log", uuid::Uuid::new_v4()));
        Self {
            command,
            function: function.to_owned(),
            log,
        }
    }

    /// Gives the invocation only `seconds` before its deadline.
    pub fn deadline_in(self, seconds: u64) -> Self {
        self.env(CHILD_DEADLINE_SECS, &seconds.to_string())
    }

    /// Adds an environment variable (e.g. the AWS identity it runs under).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    /// Leaves an environment variable out (a configuration mistake).
    pub fn without(mut self, name: &str) -> Self {
        self.command.env_remove(name);
        self
    }

    /// Serves `api`'s events through the Lambda runtime, as the function's `main` does, until
    /// `count` outcomes were posted; then the process is stopped. The outcomes, in event order.
    pub async fn serve(self, api: &RuntimeApi, count: usize) -> Vec<Outcome> {
        self.serve_logged(api, count).await.0
    }

    /// [`Self::serve`], with everything the process wrote.
    pub async fn serve_logged(mut self, api: &RuntimeApi, count: usize) -> (Vec<Outcome>, String) {
        self.command
            .env(CHILD_SERVED, "1")
            .envs(api.lambda_env(&self.function))
            .stdin(Stdio::null());
        let mut child = self.spawn();
        let give_up = Instant::now() + Duration::from_secs(120);
        let outcomes = loop {
            let outcomes = api.outcomes();
            let ended = child.try_wait().expect("child status");
            if outcomes.len() >= count || ended.is_some() || Instant::now() > give_up {
                break outcomes;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let _ = child.kill();
        let _ = child.wait();
        let output = self.output();
        assert_eq!(
            outcomes.len(),
            count,
            "{} posted {outcomes:?}; its output:\n{}",
            self.function,
            tail(&output)
        );
        (outcomes, output)
    }

    fn spawn(&mut self) -> std::process::Child {
        let out = std::fs::File::create(&self.log).expect("child log file");
        self.command
            .stdout(Stdio::from(out.try_clone().expect("log handle")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start the child process")
    }

    /// The child's output so far; it also joins the global capture, for the leak checks.
    fn output(&self) -> String {
        let output = std::fs::read(&self.log).unwrap_or_default();
        std::io::Write::write_all(&mut Capture::global().clone(), &output).expect("capture");
        let _ = std::fs::remove_file(&self.log);
        String::from_utf8_lossy(&output).into_owned()
    }

    /// Runs to the end; the handler's answer (or `{"error": type}`).
    pub async fn run(mut self) -> Value {
        let mut child = self.spawn();
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("waiter")
            .expect("child status");
        let output = self.output();
        let answer = output.lines().find_map(|line| line.strip_prefix(ANSWER));
        match (status.success(), answer) {
            (true, Some(answer)) => serde_json::from_str(answer).expect("the answer is JSON"),
            _ => panic!(
                "{} failed ({status}); its output:\n{}",
                self.function,
                tail(&output)
            ),
        }
    }

    /// Runs until the simulator has applied `write` for `tenant`, then kills the process
    /// (SIGKILL): the answer is held back, so the process dies with the write applied.
    pub async fn run_until_killed_after(mut self, lab: &Lab, tenant: TenantId, write: &str) {
        lab.fault(json!({
            "tenant": tenant.to_string(), "match": write, "phase": "after", "latency_ms": 600_000, "count": 1
        }));
        let mut child = self.spawn();
        let give_up = Instant::now() + Duration::from_secs(120);
        // The fault is consumed when the write arrives; the simulator applies it without yielding,
        // so nothing (not even the kill) can stop it from being applied from here on.
        while !lab.sim.faults()["faults"].as_array().is_none_or(Vec::is_empty) {
            let ended = child.try_wait().expect("child status");
            if ended.is_some() || Instant::now() > give_up {
                let _ = child.kill();
                panic!(
                    "{} never reached {write} ({ended:?}); faults {}; its output:\n{}",
                    self.function,
                    lab.sim.faults(),
                    tail(&self.output())
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("reap the child");
        assert!(!status.success(), "{write}: the process was killed, not finished");
        self.output();
    }
}

/// The last lines of a child's output, newest last.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
