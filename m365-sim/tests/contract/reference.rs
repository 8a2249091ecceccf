//! The cmdlet reference's examples and documented mistakes (`exchange-cmdlet-examples.json`) run
//! against a simulated tenant each: the examples must succeed, the mistakes be refused with
//! Exchange's status and message.

use m365_sim::model::exchange::reference::CMDLETS;
use serde_json::{Value, json};

use crate::common::*;

/// One fixture case: its setup calls, then the call under test.
async fn run_case(env: &Env, spec: &Value, cmdlet: &str, case: &Value) -> Resp {
    let r = env.admin("POST", "/_sim/tenants", Some(spec.clone())).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let tenant = r.body["tenant_id"].as_str().expect("tenant id").to_owned();
    let token = env.token_for(&tenant, EXO).await;
    let url = format!("{}/adminapi/beta/{tenant}/InvokeCommand", env.base);
    let call =
        |name: &str, params: &Value| json!({"CmdletInput": {"CmdletName": name, "Parameters": params}});
    let mut answers = Vec::new();
    for s in case["setup"].as_array().into_iter().flatten() {
        let name = s["cmdlet"].as_str().expect("setup cmdlet");
        let a = env
            .exo_url(&url, &token, &call(name, &s["parameters"]), None)
            .await;
        assert_eq!(a.status, 200, "{cmdlet} setup {name}: {}", a.body);
        answers.push(a.body["value"][0].clone());
    }
    let params = substitute(&case["parameters"], &answers);
    env.exo_url(&url, &token, &call(cmdlet, &params), None).await
}

/// Replaces `"$setup[N].Field"` with the Field of setup answer N.
fn substitute(v: &Value, answers: &[Value]) -> Value {
    match v {
        Value::String(s) if s.starts_with("$setup[") => {
            let (n, field) = s["$setup[".len()..].split_once("].").expect("placeholder");
            answers[n.parse::<usize>().expect("index")][field].clone()
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, answers)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, answers)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Runs every case of `cmdlet` and asserts its outcome.
async fn check(env: &Env, fx: &Value, cmdlet: &str, cases: &Value) {
    for case in cases["accept"].as_array().expect("accept") {
        let r = run_case(env, &fx["tenant"], cmdlet, case).await;
        assert_eq!(r.status, 200, "{cmdlet} {}: {}", case["_example"], r.body);
        assert!(r.body["value"].is_array(), "{cmdlet}: {}", r.body);
    }
    for case in cases["refuse"].as_array().expect("refuse") {
        let r = run_case(env, &fx["tenant"], cmdlet, case).await;
        let status = case["status"].as_u64().expect("status") as u16;
        let text = case["message"].as_str().expect("message");
        assert_eq!(r.status, status, "{cmdlet} {}: {}", case["_mistake"], r.body);
        assert!(
            r.message().contains(text),
            "{cmdlet} {}: {text:?} not in {:?}",
            case["_mistake"],
            r.message()
        );
        assert_shape(&fixture("exchange-error.json"), &r.body);
    }
}

#[tokio::test]
async fn the_references_examples_are_accepted_and_its_mistakes_refused() {
    let fx = fixture("exchange-cmdlet-examples.json");
    let env = Env::new(json!({})).await;
    let cmdlets = fx["cmdlets"].as_object().expect("cmdlets");
    for spec in CMDLETS {
        let cases = cmdlets
            .get(spec.name)
            .unwrap_or_else(|| panic!("no cases for {}", spec.name));
        assert!(
            cases["_source"]
                .as_str()
                .is_some_and(|s| s.ends_with(&format!("/{}.md", spec.name)))
        );
        assert!(
            !cases["accept"].as_array().expect("accept").is_empty(),
            "{}",
            spec.name
        );
        assert!(
            !cases["refuse"].as_array().expect("refuse").is_empty(),
            "{}",
            spec.name
        );
        check(&env, &fx, spec.name, cases).await;
    }
    assert_eq!(cmdlets.len(), CMDLETS.len());
}

#[tokio::test]
#[should_panic(expected = "not in")]
async fn a_wrong_expected_message_fails() {
    let fx = fixture("exchange-cmdlet-examples.json");
    let env = Env::new(json!({})).await;
    let cases = json!({"accept": [], "refuse": [{"_mistake": "x", "parameters": {"Name": "x"}, "status": 400, "message": "an answer Exchange never gives"}]});
    check(&env, &fx, "New-InboundConnector", &cases).await;
}

#[tokio::test]
#[should_panic(expected = "Get-InboundConnector")]
async fn a_refused_example_fails() {
    let fx = fixture("exchange-cmdlet-examples.json");
    let env = Env::new(json!({})).await;
    let cases = json!({"accept": [{"_example": "x", "parameters": {"Identity": "missing"}}], "refuse": []});
    check(&env, &fx, "Get-InboundConnector", &cases).await;
}
