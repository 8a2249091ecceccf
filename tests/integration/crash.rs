//! The crash matrix: the function's process dies (SIGKILL, not a returned error) right after
//! Microsoft applied a step, and the same event is delivered again. The dying process is this test
//! binary started again as a child running `process_entry_point`, wired from its environment the
//! way a function's `main` is; the simulator holds the applied write's answer until it is killed.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use shared::{provisioning::Provisioner, store::ResourceRecord, task::TaskStatus, tenant::TenantId};

use crate::{
    deprovision::{REMOVALS, comparable, deprovision_event, provisioned},
    provision::{WRITES, customer_tenant, footprint, request},
    support::{Capture, Lab, lambda_context},
};

/// The child's function (`provision` or `deprovision`); unset in a normal test run.
const CHILD_FUNCTION: &str = "CRASH_CHILD_FUNCTION";
/// The child's event, as JSON.
const CHILD_EVENT: &str = "CRASH_CHILD_EVENT";

/// The child process: one invocation of `provision` or `deprovision`, configured from the
/// environment like the functions' `main`. Started only by `run_until_killed`.
#[tokio::test]
#[ignore = "the crash matrix's child process: started by the crash tests, not a test of its own"]
async fn process_entry_point() {
    let Ok(function) = std::env::var(CHILD_FUNCTION) else {
        return;
    };
    shared::telemetry::init();
    let event: Value = serde_json::from_str(&std::env::var(CHILD_EVENT).expect("CRASH_CHILD_EVENT"))
        .expect("CRASH_CHILD_EVENT is JSON");
    let provisioner = Provisioner::from_env()
        .await
        .expect("configuration from the environment");
    let event = lambda_runtime::LambdaEvent::new(event, lambda_context());
    let answer = match function.as_str() {
        "provision" => provision::handler(&provisioner, event).await.map(|a| json!(a)),
        "deprovision" => deprovision::handler(&provisioner, event).await.map(|a| json!(a)),
        other => panic!("no function {other}"),
    };
    // Only reached when the process was not killed: the parent reports it.
    println!("the child finished: {answer:?}");
}

/// Runs `function` with `event` in a child process until the simulator has applied `write` for
/// `tenant`, then kills the process. Its log lines join the global capture (leak checks).
async fn run_until_killed(lab: &Lab, tenant: TenantId, write: &str, function: &str, event: &Value) {
    // Applied, then the answer is held: the process dies waiting for it.
    lab.fault(json!({
        "tenant": tenant.to_string(), "match": write, "phase": "after", "latency_ms": 600_000, "count": 1
    }));
    let log = log_path(function);
    let out = std::fs::File::create(&log).expect("child log file");
    let base = lab.sim.base_url();
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "crash::process_entry_point",
            "--ignored",
            "--nocapture",
        ])
        .envs(&lab.aws.stack.env)
        .env("M365_LOGIN_URL", &base)
        .env("M365_GRAPH_URL", &base)
        .env("M365_EXCHANGE_URL", &base)
        .env("RUST_LOG", "trace")
        .env(CHILD_FUNCTION, function)
        .env(CHILD_EVENT, event.to_string())
        .stdout(Stdio::from(out.try_clone().expect("log handle")))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start the child process");
    let give_up = Instant::now() + Duration::from_secs(120);
    // The fault is consumed when the write arrives; the simulator applies it without yielding, so
    // nothing (not even the kill) can stop it from being applied from here on.
    while !lab.sim.faults()["faults"].as_array().is_none_or(Vec::is_empty) {
        let ended = child.try_wait().expect("child status");
        if ended.is_some() || Instant::now() > give_up {
            let _ = child.kill();
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            let last: Vec<&str> = output.lines().rev().take(20).collect();
            panic!(
                "{function} never reached {write} ({ended:?}); faults {}, stats {}; its last lines, newest first:\n{last:#?}",
                lab.sim.faults(),
                lab.sim.stats()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "{write}: the process was killed, not finished");
    let output = std::fs::read(&log).expect("child log");
    std::io::Write::write_all(&mut Capture::global().clone(), &output).expect("capture");
    let _ = std::fs::remove_file(&log);
}

fn log_path(function: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "m365-inline-crash-{function}-{}.log",
        uuid::Uuid::new_v4()
    ))
}

/// The tenant's resource records as (kind, key, whether an external id is known).
async fn recorded(lab: &Lab, tenant: TenantId) -> BTreeSet<String> {
    let all: Vec<ResourceRecord> = lab.aws.store.resources(tenant).await.expect("resources");
    all.into_iter()
        .map(|r| format!("{:?} {} id:{}", r.kind, r.key, r.external_id.is_some()))
        .collect()
}

/// The status of the tenant's current task, as stored.
async fn current_task_status(lab: &Lab, tenant: TenantId) -> TaskStatus {
    let task_id = lab.record(tenant).await.current_task_id.expect("a current task");
    lab.aws
        .store
        .task_with_steps(task_id)
        .await
        .expect("read the task")
        .expect("the task exists")
        .task
        .status
}

#[tokio::test]
async fn provisioning_killed_after_each_write_then_redelivered_ends_as_a_clean_run() {
    let clean = Lab::start().await;
    let tenant = customer_tenant(&clean);
    let view = clean.provision(request(tenant)).await.expect("clean run");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let expected = footprint(&clean.dump(tenant));
    let expected_records = recorded(&clean, tenant).await;

    for write in WRITES {
        let lab = Lab::start().await;
        let tenant = customer_tenant(&lab);
        run_until_killed(&lab, tenant, write, "provision", &request(tenant)).await;
        assert_eq!(
            current_task_status(&lab, tenant).await,
            TaskStatus::Running,
            "{write}: the process died mid-task"
        );
        // The same event again (an operator's retry, or EventBridge's redelivery), in a new process.
        let fresh = Lab::provisioner_for(&lab.aws, &lab.sim);
        let done = fresh.handle(request(tenant), None).await.expect("redelivered");
        let done = json!(done);
        assert_eq!(done["status"], "succeeded", "{write}: {done:#}");
        assert_eq!(
            footprint(&lab.dump(tenant)),
            expected,
            "{write}: the objects of a clean run, none twice"
        );
        assert_eq!(
            recorded(&lab, tenant).await,
            expected_records,
            "{write}: every record of a clean run"
        );
    }
}

#[tokio::test]
async fn deprovisioning_killed_after_each_removal_then_redelivered_ends_in_the_original_state() {
    for removal in REMOVALS {
        let lab = Lab::start().await;
        let (tenant, before) = provisioned(&lab).await;
        let event = deprovision_event(tenant, "full");
        run_until_killed(&lab, tenant, removal, "deprovision", &event).await;
        assert_eq!(
            current_task_status(&lab, tenant).await,
            TaskStatus::Running,
            "{removal}: the process died mid-task"
        );
        let done = lab.deprovision(event).await.expect("redelivered");
        assert_eq!(done["status"], "succeeded", "{removal}: {done:#}");
        assert_eq!(comparable(&lab, tenant), before, "{removal}: the original state");
        assert!(
            lab.aws
                .store
                .resources(tenant)
                .await
                .expect("resources")
                .is_empty(),
            "{removal}: no record left behind"
        );
    }
}
