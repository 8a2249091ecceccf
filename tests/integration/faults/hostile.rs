//! A corpus of malformed and hostile events across the functions: each must get a typed error
//! naming what is wrong, and nothing may change (no record, no message, no Microsoft call).

use integration_tests::lab::{Lab, invoke};
use model::sites::Site;
use serde_json::{Value, json};

/// A JSON array nested `depth` deep (past serde_json's recursion limit of 128).
fn nesting_bomb(depth: usize) -> Value {
    let mut value = json!([]);
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// Values no string field accepts.
fn bad_strings() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(42),
        json!(-1.5),
        json!([]),
        json!({}),
        json!(""),
        json!("x".repeat(70_000)),
        json!("\u{202e}moc.osotnoc\u{200b}"),
        json!("a\u{0}b\u{7}c\r\n"),
        json!("😀".repeat(50)),
        json!("8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11; DROP TABLE"),
        nesting_bomb(200),
    ]
}

/// Values no boolean field accepts.
fn bad_booleans() -> Vec<Value> {
    vec![
        json!("true"),
        json!(1),
        json!([true]),
        json!({"value": true}),
        json!("yes"),
        nesting_bomb(200),
    ]
}

/// Values no object field accepts.
fn bad_objects() -> Vec<Value> {
    vec![
        json!("{}"),
        json!(3),
        json!([{}]),
        json!(false),
        nesting_bomb(200),
    ]
}

/// Every event made by replacing one field of `base` with each bad value, plus unknown fields
/// and non-object events.
fn corpus(base: &Value, fields: &[(&str, Vec<Value>)]) -> Vec<Value> {
    let mut events = vec![
        json!(null),
        json!("event"),
        json!([base.clone()]),
        json!(17),
        nesting_bomb(300),
    ];
    for (field, values) in fields {
        for value in values {
            let mut event = base.clone();
            event[*field] = value.clone();
            events.push(event);
        }
    }
    for unknown in ["__proto__", "tenantId", "TENANT_ID", "\u{0}"] {
        let mut event = base.clone();
        event[unknown] = json!(1);
        events.push(event);
    }
    events
}

#[tokio::test]
async fn over_a_hundred_hostile_events_get_typed_errors_and_change_nothing() {
    let lab = Lab::start().await;
    let tenant = lab.active_tenant(Site::Eu, 2).await;
    let before = lab.record(tenant).await;
    let id = tenant.to_string();
    let other_task = uuid::Uuid::new_v4().to_string();
    let strings = bad_strings;
    // For optional fields `null` means "absent", which is valid.
    let present = || {
        bad_strings()
            .into_iter()
            .filter(|v| !v.is_null())
            .collect::<Vec<_>>()
    };

    let provision = corpus(
        &json!({"tenant_id": id, "site": "eu"}),
        &[
            ("tenant_id", strings()),
            ("site", strings()),
            ("cloud", strings()),
            (
                "services",
                [
                    strings(),
                    vec![json!(["exchange_online", "exchange_online"]), json!(["teams"])],
                ]
                .concat(),
            ),
            ("policy_targets", bad_objects()),
            ("options", bad_objects()),
        ],
    );
    let deprovision = corpus(
        &json!({"tenant_id": id, "mode": "full"}),
        &[
            ("tenant_id", strings()),
            ("mode", strings()),
            ("acknowledge_quarantine", bad_booleans()),
            ("adopt_existing", bad_booleans()),
        ],
    );
    let policy = corpus(
        &json!({"tenant_id": id, "policy_targets": {"users": ["alice@contoso.com"]}}),
        &[("tenant_id", strings()), ("policy_targets", bad_objects())],
    );
    let status = corpus(
        &json!({"tenant_id": id}),
        &[("tenant_id", strings()), ("task_id", present())],
    );
    let refresh: Vec<Value> = bad_booleans().into_iter().map(|v| json!({"force": v})).collect();
    let daily = corpus(
        &json!({"site": "eu"}),
        &[("site", strings()), ("run_date", present())],
    );
    // A continuation must not carry a tenant of its own: the task decides the tenant.
    let crossed = vec![json!({"task_id": other_task, "tenant_id": id})];

    let total = provision.len()
        + deprovision.len()
        + policy.len()
        + status.len()
        + refresh.len()
        + daily.len()
        + crossed.len();
    assert!(total >= 100, "{total} events");

    let expect_refused =
        |function: &str, event: &Value, result: Result<Value, lambda_runtime::Diagnostic>| {
            let err = result.expect_err(&format!("{function} must refuse {}", truncated(event)));
            assert!(
                matches!(err.error_type.as_str(), "InvalidInput" | "NotFound"),
                "{function}: {} -> {err:?}",
                truncated(event)
            );
            assert!(
                err.error_message.len() < 2_000,
                "{function}: the error stays short: {}",
                err.error_message.len()
            );
            assert!(
                !err.error_message.contains('\0'),
                "{function}: control characters are escaped"
            );
        };
    for event in provision.iter().chain(&crossed) {
        expect_refused("provision", event, lab.provision(event.clone()).await);
    }
    for event in deprovision.iter().chain(&crossed) {
        expect_refused("deprovision", event, lab.deprovision(event.clone()).await);
    }
    for event in policy.iter().chain(&crossed) {
        expect_refused("policy-targets", event, lab.policy_targets(event.clone()).await);
    }
    let store = lab.aws.store.clone();
    for event in &status {
        expect_refused(
            "status",
            event,
            invoke(status::handler, &store, event.clone()).await,
        );
    }
    let refresher = lab.refresher();
    for event in &refresh {
        expect_refused(
            "token-refresh",
            event,
            invoke(token_refresh::handler, &refresher, event.clone()).await,
        );
    }
    let sync_queue = state::config::sync_queue_url(&lab.aws.stack.env).expect("the sync queue");
    let runner = lab.daily_sync();
    for event in &daily {
        expect_refused(
            "daily-sync",
            event,
            invoke(daily_sync::handler, &runner, event.clone()).await,
        );
    }

    // Nothing changed: the tenant record, the queues, Microsoft.
    let after = lab.record(tenant).await;
    assert_eq!(after, before, "the tenant record is untouched");
    let depth = aws_sdk_sqs::Client::new(&lab.aws.sdk)
        .get_queue_attributes()
        .queue_url(&sync_queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("queue")
        .attributes
        .unwrap_or_default();
    assert_eq!(
        depth
            .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .map(String::as_str),
        Some("0")
    );
    assert!(
        lab.sim.stats()["tenants"][id].is_null(),
        "no Microsoft call: {}",
        lab.sim.stats()
    );
}

fn truncated(event: &Value) -> String {
    event.to_string().chars().take(120).collect()
}

/// Each function continues only its own kind of task: a `task_id` of another kind is refused
/// with the function that runs it, and the task is left as it was.
#[tokio::test]
async fn a_task_id_of_another_kind_is_refused_and_changes_nothing() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}]
    }));
    let provisioned = lab
        .provision(crate::functions::provision::request(tenant))
        .await
        .expect("provision");
    assert_eq!(provisioned["status"], "succeeded", "{provisioned:#}");
    let provisioning = provisioned["task_id"].as_str().expect("task id").to_owned();
    let targets = lab
        .policy_targets(
            json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": ["alice@contoso.com"]}}),
        )
        .await
        .expect("policy targets");
    let deprovisioning = lab
        .deprovision(crate::functions::deprovision::deprovision_event(
            tenant, "standard",
        ))
        .await;
    let deprovisioning = match deprovisioning {
        Ok(view) => view["task_id"].as_str().expect("task id").to_owned(),
        Err(err) => panic!("deprovision: {err:?}"),
    };
    let targets = targets["task_id"].as_str().expect("task id").to_owned();
    let before = lab.counts(tenant);
    let calls: [(&str, &str, &str); 6] = [
        ("policy-targets", provisioning.as_str(), "provision"),
        ("policy-targets", deprovisioning.as_str(), "deprovision"),
        ("deprovision", provisioning.as_str(), "provision"),
        ("deprovision", targets.as_str(), "policy-targets"),
        ("provision", deprovisioning.as_str(), "deprovision"),
        ("provision", targets.as_str(), "policy-targets"),
    ];
    for (function, task, owner) in calls {
        let event = json!({"task_id": task});
        let answer = match function {
            "policy-targets" => lab.policy_targets(event.clone()).await,
            "deprovision" => lab.deprovision(event.clone()).await,
            _ => lab.provision(event.clone()).await,
        };
        let err = answer.expect_err(&format!("{function} must refuse {task}"));
        assert_eq!(err.error_type, "InvalidInput", "{function} {task}: {err:?}");
        assert!(
            err.error_message.contains("`task_id`")
                && err.error_message.contains(&format!("continue it with `{owner}`")),
            "{function} {task}: {}",
            err.error_message
        );
    }
    assert_eq!(lab.counts(tenant), before, "no call to Microsoft");
}

/// Names the tenant chose reach a step's outcome: they are stored bounded, with control and
/// direction characters escaped, so no operator view or log line shows a forged line.
#[tokio::test]
async fn a_tenants_hostile_object_names_are_stored_bounded_and_escaped() {
    let lab = Lab::start().await;
    let hostile = format!(
        "Other vendor\n[ERROR] forged line\u{202E}gnp.exe{}",
        "x".repeat(6_000)
    );
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "exchange": {"outbound_connectors": [{"Name": hostile, "SmartHosts": ["mx.other.example"], "UseMXRecord": false}]}
    }));
    let view = lab
        .provision(crate::functions::provision::request(tenant))
        .await
        .expect("provision");
    let text = view.to_string();
    let check = view["services"]["exchange_online"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "check_exchange")
        .expect("check_exchange");
    let outcome = check["outcome"].as_str().expect("outcome");
    assert!(
        outcome.contains("other mail routing already present"),
        "{outcome}"
    );
    assert!(
        !outcome.contains('\n') && !outcome.contains('\u{202E}'),
        "{outcome}"
    );
    assert!(
        outcome.contains("\\u{a}") && outcome.contains("\\u{202e}"),
        "shown as escapes: {outcome}"
    );
    assert!(
        outcome.chars().count() < 4_100,
        "bounded: {}",
        outcome.chars().count()
    );
    assert!(!text.contains('\u{202E}'), "nowhere in the view");
}
