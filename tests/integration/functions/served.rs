//! The functions served as Lambda serves them: the Lambda runtime polling a Runtime API, with the
//! services their `main` builds on the first event (`lifecycle::function::serve`).

use integration_tests::{
    lab::{FUNCTIONS, Lab},
    runtime_api::{Outcome, RuntimeApi},
};
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
/// its typed error, then the status again.
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
    let outcomes = FunctionProcess::new(&lab, "status", &Value::Null)
        .serve(&api, 3)
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
}
