//! The crash matrix: the function's process dies (SIGKILL, not a returned error) right after
//! Microsoft applied a step, and the same event is delivered again. The dying process is this test
//! binary started again as a child (`child::FunctionProcess`), wired from its environment the way
//! a function's `main` is; the simulator holds the applied write's answer until it is killed.

use std::collections::BTreeSet;

use integration_tests::lab::Lab;
use model::{task::TaskStatus, tenant::TenantId};
use serde_json::json;
use state::store::ResourceRecord;

use crate::{
    functions::{
        deprovision::{REMOVALS, assert_as_before, deprovision_event, provisioned},
        provision::{WRITES, customer_tenant, footprint, request},
    },
    harness::child::FunctionProcess,
};

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

/// Runs `function` with `event` in its own process and kills it (SIGKILL) once the simulator has
/// applied `write`; the tenant's task is left mid-way.
async fn kill_mid_task(lab: &Lab, function: &str, event: &serde_json::Value, tenant: TenantId, write: &str) {
    FunctionProcess::new(lab, function, event)
        .run_until_killed_after(lab, tenant, write)
        .await;
    assert_eq!(
        current_task_status(lab, tenant).await,
        TaskStatus::Running,
        "{write}: the process died mid-task"
    );
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
        kill_mid_task(&lab, "provision", &request(tenant), tenant, write).await;
        // The same event again (an operator's retry, or EventBridge's redelivery), in a new process.
        let fresh = lab.fresh_lifecycle();
        let done = fresh.provision(request(tenant), None).await.expect("redelivered");
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
        lab.assert_no_secret_in_the_table().await;
    }
}

#[tokio::test]
async fn deprovisioning_killed_after_each_removal_then_redelivered_ends_in_the_original_state() {
    for removal in REMOVALS {
        let lab = Lab::start().await;
        let (tenant, before) = provisioned(&lab).await;
        let event = deprovision_event(tenant, "full");
        kill_mid_task(&lab, "deprovision", &event, tenant, removal).await;
        let done = lab.deprovision(event).await.expect("redelivered");
        assert_eq!(done["status"], "succeeded", "{removal}: {done:#}");
        assert_as_before(&lab, tenant, &before, removal).await;
    }
}

/// A direct invoke that dies (a timeout, a crash) leaves no message SQS would deliver again: the
/// safety continuation queued before its first step arrives after its deadline and finishes the
/// task, with no one re-sending the event.
#[tokio::test]
async fn a_direct_invoke_that_dies_is_finished_by_its_safety_continuation() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let started = chrono::Utc::now();
    // The template's timeout: 120 s.
    FunctionProcess::new(&lab, "provision", &request(tenant))
        .deadline_in(120)
        .run_until_killed_after(&lab, tenant, "New-InboundConnector")
        .await;
    assert_eq!(current_task_status(&lab, tenant).await, TaskStatus::Running);
    let task_id = lab.record(tenant).await.current_task_id.expect("the task");
    let task = lab
        .aws
        .store
        .task_with_steps(task_id)
        .await
        .expect("read")
        .expect("task")
        .task;
    // The safety comes 30 s after the deadline.
    let arrives = task.wake_at.expect("a safety continuation is on its way");
    assert!(
        arrives > started + chrono::Duration::seconds(150)
            && arrives < started + chrono::Duration::seconds(180),
        "30 s after the deadline: {arrives}"
    );
    let delivery =
        json!({"Records": [{"messageId": "s-1", "body": json!({"task_id": task_id}).to_string()}]});
    let answer = lab
        .provision_in(&lab.fresh_lifecycle(), delivery)
        .await
        .expect("the continuation");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer:#}");
    assert_eq!(current_task_status(&lab, tenant).await, TaskStatus::Succeeded);
}
