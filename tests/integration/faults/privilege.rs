//! Least privilege: every IAM action the template grants a function is one its code calls, and
//! every call is granted. Each function runs in its own process (`child::FunctionProcess`) under
//! its own access key through the paths an operator's day takes it; moto's front
//! (`scripts/moto_server.py`) records the actions per key.

use std::collections::{BTreeMap, BTreeSet};

use integration_tests::{
    function_url::request_event,
    lab::{Lab, vendor_json},
    template::Template,
};
use model::{sites::Site, tenant::TenantId};
use serde_json::{Value, json};
use state::vault::TenantTokens;

use crate::{
    functions::provision::{customer_tenant, request},
    harness::child::FunctionProcess,
};

/// The onboard function's consent callback in this test.
const REDIRECT: &str = "https://vendor.example/consent/callback";

/// Granted because another granted call needs it, not called on its own: Secrets Manager calls
/// KMS with the caller's rights for a customer-managed key, and `CreateSecret` with tags needs
/// `TagResource`.
const IMPLIED: [(&str, &[&str]); 3] = [
    ("kms:Decrypt", &["secretsmanager:GetSecretValue"]),
    (
        "kms:GenerateDataKey",
        &["secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"],
    ),
    ("secretsmanager:TagResource", &["secretsmanager:CreateSecret"]),
];

/// API operations that IAM authorizes under another action's name.
const AUTHORIZED_AS: [(&str, &str); 1] = [("sqs:SendMessageBatch", "sqs:SendMessage")];

/// Every action granted to each function (by binary name): its role's inline statements and the
/// key policies naming its role. A SAM policy template counts as an action never called: it
/// grants actions nobody chose. Deny statements narrow a grant; they grant nothing.
fn granted() -> BTreeMap<String, BTreeSet<String>> {
    let template = Template::load().expect("template");
    let mut all = BTreeMap::new();
    let by_keys = granted_by_key_policies(&template);
    for (id, properties) in template.resources_of_type("AWS::Serverless::Function") {
        let binary = template.root()["Resources"][id.as_str()]["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names its binary"))
            .to_owned();
        let mut actions = BTreeSet::new();
        for policy in properties["Policies"].as_sequence().into_iter().flatten() {
            let Some(statements) = policy.get("Statement").and_then(|s| s.as_sequence()) else {
                // Never called, so reported as unused, by name.
                let names = policy.as_mapping().into_iter().flat_map(|m| m.keys());
                actions.extend(
                    names.map(|name| format!("SAM policy template {}", name.as_str().unwrap_or("?"))),
                );
                continue;
            };
            for statement in statements {
                if statement["Effect"].as_str() == Some("Deny") {
                    continue;
                }
                match &statement["Action"] {
                    serde_yaml_ng::Value::String(action) => {
                        actions.insert(action.clone());
                    }
                    serde_yaml_ng::Value::Sequence(list) => {
                        actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)));
                    }
                    other => panic!("{id}: an action list, not {other:?}"),
                }
            }
        }
        actions.extend(by_keys.get(&format!("{id}Role")).into_iter().flatten().cloned());
        all.insert(binary, actions);
    }
    all
}

/// The actions each role (by logical id) is granted by the KMS key policies that name it
/// (`!GetAtt <Role>.Arn`).
fn granted_by_key_policies(template: &Template) -> BTreeMap<String, BTreeSet<String>> {
    use serde_yaml_ng::Value as Yaml;
    let mut by_role: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, properties) in template.resources_of_type("AWS::KMS::Key") {
        for statement in properties["KeyPolicy"]["Statement"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            // A conditional statement (`!If`) names an operator, never a function's role.
            if !statement.is_mapping() {
                continue;
            }
            let roles = statement["Principal"]["AWS"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|principal| match principal {
                    Yaml::Tagged(tagged) if tagged.tag == "GetAtt" => tagged.value.as_str(),
                    _ => None,
                })
                .filter_map(|target| target.strip_suffix(".Arn"));
            let actions: Vec<String> = match &statement["Action"] {
                Yaml::String(action) => vec![action.clone()],
                Yaml::Sequence(list) => list
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                other => panic!("a key policy's action list, not {other:?}"),
            };
            for role in roles {
                by_role
                    .entry(role.to_owned())
                    .or_default()
                    .extend(actions.iter().cloned());
            }
        }
    }
    by_role
}

/// Runs the functions, each under its own key, through their paths.
struct Operator<'a> {
    lab: &'a Lab,
    run: String,
}

impl Operator<'_> {
    fn key(&self, function: &str) -> String {
        format!("{function}-{}", self.run)
    }

    fn process(&self, function: &str, event: &Value) -> FunctionProcess {
        FunctionProcess::new(self.lab, function, event)
            .env("AWS_ACCESS_KEY_ID", &self.key(function))
            .env("AWS_SECRET_ACCESS_KEY", "testing")
    }

    async fn invoke(&self, function: &str, event: Value) -> Value {
        self.process(function, &event).run().await
    }

    /// Invokes with less time left than the function keeps back: its work is queued to go on.
    async fn invoke_out_of_time(&self, function: &str, event: Value) -> Value {
        self.process(function, &event).deadline_in(5).run().await
    }

    /// The messages waiting on `queue` (a URL variable of the stack), taken off it as SQS records.
    async fn take_messages(&self, queue: &str) -> Value {
        self.lab.aws.take_messages(queue).await
    }
}

/// Leaves the tenant's secret holding only a delegated refresh token: the next function that needs
/// a token mints one and writes the secret conditionally, as after a missed hourly refresh.
async fn only_a_refresh_token(lab: &Lab, tenant: TenantId) {
    let refresh_token = lab
        .sim
        .mint_refresh_token(&tenant.to_string(), None)
        .expect("grant");
    let tokens = TenantTokens {
        refresh_token: Some(refresh_token.into()),
        ..TenantTokens::default()
    };
    let stored = lab.aws.vault.read_tokens(tenant).await.expect("read");
    lab.aws
        .vault
        .write_tokens(
            tenant,
            Site::Eu,
            &tokens,
            stored.as_ref().map(|s| s.version_id.as_str()),
        )
        .await
        .expect("store the grant");
}

fn in_eu(tenant: TenantId) -> Value {
    let mut event = request(tenant);
    event["site"] = json!("eu");
    event
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_aws_actions_it_calls() {
    // The default deployment: the app's assertions are signed with the stack's KMS key.
    let lab = Lab::with_kms_certificate(m365_sim::SimConfig::default()).await;
    let op = Operator {
        lab: &lab,
        run: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
    };

    // provision: a wait on group propagation queues a continuation, which finishes the task.
    let slow = lab.tenant(json!({
        "domains": ["slow.example"], "users": [{"user_principal_name": "alice@slow.example"}],
        "group_propagation_seconds": 600
    }));
    let event = json!({"tenant_id": slow.to_string(), "site": "eu", "policy_targets": {"users": ["alice@slow.example"]}});
    let first = op.invoke("provision", event).await;
    assert_eq!(first["status"], "waiting", "{first:#}");
    lab.sim.advance_clock(900.0);
    // The queued message waits out our clock; the operator's `{"task_id"}` looks now.
    only_a_refresh_token(&lab, slow).await;
    op.invoke("provision", json!({"task_id": first["task_id"]})).await;
    let view = op.invoke("status", json!({"task_id": first["task_id"]})).await;
    assert_eq!(view["status"], "succeeded", "{view:#}");
    op.invoke("status", json!({"tenant_id": slow.to_string()})).await;

    let tenant = customer_tenant(&lab);
    assert_eq!(op.invoke("provision", in_eu(tenant)).await["status"], "succeeded");
    only_a_refresh_token(&lab, slow).await;
    let targets = json!({"tenant_id": slow.to_string(), "policy_targets": {"users": []}});
    assert_eq!(op.invoke("policy-targets", targets).await["status"], "succeeded");
    let fewer = json!({"tenant_id": slow.to_string(), "policy_targets": {"users": ["alice@slow.example"]}});
    let late = op.invoke_out_of_time("policy-targets", fewer).await;
    assert_eq!(late["status"], "running", "{late:#}");

    // token-refresh: app-only tenants, a delegated one (its refresh token rotates), and one whose
    // consent was revoked (it moves to needs_reconsent).
    let delegated = lab.active_tenant(Site::Eu, 2).await;
    only_a_refresh_token(&lab, delegated).await;
    let revoked = lab.active_tenant(Site::Eu, 2).await;
    lab.sim.revoke_consent(&revoked.to_string()).expect("revoke");
    let report = op.invoke("token-refresh", json!({"force": true})).await;
    assert_eq!(report["refreshed"], 3, "{report:#}");
    assert_eq!(
        report["needs_reconsent"].as_array().map(Vec::len),
        Some(1),
        "{report:#}"
    );

    // policy-targets again, for a tenant whose Graph refuses every request: the task fails, and
    // the failure is announced on the bus.
    let lost = lab.active_tenant(Site::Us, 2).await;
    only_a_refresh_token(&lab, lost).await;
    lab.fault(json!({"tenant": lost.to_string(), "surface": "graph", "status": 400}));
    let targets = json!({"tenant_id": lost.to_string(), "policy_targets": {"users": []}});
    let failed = op.invoke("policy-targets", targets).await;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    lab.sim.clear_faults();

    // daily-sync (twice: the second finds the run done) and sync-worker, which mints for a
    // delegated tenant whose hourly refresh fell behind and for a tenant without a secret yet.
    only_a_refresh_token(&lab, delegated).await;
    lab.active_tenant(Site::Eu, 2).await;
    let summary = op
        .invoke("daily-sync", json!({"site": "eu", "run_date": "2030-01-01"}))
        .await;
    assert_eq!(summary["enqueued"], 4, "{summary:#}");
    let again = op
        .invoke("daily-sync", json!({"site": "eu", "run_date": "2030-01-01"}))
        .await;
    assert_eq!(again["duplicate"], true, "{again:#}");
    // Out of time, the worker starts no tenant and queues each message again.
    let messages = op.take_messages("SYNC_QUEUE_URL").await;
    let late = op.invoke_out_of_time("sync-worker", messages).await;
    assert_eq!(late["batchItemFailures"], json!([]), "{late:#}");
    let messages = op.take_messages("SYNC_QUEUE_URL").await;
    assert_eq!(
        messages["Records"].as_array().map(Vec::len),
        Some(4),
        "{messages:#}"
    );
    op.invoke("sync-worker", messages).await;
    // The next day, after the vendor retired an egress IP and added one: the worker removes the
    // retired IP we added and forgets its record, and repairs the allow list with the new one.
    let mut changed: Value = serde_json::from_str(&vendor_json()).expect("vendor JSON");
    let (kept, added) = (changed["egress_ips"][0].clone(), json!("203.0.113.77"));
    changed["egress_ips"] = json!([kept, added]);
    op.invoke("daily-sync", json!({"site": "eu", "run_date": "2030-01-02"}))
        .await;
    let messages = op.take_messages("SYNC_QUEUE_URL").await;
    lab.aws.put_vendor_config(&changed.to_string()).await;
    let answer = op.process("sync-worker", &messages).run().await;
    lab.aws.put_vendor_config(&vendor_json()).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer:#}");
    let ips = lab.recorded(tenant, state::store::ResourceKind::AllowedIp).await;
    assert_eq!(
        json!(ips),
        changed["egress_ips"],
        "the IPs we keep follow the vendor"
    );

    // deprovision, and its continuation on the provision function after a crash.
    let full = json!({"tenant_id": tenant.to_string(), "mode": "full", "acknowledge_quarantine": false});
    let late = op.invoke_out_of_time("deprovision", full.clone()).await;
    assert_eq!(late["status"], "running", "{late:#}");
    op.process("deprovision", &full)
        .run_until_killed_after(&lab, tenant, "Remove-OutboundConnector")
        .await;
    let task_id = lab
        .record(tenant)
        .await
        .current_task_id
        .expect("the deprovision task");
    // Through the continuation queue: asked directly, provision continues provisioning only.
    let continuation =
        json!({"Records": [{"messageId": "m-1", "body": json!({"task_id": task_id}).to_string()}]});
    let answer = op.invoke("provision", continuation).await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer:#}");
    let done = op.invoke("status", json!({"task_id": task_id})).await;
    assert_eq!(done["status"], "succeeded", "{done:#}");
    only_a_refresh_token(&lab, slow).await;
    let slow_full = json!({"tenant_id": slow.to_string(), "mode": "full", "acknowledge_quarantine": false});
    let view = op.invoke("deprovision", slow_full).await;
    assert_eq!(view["status"], "succeeded", "{view:#}");
    // onboard: a link for the cleaned-up tenant, its admin's consent, the callback (Verify, and
    // provisioning opened again, which restores the token secret), and Verify of a tenant whose
    // grant is gone (a re-consent link in its record).
    lab.sim.register_redirect_uri(REDIRECT);
    let onboard = |event: &Value| op.process("onboard", event).env("CONSENT_REDIRECT_URI", REDIRECT);
    let link = json!({"tenant": "slow.example", "site": "eu", "provision": true});
    let link = onboard(&link).run().await;
    let location = integration_tests::browser::Browser::default()
        .consent(link["consent_url"].as_str().expect("a link"), None, "accept")
        .await;
    let query = location.split_once('?').expect("a query").1;
    let callback = request_event("GET", "/consent/callback", query);
    let page = onboard(&callback).run().await;
    assert_eq!(page["statusCode"], 200, "{page:#}");
    let verified = onboard(&json!({"verify": revoked.to_string()})).run().await;
    assert_eq!(verified["ok"], false, "{verified:#}");
    // Provisioning a cleaned-up tenant again (the admin consented again) restores its token secret.
    m365_sim::admin::grant_consent(lab.sim.state(), &tenant.to_string(), None).expect("consent");
    let again = op.invoke("provision", in_eu(tenant)).await;
    assert_eq!(again["status"], "succeeded", "{again:#}");
    // Cleaning up a tenant we never provisioned: its first token creates its secret.
    let seeded = lab.tenant(json!({"domains": ["seeded.example"], "users": 1}));
    let adopt =
        json!({"tenant_id": seeded.to_string(), "mode": "full", "adopt_existing": true, "site": "eu"});
    let adopted = op.invoke("deprovision", adopt).await;
    assert_eq!(adopted["status"], "succeeded", "{adopted:#}");

    // api: the fleet read, a cleaned-up tenant provisioned again (its token secret restored), a
    // policy-targets update (its users looked up with a token minted from a refresh token),
    // Verify and a consent link, pause and resume, a site's sync and a tenant's sync now.
    let api = |method: &str, path: &str, body: Value| {
        let mut event = request_event(method, path, "");
        if !body.is_null() {
            event["body"] = json!(body.to_string());
        }
        let process = op.process("api", &event).env("CONSENT_REDIRECT_URI", REDIRECT);
        let (method, path) = (method.to_owned(), path.to_owned());
        async move {
            let answer = process.run().await;
            let status = answer["statusCode"].as_u64().unwrap_or_default();
            assert!((200..300).contains(&status), "{method} {path}: {answer:#}");
            answer
        }
    };
    api("GET", "/fleet", Value::Null).await;
    api("GET", "/tenants", Value::Null).await;
    api(
        "POST",
        &format!("/tenants/{seeded}/provision"),
        json!({"site": "eu"}),
    )
    .await;
    only_a_refresh_token(&lab, tenant).await;
    let fewer = json!({"policy_targets": {"users": ["alice@contoso.com"]}});
    api("POST", &format!("/tenants/{tenant}/policy-targets"), fewer).await;
    api("POST", &format!("/tenants/{revoked}/verify"), Value::Null).await;
    let link = json!({"tenant": "slow.example", "site": "eu", "provision": false});
    api("POST", "/consent-links", link).await;
    api("POST", &format!("/tenants/{tenant}/pause"), Value::Null).await;
    api("POST", &format!("/tenants/{tenant}/resume"), Value::Null).await;
    api("POST", "/sites/eu/sync", json!({"run_date": "2030-01-03"})).await;
    api("POST", &format!("/tenants/{tenant}/sync"), Value::Null).await;
    api("GET", &format!("/tenants/{tenant}"), Value::Null).await;

    let used = integration_tests::aws::recorded_actions().await;
    let mut mismatches = Vec::new();
    for (function, grants) in granted() {
        let calls: BTreeSet<String> = used
            .get(&op.key(&function))
            .into_iter()
            .flatten()
            .map(|call| {
                let authorized = AUTHORIZED_AS.iter().find(|(api, _)| api == call);
                authorized.map_or(call.clone(), |(_, action)| (*action).to_owned())
            })
            .collect();
        let needed = |action: &String| {
            calls.contains(action)
                || IMPLIED
                    .iter()
                    .any(|(implied, by)| implied == action && by.iter().any(|b| calls.contains(*b)))
        };
        let unused: Vec<&String> = grants.iter().filter(|a| !needed(a)).collect();
        let missing: Vec<&String> = calls.iter().filter(|a| !grants.contains(*a)).collect();
        if !unused.is_empty() || !missing.is_empty() {
            mismatches.push(format!(
                "{function}: granted but never called {unused:?}; called but not granted {missing:?} \
                 (calls: {calls:?})"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    lab.assert_no_secret_in_the_table().await;
}
