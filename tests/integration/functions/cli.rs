//! The CLI end to end against the API of a lab: a provisioning started and watched step by step
//! to its end, the fleet and the tenant list as tables (tenant-chosen text escaped), pause and
//! resume, and a refusal that says what was wrong.

use std::time::Duration;

use clap::Parser as _;
use integration_tests::lab::Lab;
use m365_inline::{Cli, CliError, Outcome, api::ApiClient, run};
use serde_json::{Value, json};

use super::provision::customer_tenant;

/// Runs the CLI with `args` against the lab's API; what it printed, and how it ended.
async fn cli(base: &str, args: &[&str]) -> (String, Result<Outcome, CliError>) {
    let cli =
        Cli::try_parse_from(std::iter::once("m365-inline").chain(args.iter().copied())).expect("arguments");
    let mut out = Vec::new();
    let outcome = run(cli, &mut out, Some(ApiClient::unsigned(base))).await;
    (String::from_utf8(out).expect("utf-8"), outcome)
}

#[tokio::test]
async fn an_operator_runs_a_tenants_lifecycle_and_watches_it_from_the_cli() {
    let lab = Lab::start().await;
    let (url, _) = lab.api_url("cli").await;
    let tenant = customer_tenant(&lab).to_string();

    // `provision --watch` follows the task while provision runs what the API queued.
    let args = ["provision", &tenant, "--site", "eu", "--watch"];
    let ((printed, outcome), ()) = tokio::join!(cli(&url.base, &args), run_queued(&lab));
    assert_eq!(outcome.expect("watched"), Outcome::Done, "{printed}");
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        lines[0].starts_with("task ") && lines[0].contains("started"),
        "{printed}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with(" succeeded") && l.starts_with("task ")),
        "{printed}"
    );
    // Each step is printed once, as it finishes, under its service.
    let task_id = lines[0].split(' ').nth(1).expect("the task id");
    let task: Value = lab
        .provision(json!({"task_id": task_id}))
        .await
        .expect("the task's view");
    for (service, view) in task["services"].as_object().expect("services") {
        for step in view["steps"].as_array().expect("steps") {
            let name = step["name"].as_str().expect("name");
            let shown: Vec<&&str> = lines
                .iter()
                .filter(|l| l.starts_with(service.as_str()) && l.split_whitespace().nth(1) == Some(name))
                .collect();
            assert_eq!(shown.len(), 1, "{service} {name} once in:\n{printed}");
            assert!(
                shown[0].contains(step["status"].as_str().expect("status")),
                "{}",
                shown[0]
            );
        }
    }

    // Labels: a name a terminal would obey is refused, its text escaped in the message; a name
    // with markup is kept as text.
    let args = ["tenant", "label", &tenant, "--name", "Contoso \u{1b}[31mred"];
    let (_, outcome) = cli(&url.base, &args).await;
    let refused = outcome.expect_err("a control character").to_string();
    assert!(
        refused.contains("`display_name`") && !refused.contains('\u{1b}'),
        "{refused:?}"
    );
    let args = [
        "tenant",
        "label",
        &tenant,
        "--name",
        "<b>Contoso</b>",
        "--tag",
        "tier:gold",
    ];
    let (printed, outcome) = cli(&url.base, &args).await;
    assert_eq!(outcome.expect("labelled"), Outcome::Done, "{printed}");
    let (printed, _) = cli(&url.base, &["tenants", "list", "--tag", "tier:gold"]).await;
    let rows: Vec<&str> = printed.lines().collect();
    assert_eq!(rows.len(), 2, "a header and the tenant:\n{printed}");
    assert!(
        rows[0].starts_with("TENANT") && rows[1].starts_with(&tenant),
        "{printed}"
    );
    assert!(
        rows[1].contains("<b>Contoso</b>") && rows[1].contains("active"),
        "{printed}"
    );
    let (printed, _) = cli(
        &url.base,
        &["--output", "json", "tenants", "list", "--state", "active"],
    )
    .await;
    let listed: Value = serde_json::from_str(&printed).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{printed}");

    // Pause and resume; the fleet shows the tenant; a bad id is refused saying which field.
    let (printed, _) = cli(&url.base, &["pause", &tenant]).await;
    assert!(printed.contains("paused"), "{printed}");
    let (printed, outcome) = cli(&url.base, &["sync", "--tenant", &tenant]).await;
    let refused = outcome.expect_err(&printed).to_string();
    assert!(
        refused.contains("paused") && refused.contains("HTTP 409"),
        "{refused}"
    );
    let (printed, _) = cli(&url.base, &["resume", &tenant]).await;
    assert!(!printed.contains("paused"), "{printed}");
    let (printed, _) = cli(&url.base, &["fleet"]).await;
    assert!(printed.starts_with("tenants 1: "), "{printed}");
    assert!(printed.contains("active 1"), "{printed}");
    let (printed, _) = cli(&url.base, &["tenant", "show", &tenant]).await;
    assert!(
        printed.contains("state       active") && printed.contains("provision"),
        "{printed}"
    );
    let (_, outcome) = cli(&url.base, &["tenant", "show", "not-a-guid"]).await;
    let refused = outcome.expect_err("a bad id").to_string();
    assert!(
        refused.contains("`tenant_id`") && refused.contains("HTTP 400"),
        "{refused}"
    );

    // `deprovision --watch` to the end.
    let args = ["deprovision", &tenant, "--mode", "full", "--watch"];
    let ((printed, outcome), ()) = tokio::join!(cli(&url.base, &args), run_queued(&lab));
    assert_eq!(outcome.expect("watched"), Outcome::Done, "{printed}");
    assert!(
        printed.lines().last().is_some_and(|l| l.ends_with(" succeeded")),
        "{printed}"
    );
    assert_eq!(
        lab.record(customer_tenant_id(&tenant)).await.state.to_string(),
        "deprovisioned"
    );
}

/// Waits for the continuation the API queued and runs it on `provision`, as SQS would deliver it.
async fn run_queued(lab: &Lab) {
    let messages = loop {
        let messages = lab.aws.take_messages("PROVISION_QUEUE_URL").await;
        if messages["Records"].as_array().is_some_and(|r| !r.is_empty()) {
            break messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let batch = lab.provision(messages).await.expect("the continuation");
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch:#}");
}

fn customer_tenant_id(tenant: &str) -> model::tenant::TenantId {
    tenant.parse().expect("a tenant id")
}
