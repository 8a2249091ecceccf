//! The sample events in `events/`: the ones the README shows and `cargo lambda invoke` sends.

use integration_tests::lab::{Lab, invoke};
use lifecycle::entry::Invocation;
use serde_json::Value;

fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

#[test]
fn every_provision_sample_parses() {
    for name in [
        "provision.json",
        "provision-dry-run.json",
        "provision-eventbridge.json",
        "provision-continuation-sqs.json",
    ] {
        Invocation::parse(event(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    let Ok(Invocation::Batch(batch)) = Invocation::parse(event("provision-continuation-sqs.json")) else {
        panic!("the SQS sample is a continuation batch")
    };
    assert_eq!(batch.len(), 1);
}

#[test]
fn every_sample_event_is_accepted_by_its_function_parser() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("events/") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        let value = event(&name);
        let parsed = match name
            .trim_end_matches(".json")
            .split('-')
            .next()
            .unwrap_or_default()
        {
            "provision" => Invocation::parse(value).map(drop),
            "deprovision" => lifecycle::deprovisioning::DeprovisionRequest::parse(value).map(drop),
            "policy" => lifecycle::policy_targets::PolicyTargetsRequest::parse(value).map(drop),
            "token" => lifecycle::refresh::force_from(&value).map(drop),
            // status, daily-sync and sync-worker samples are parsed by their own tests.
            _ => continue,
        };
        parsed.unwrap_or_else(|err| panic!("{name}: {err}"));
        checked += 1;
    }
    assert!(checked >= 10, "{checked} samples checked");
}

#[tokio::test]
async fn the_provision_sample_provisions_the_local_sample_tenant() {
    let lab = Lab::start().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/local-tenants.json");
    let tenants: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).expect(path)).expect(path);
    for tenant in tenants {
        lab.tenant(tenant);
    }
    let view = lab.provision(event("provision.json")).await.expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let dry_run = lab
        .provision(event("provision-dry-run.json"))
        .await
        .expect("dry run");
    assert_eq!(dry_run["dry_run"], true);

    let status = |name: &str, replace_task: bool| {
        let mut payload = event(name);
        if replace_task {
            payload["task_id"] = view["task_id"].clone();
        }
        invoke(status::handler, &lab.aws.store, payload)
    };
    let tenant = status("status-tenant.json", false).await.expect("status");
    assert_eq!(tenant["state"], "active");
    let task = status("status-task.json", true).await.expect("status");
    assert_eq!(task["status"], "succeeded");
}
