//! The functions served as Lambda serves them: the Lambda runtime polling a Runtime API, with the
//! services their `main` builds on the first event (`lifecycle::function::serve`).

use integration_tests::{
    lab::{FUNCTIONS, Lab},
    runtime_api::{Outcome, RuntimeApi},
};
use microsoft::exchange::{Cmdlet, ExchangeAdmin};
use serde_json::{Value, json};

use crate::{functions::deprovision::provisioned, harness::child::FunctionProcess};

/// A missing setting fails each invocation as `Configuration`, naming the variable and what to set
/// it to; the process stays up and answers the next event the same way.
#[tokio::test]
async fn a_missing_setting_fails_every_invocation_as_configuration() {
    let lab = Lab::start().await;
    let expected = Outcome::Error(json!({
        "errorType": "Configuration",
        "errorMessage": "environment variable TABLE_NAME is not set: set it to the state table's name"
    }));
    for function in FUNCTIONS {
        let api = RuntimeApi::start(function, [json!({}), json!({})])
            .await
            .expect("runtime api");
        let outcomes = FunctionProcess::new(&lab, function, &Value::Null)
            .without("TABLE_NAME")
            .serve(&api, 2)
            .await;
        assert_eq!(outcomes, [expected.clone(), expected.clone()], "{function}");
    }
}

/// One process answers event after event: a tenant's status, then a malformed event refused with
/// its typed error, then the status again. The refusal is counted as the caller's error, which the
/// function's errors alarm leaves out.
#[tokio::test]
async fn a_served_function_answers_event_after_event() {
    let lab = Lab::start().await;
    let (tenant, _) = provisioned(&lab).await;
    let status = json!({"tenant_id": tenant.to_string()});
    let api = RuntimeApi::start(
        "status",
        [status.clone(), json!({"tenant_id": "not-a-guid"}), status],
    )
    .await
    .expect("runtime api");
    let (outcomes, output) = FunctionProcess::new(&lab, "status", &Value::Null)
        .serve_logged(&api, 3)
        .await;
    let [
        Outcome::Answer(first),
        Outcome::Error(refused),
        Outcome::Answer(again),
    ] = &outcomes[..]
    else {
        panic!("answer, error, answer expected: {outcomes:?}");
    };
    assert_eq!(first["state"], "active", "{first:#}");
    assert_eq!(refused["errorType"], "InvalidInput", "{refused:#}");
    assert!(
        refused["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("tenant_id")),
        "{refused:#}"
    );
    assert_eq!(again, first);
    let summary = integration_tests::emf::summarize(&output);
    assert_eq!(summary["problems"], json!([]), "{summary:#}");
    assert_eq!(
        integration_tests::emf::total(
            &summary,
            lifecycle::meter::CALLER_ERRORS_METRIC,
            &["Function=status"]
        ),
        1.0,
        "{summary:#}"
    );
}

/// The log lines of a served provisioning, as Lambda's JSON log format reads them: each has an
/// RFC 3339 timestamp and a level (without a valid timestamp Lambda files a line as INFO, which a
/// raised log level drops); each line of the tenant's work names the tenant, the task and the
/// invocation, and each line of a step names the step too.
#[tokio::test]
async fn every_line_of_a_served_provisioning_has_its_time_and_level_and_names_its_tenant() {
    let lab = Lab::start().await;
    let (tenant, output) = served_provisioning(&lab, "logged.example", "198.51.100.93").await;
    let tenant_id = tenant.to_string();
    let lines: Vec<Value> = output
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let steps = lines.iter().filter(|l| l["message"] == "step started").count();
    assert!(steps > 10, "the steps were logged: {output}");
    for line in &lines {
        let at = line["timestamp"].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "no timestamp: {line}"
        );
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&line["level"].as_str().unwrap_or_default()),
            "no level: {line}"
        );
        let text = line.to_string();
        if line.get("task_id").is_some() || text.contains(&tenant_id) {
            assert_eq!(line["tenant_id"], tenant_id, "the tenant's work names it: {line}");
            assert!(line["requestId"].is_string(), "and the invocation: {line}");
        }
        if line["message"] == "step started" || line["message"] == "step did not finish" {
            assert!(line["step"].is_string() && line["task_id"].is_string(), "{line}");
        }
    }
}

/// A new tenant's provisioning served by a `provision` process: the tenant and the output.
async fn served_provisioning(lab: &Lab, domain: &str, ip: &str) -> (model::tenant::TenantId, String) {
    let tenant = lab.customer_tenant(domain, ip);
    (tenant, serve_provisioning(lab, tenant, domain).await)
}

/// The output of a `provision` process that provisioned `tenant` (Alice of `domain` protected),
/// with INFO logs.
async fn serve_provisioning(lab: &Lab, tenant: model::tenant::TenantId, domain: &str) -> String {
    let api = RuntimeApi::start(
        "provision",
        [integration_tests::lab::provision_request(
            tenant,
            &[&format!("alice@{domain}")],
        )],
    )
    .await
    .expect("runtime api");
    let (outcomes, output) = FunctionProcess::new(lab, "provision", &Value::Null)
        .env("RUST_LOG", "info")
        .serve_logged(&api, 1)
        .await;
    let [Outcome::Answer(view)] = &outcomes[..] else {
        panic!("an answer expected: {outcomes:?}");
    };
    assert_eq!(view["status"], "succeeded", "{view:#}");
    output
}

/// A served provisioning's metrics, written after its event as EMF documents valid against the
/// specification: the task's outcome, each step's duration, the Microsoft requests by surface,
/// all under the function's name and beside the invocation's request id.
#[tokio::test]
async fn a_served_provisioning_writes_its_metrics_as_embedded_metric_format() {
    let lab = Lab::start().await;
    let tenant = lab.customer_tenant("metered.example", "198.51.100.94");
    // One throttled answer on each surface a provisioning retries, to be counted and ridden out.
    for (surface, request) in [
        ("graph", "GET /organization"),
        ("exchange", "Get-InboundConnector"),
    ] {
        lab.fault(
            json!({"tenant": tenant.to_string(), "surface": surface, "match": request,
            "status": 429, "retry_after": "0.1", "count": 1}),
        );
    }
    let output = serve_provisioning(&lab, tenant, "metered.example").await;
    let summary = integration_tests::emf::summarize(&output);
    assert_eq!(summary["problems"], json!([]), "{summary:#}");
    assert!(summary["documents"].as_u64() > Some(2), "{summary:#}");
    let total =
        |metric: &str, dimensions: &[&str]| integration_tests::emf::total(&summary, metric, dimensions);
    assert_eq!(
        total(
            lifecycle::meter::TASKS_FINISHED,
            &["Function=provision", "TaskKind=provision", "Outcome=succeeded"]
        ),
        1.0,
        "{summary:#}"
    );
    assert_eq!(total(lifecycle::meter::TASKS_FINISHED, &["Outcome=failed"]), 0.0);
    // One duration for each step that ran, under the step's name.
    assert!(
        total(lifecycle::meter::STEP_DURATION, &["Step=create_connectors"]) >= 1.0,
        "{summary:#}"
    );
    // The requests counted are the ones Microsoft (the simulator) saw, surface by surface.
    let seen = lab.counts(tenant);
    for (surface, round_trips) in [
        ("graph", seen.graph.round_trips),
        ("exchange", seen.exchange.round_trips),
        ("identity", seen.token.round_trips),
    ] {
        assert!(round_trips > 0, "{surface}");
        assert_eq!(
            total(
                microsoft::meter::MICROSOFT_REQUESTS,
                &[&format!("Surface={surface}")]
            ),
            round_trips as f64,
            "{surface}: {summary:#}"
        );
    }
    for surface in ["graph", "exchange"] {
        let on = format!("Surface={surface}");
        assert_eq!(
            (
                total(microsoft::meter::MICROSOFT_THROTTLES, &[&on]),
                total(microsoft::meter::MICROSOFT_RETRIES, &[&on])
            ),
            (1.0, 1.0),
            "{surface}: {summary:#}"
        );
    }
    // Every document is filed as INFO with the invocation's id, as the log lines are.
    for line in output.lines().filter(|l| l.contains("\"_aws\"")) {
        let doc: Value = serde_json::from_str(line).expect("a document");
        assert_eq!(doc["level"], "INFO", "{line}");
        assert!(
            doc["requestId"].is_string() && doc["timestamp"].is_string(),
            "{line}"
        );
    }
}

/// A served sync worker's metrics count each tenant of its batch by site, as synced, failed or
/// skipped, and the drift it repaired.
#[tokio::test]
async fn a_served_sync_worker_counts_its_tenants_by_site_and_the_drift_it_repaired() {
    let lab = Lab::start().await;
    let (good, syncer, _) = crate::functions::sync::synced(&lab).await;
    let record = lab.record(good).await;
    let exchange = syncer.ms.exchange(&record).await.expect("exchange");
    let names = integration_tests::lab::vendor().names();
    // Someone deletes one of our inbound connectors: the next sync puts it back.
    exchange
        .invoke(&Cmdlet::new("Remove-InboundConnector").param("Identity", names.inbound_outgoing.as_str()))
        .await
        .expect("connector deleted");
    let failing = lab.active_tenant(model::sites::Site::Us, 2).await;
    lab.fault(json!({"tenant": failing.to_string(), "surface": "graph", "status": 500}));
    let mut parked = state::store::TenantRecord::new(
        lab.tenant(json!({"domains": ["parked.example"]})),
        model::sites::Site::Us,
        vec![model::service::Service::ExchangeOnline],
        model::tenant::LifecycleState::Deprovisioning,
    );
    lab.aws.store.create(&mut parked).await.expect("record");
    let body = |t| serde_json::to_string(&crate::functions::sync::message(t, "m1")).expect("body");
    let event = crate::functions::sync::sqs_event(&[
        ("m-good", body(good)),
        ("m-failing", body(failing)),
        ("m-parked", body(parked.tenant_id)),
    ]);
    let api = RuntimeApi::start("sync-worker", [event])
        .await
        .expect("runtime api");
    let (outcomes, output) = FunctionProcess::new(&lab, "sync-worker", &Value::Null)
        .serve_logged(&api, 1)
        .await;
    let [Outcome::Answer(answer)] = &outcomes[..] else {
        panic!("an answer expected: {outcomes:?}");
    };
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m-failing"}]),
        "{answer:#}"
    );
    let summary = integration_tests::emf::summarize(&output);
    assert_eq!(summary["problems"], json!([]), "{summary:#}");
    let on_us = ["Function=sync-worker", "Site=us"];
    let counted = [
        lifecycle::meter::TENANTS_SYNCED,
        lifecycle::meter::TENANTS_FAILED,
        lifecycle::meter::TENANTS_SKIPPED,
    ]
    .map(|metric| integration_tests::emf::total(&summary, metric, &on_us));
    assert_eq!(counted, [1.0, 1.0, 1.0], "{summary:#}");
    assert!(
        integration_tests::emf::total(&summary, lifecycle::meter::DRIFT_REPAIRED, &on_us) >= 1.0,
        "{summary:#}"
    );
}

/// A served token refresh counts the tokens it minted by site, a tenant whose refresh failed under
/// its site, and a tenant whose grant is gone as entering `needs_reconsent`.
#[tokio::test]
async fn a_served_token_refresh_counts_tokens_minted_refresh_failures_and_tenants_needing_reconsent() {
    let lab = Lab::start().await;
    lab.active_tenant(model::sites::Site::Eu, 2).await;
    let revoked = lab.active_tenant(model::sites::Site::Ca, 2).await;
    lab.sim.revoke_consent(&revoked.to_string()).expect("revoke");
    let failing = lab.active_tenant(model::sites::Site::Jp, 2).await;
    lab.fault(json!({"tenant": failing.to_string(), "surface": "token", "status": 500}));
    let api = RuntimeApi::start("token-refresh", [json!({})])
        .await
        .expect("runtime api");
    let (outcomes, output) = FunctionProcess::new(&lab, "token-refresh", &Value::Null)
        .serve_logged(&api, 1)
        .await;
    let [Outcome::Answer(report)] = &outcomes[..] else {
        panic!("an answer expected: {outcomes:?}");
    };
    let summary = integration_tests::emf::summarize(&output);
    assert_eq!(summary["problems"], json!([]), "{summary:#}");
    let total =
        |metric: &str, dimensions: &[&str]| integration_tests::emf::total(&summary, metric, dimensions);
    let on = |site: &str| ["Function=token-refresh".to_owned(), format!("Site={site}")];
    let eu = on("eu");
    let eu: Vec<&str> = eu.iter().map(String::as_str).collect();
    assert!(total(lifecycle::meter::TOKENS_MINTED, &eu) >= 1.0, "{summary:#}");
    let jp = on("jp");
    let jp: Vec<&str> = jp.iter().map(String::as_str).collect();
    assert_eq!(
        total(lifecycle::meter::REFRESH_FAILURES, &jp),
        1.0,
        "{report:#} {summary:#}"
    );
    assert_eq!(total(lifecycle::meter::REFRESH_FAILURES, &[]), 1.0, "{summary:#}");
    assert_eq!(
        total(lifecycle::meter::NEEDS_RECONSENT, &["Function=token-refresh"]),
        1.0,
        "{report:#} {summary:#}"
    );
}

/// A served daily run writes its site's tenants by state, each state of the lifecycle (a state
/// without a tenant as 0), for the dashboard's fleet chart.
#[tokio::test]
async fn a_served_daily_sync_writes_its_sites_tenants_by_state() {
    let lab = Lab::start().await;
    for _ in 0..2 {
        lab.active_tenant(model::sites::Site::Anz, 2).await;
    }
    let revoked = lab.active_tenant(model::sites::Site::Anz, 2).await;
    lab.sim.revoke_consent(&revoked.to_string()).expect("revoke");
    lab.refresher().run(&json!({})).await.expect("refresh");
    let api = RuntimeApi::start("daily-sync", [json!({"site": "anz"})])
        .await
        .expect("runtime api");
    let (outcomes, output) = FunctionProcess::new(&lab, "daily-sync", &Value::Null)
        .serve_logged(&api, 1)
        .await;
    let [Outcome::Answer(summary)] = &outcomes[..] else {
        panic!("an answer expected: {outcomes:?}");
    };
    assert_eq!(summary["enqueued"], 2, "{summary:#}");
    let metrics = integration_tests::emf::summarize(&output);
    assert_eq!(metrics["problems"], json!([]), "{metrics:#}");
    for state in model::tenant::LifecycleState::ALL {
        let expected = match state {
            model::tenant::LifecycleState::Active => 2.0,
            model::tenant::LifecycleState::NeedsReconsent => 1.0,
            _ => 0.0,
        };
        let on = [
            "Function=daily-sync".to_owned(),
            "Site=anz".to_owned(),
            format!("State={state}"),
        ];
        let on: Vec<&str> = on.iter().map(String::as_str).collect();
        assert_eq!(
            integration_tests::emf::total(&metrics, lifecycle::meter::TENANTS, &on),
            expected,
            "{state}: {metrics:#}"
        );
        assert!(
            metrics["metrics"][lifecycle::meter::TENANTS]
                .as_object()
                .is_some_and(|sets| sets.keys().any(|k| k.contains(&format!("State={state}")))),
            "{state} is written, zero or not: {metrics:#}"
        );
    }
}

/// A process reads the vendor document from Parameter Store once, when it builds its services,
/// and keeps it for every event after; without the parameter each event fails as
/// `Configuration`, naming it.
#[tokio::test]
async fn a_served_function_reads_the_vendor_document_once_and_names_a_missing_parameter() {
    let lab = Lab::start().await;
    let key = format!("vendor-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let events = [
        json!({"tenant_id": "not-a-guid"}),
        json!({}),
        json!({"tenant_id": "x"}),
    ];
    let api = RuntimeApi::start("policy-targets", events.clone())
        .await
        .expect("runtime api");
    let outcomes = FunctionProcess::new(&lab, "policy-targets", &Value::Null)
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .serve(&api, 3)
        .await;
    for outcome in &outcomes {
        let Outcome::Error(refused) = outcome else {
            panic!("each malformed event is refused: {outcomes:?}");
        };
        assert_eq!(refused["errorType"], "InvalidInput", "{refused:#}");
    }
    let calls = integration_tests::aws::recorded_calls().await;
    assert_eq!(
        calls[&key].get("ssm:GetParameter"),
        Some(&1),
        "{:#?}",
        calls[&key]
    );

    let api = RuntimeApi::start("policy-targets", [json!({}), json!({})])
        .await
        .expect("runtime api");
    let outcomes = FunctionProcess::new(&lab, "policy-targets", &Value::Null)
        .env(
            state::parameters::VENDOR_CONFIG_PARAMETER,
            "/nowhere/vendor-config",
        )
        .serve(&api, 2)
        .await;
    for outcome in &outcomes {
        let Outcome::Error(failed) = outcome else {
            panic!("configuration errors expected: {outcomes:?}");
        };
        assert_eq!(failed["errorType"], "Configuration", "{failed:#}");
        let message = failed["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains("VENDOR_CONFIG_PARAMETER")
                && message.contains("/nowhere/vendor-config")
                && message.contains("ParameterNotFound"),
            "{message}"
        );
    }
}
