//! Provisioning end to end: the `provision` handler against moto and m365-sim.

use integration_tests::lab::{Lab, assert_refused, invoke, provision_request, vendor};
use model::tenant::{LifecycleState, TenantId};
use serde_json::{Value, json};
use state::store::{ResourceKind, ResourceRecord};

pub const CUSTOMER_IP: &str = "192.0.2.10";

/// Contoso as customers have it (see [`Lab::customer_tenant`]).
pub fn customer_tenant(lab: &Lab) -> TenantId {
    lab.customer_tenant("contoso.com", CUSTOMER_IP)
}

/// Provisioning of `tenant` with Alice and Bob targeted.
pub fn request(tenant: TenantId) -> Value {
    provision_request(tenant, &["alice@contoso.com", "bob@contoso.com"])
}

fn names_of(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["Name"].as_str())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// The tenant's Microsoft objects with ids dropped, for comparing two runs.
pub fn footprint(dump: &Value) -> Value {
    let exchange = &dump["exchange"];
    let mut groups: Vec<Value> = dump["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let mut members: Vec<&str> = g["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["userPrincipalName"].as_str())
                .collect();
            members.sort();
            json!({"name": g["displayName"], "options": g["resourceBehaviorOptions"], "members": members})
        })
        .collect();
    groups.sort_by_key(|g| g["name"].to_string());
    let mut rules: Vec<Value> = exchange["transport_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({"name": r["Name"], "state": r["State"]}))
        .collect();
    rules.sort_by_key(|r| r["name"].to_string());
    let spoof: Vec<Value> = exchange["spoof_items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            json!([
                s["SpoofedUser"],
                s["SendingInfrastructure"],
                s["SpoofType"],
                s["Action"]
            ])
        })
        .collect();
    let mut ips: Vec<&str> = exchange["ip_allow_list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    ips.sort();
    json!({
        "groups": groups,
        "inbound": names_of(&exchange["inbound_connectors"]),
        "outbound": names_of(&exchange["outbound_connectors"]),
        "rules": rules,
        "spoof": spoof,
        "ips": ips,
        "roles": dump["role_assignments"].as_array().map_or(0, Vec::len),
    })
}

/// The app roles the lab's consent grants, less `missing`.
fn app_roles_without(missing: &str) -> Vec<&'static str> {
    integration_tests::lab::opted_in_app_roles()
        .into_iter()
        .filter(|role| *role != missing)
        .collect()
}

pub async fn resources(lab: &Lab, tenant: TenantId, kind: ResourceKind) -> Vec<ResourceRecord> {
    let all = lab.aws.store.resources(tenant).await.expect("resources");
    all.into_iter().filter(|r| r.kind == kind).collect()
}

#[tokio::test]
async fn a_full_provision_creates_exactly_the_design_objects() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let view = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    for service in ["tenant", "exchange_online", "sharepoint_online", "onedrive"] {
        assert_eq!(
            view["services"][service]["status"], "succeeded",
            "{service}: {view:#}"
        );
    }

    let names = vendor().names();
    let dump = lab.dump(tenant);
    let print = footprint(&dump);
    let groups: Vec<&str> = print["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(
        groups,
        [names.incoming_group.as_str(), names.outgoing_group.as_str()]
    );
    for group in print["groups"].as_array().expect("groups") {
        assert_eq!(
            group["members"],
            json!(["alice@contoso.com", "bob@contoso.com"]),
            "{group}"
        );
        let options = group["options"].to_string();
        assert!(
            options.contains("WelcomeEmailDisabled") && options.contains("HideGroupInOutlook"),
            "{options}"
        );
    }
    let mut inbound = vec![names.inbound_incoming.clone(), names.inbound_outgoing.clone()];
    inbound.sort();
    let mut outbound = vec![names.outbound_incoming.clone(), names.outbound_outgoing.clone()];
    outbound.sort();
    assert_eq!(print["inbound"], json!(inbound));
    assert_eq!(print["outbound"], json!(outbound));
    let rules = print["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 6, "{rules:?}");
    for rule in names.rules() {
        assert!(
            rules.iter().any(|r| r["name"] == rule && r["state"] == "Enabled"),
            "{rule} enabled: {rules:?}"
        );
    }
    assert_eq!(
        print["spoof"],
        json!([["*", "vendor.example", "External", "Allow"]])
    );
    assert_eq!(
        print["ips"],
        json!(["192.0.2.10", "198.51.100.0/24", "203.0.113.10"]),
        "customer IP kept"
    );

    // What we recorded: exactly the vendor IPs as ours, the spoof entry's id, the role we assigned.
    let mut ours: Vec<String> = resources(&lab, tenant, ResourceKind::AllowedIp)
        .await
        .into_iter()
        .map(|r| r.key)
        .collect();
    ours.sort();
    assert_eq!(ours, ["198.51.100.0/24", "203.0.113.10"]);
    let spoof_id = dump["exchange"]["spoof_items"][0]["Identity"]
        .as_str()
        .expect("spoof id");
    let spoof = resources(&lab, tenant, ResourceKind::SpoofItem).await;
    assert_eq!(spoof.len(), 1);
    assert_eq!(spoof[0].external_id.as_deref(), Some(spoof_id));
    assert_eq!(
        resources(&lab, tenant, ResourceKind::RoleAssignment).await.len(),
        1,
        "the Exchange role we assigned"
    );
    assert_eq!(
        resources(&lab, tenant, ResourceKind::TransportRule).await.len(),
        6
    );
    assert_eq!(resources(&lab, tenant, ResourceKind::Group).await.len(), 2);
    let record = lab.record(tenant).await;
    assert_eq!(record.state, LifecycleState::Active);
}

#[tokio::test]
async fn provisioning_a_provisioned_tenant_again_changes_nothing() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let first = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(first["status"], "succeeded");
    let before = footprint(&lab.dump(tenant));
    lab.sim.reset_stats();

    let again = lab.provision(request(tenant)).await.expect("provision again");
    assert_eq!(again["task_id"], first["task_id"], "the finished task answers");
    // A new process (no cached tokens) continuing the finished task: still nothing.
    let fresh = lab.fresh_lifecycle();
    fresh
        .provision(json!({"task_id": first["task_id"]}), None)
        .await
        .expect("continue a finished task");
    let counts = lab.counts(tenant);
    assert_eq!(counts.microsoft_writes(), 0, "no write calls: {counts:?}");
    assert_eq!(counts.microsoft_requests(), 0, "no calls at all: {counts:?}");
    assert_eq!(footprint(&lab.dump(tenant)), before);
}

/// Every write of provisioning, as the simulator's fault matcher names it.
pub const WRITES: [&str; 9] = [
    "POST /roleManagement/directory/roleAssignments",
    "POST /groups",
    "/members/$ref",
    "New-OutboundConnector",
    "New-InboundConnector",
    "New-TransportRule",
    "New-TenantAllowBlockListSpoofItems",
    "Set-HostedConnectionFilterPolicy",
    "Enable-TransportRule",
];

#[tokio::test]
async fn a_lost_answer_after_any_write_ends_in_the_clean_state_without_duplicates() {
    let lab = Lab::start().await;
    let clean = customer_tenant(&lab);
    let view = lab.provision(request(clean)).await.expect("clean run");
    assert_eq!(view["status"], "succeeded");
    let expected = footprint(&lab.dump(clean));

    for write in WRITES {
        let lab = Lab::start().await;
        let tenant = customer_tenant(&lab);
        // Microsoft applies the write, then the answer is lost: every attempt, until cleared.
        lab.fault(json!({"tenant": tenant.to_string(), "match": write, "status": 503, "phase": "after"}));
        let first = lab
            .provision(request(tenant))
            .await
            .expect("provision under faults");
        assert!(lab.fault_hits() > 0, "{write}: the fault matched");
        lab.sim.clear_faults();
        // Re-invoke, as a continuation would, from a new process.
        let fresh = lab.fresh_lifecycle();
        let done = fresh
            .provision(json!({"task_id": first["task_id"]}), None)
            .await
            .expect("continue");
        let done = serde_json::to_value(done).expect("json");
        assert_eq!(done["status"], "succeeded", "{write}: {done:#}");
        assert_eq!(
            footprint(&lab.dump(tenant)),
            expected,
            "{write}: same objects as a clean run, none twice"
        );
        let ours: Vec<_> = resources(&lab, tenant, ResourceKind::AllowedIp)
            .await
            .into_iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(ours.len(), 2, "{write}: exactly our IPs recorded: {ours:?}");
        let spoof = resources(&lab, tenant, ResourceKind::SpoofItem).await;
        assert!(
            spoof.len() == 1 && spoof[0].external_id.is_some(),
            "{write}: spoof id recorded: {spoof:?}"
        );
    }
}

#[tokio::test]
async fn throttling_storms_on_both_surfaces_are_ridden_out() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "graph", "status": 429, "retry_after": 0.05, "count": 6}));
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "exchange", "status": 429, "retry_after": "0.1", "count": 6}));
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "exchange", "status": 429, "retry_after": 1, "count": 1}));
    // A call retries on its own (5 attempts); a step it still fails for waits out Microsoft's
    // Retry-After for a continuation, which is never the step run again at once.
    let mut view = lab.provision(request(tenant)).await.expect("provision");
    let mut continuations = 0;
    while view["status"] == "waiting" {
        assert!(
            continuations < 5,
            "still throttled after {continuations} continuations: {view:#}"
        );
        continuations += 1;
        view = lab
            .provision(json!({"task_id": view["task_id"]}))
            .await
            .expect("continue");
    }
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert!(
        continuations >= 1,
        "six 429s in a row outlast one call's attempts"
    );
    assert_eq!(
        footprint(&lab.dump(tenant))["rules"].as_array().map(Vec::len),
        Some(6)
    );
}

#[tokio::test]
async fn slow_group_propagation_waits_with_a_queued_continuation() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"], "users": [{"user_principal_name": "alice@contoso.com"}],
        "group_propagation_seconds": 600
    }));
    let first = lab
        .provision(request_for_users(tenant, &["alice@contoso.com"]))
        .await
        .expect("provision");
    assert_eq!(first["status"], "waiting", "{first:#}");
    let exchange = &first["services"]["exchange_online"]["steps"];
    let wait = exchange
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "wait_for_groups")
        .expect("step");
    assert_eq!(wait["status"], "waiting");
    assert!(wait["not_before"].is_string());
    assert!(
        lab.dump(tenant)["exchange"]["transport_rules"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "no rules before the groups are seen"
    );
    // The wait's continuation, and the direct invoke's safety (it arrives after the deadline).
    assert_eq!(
        delayed_messages(&lab).await,
        2,
        "one continuation and the safety queued"
    );

    // A duplicate delivery of the continuation before its time changes nothing and queues nothing.
    let sqs_event =
        json!({"Records": [{"messageId": "m-1", "body": json!({"task_id": first["task_id"]}).to_string()}]});
    let answer = lab.provision(sqs_event).await.expect("early continuation");
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(delayed_messages(&lab).await, 2, "nothing more queued");

    lab.sim.advance_clock(900.0);
    // One poison message (a schema change during a deploy, a body over 64 KiB) fails alone: the
    // continuation beside it is handled (not yet due: nothing to do), only the bad ids come back.
    let poison = json!({"Records": [
        {"messageId": "m-bad", "body": "{}"},
        {"messageId": "m-big", "body": json!({"task_id": "x".repeat(70 * 1024)}).to_string()},
        {"messageId": "m-2", "body": json!({"task_id": first["task_id"]}).to_string()}
    ]});
    let answer = lab.provision(poison).await.expect("a batch answer");
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m-bad"}, {"itemIdentifier": "m-big"}])
    );
    let done = lab
        .provision(json!({"task_id": first["task_id"]}))
        .await
        .expect("continue");
    assert_eq!(done["status"], "succeeded", "{done:#}");
}

fn request_for_users(tenant: TenantId, users: &[&str]) -> Value {
    json!({"tenant_id": tenant.to_string(), "site": "eu", "policy_targets": {"users": users}})
}

async fn delayed_messages(lab: &Lab) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName;
    let url = lab.lifecycle.engine.continuations.url().to_owned();
    let attributes = aws_sdk_sqs::Client::new(&lab.aws.sdk)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let count = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    count(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        + count(QueueAttributeName::ApproximateNumberOfMessages)
}

/// Where the app may not assign its own role (the optional permission not granted), the
/// Exchange step waits for the tenant's admin, saying exactly what to do, and spares the other
/// services; once the admin assigns it, provisioning goes on by itself. Nothing fails.
#[tokio::test]
async fn a_missing_exchange_role_that_the_app_cannot_assign_waits_for_the_admin() {
    let lab = Lab::start().await;
    let roles = app_roles_without("RoleManagement.ReadWrite.Directory");
    let tenant = lab.tenant(
        json!({"domains": ["contoso.com"], "users": 3, "exchange_admin_role": false, "app_roles": roles}),
    );
    let view = lab
        .provision(json!({"tenant_id": tenant.to_string(), "site": "ca"}))
        .await
        .expect("provision answers");
    assert_eq!(view["status"], "waiting", "{view:#}");
    let exchange = &view["services"]["exchange_online"];
    let step = &exchange["steps"][0];
    assert_eq!(
        (step["name"].as_str(), step["status"].as_str()),
        (Some("assign_exchange_role"), Some("waiting")),
        "{step}"
    );
    let said = step["outcome"].as_str().unwrap_or_default();
    assert!(
        said.contains("Roles & admins > Exchange Administrator > Add assignments"),
        "{step}"
    );
    assert_eq!(view["services"]["sharepoint_online"]["status"], "succeeded");
    assert_eq!(view["services"]["onedrive"]["status"], "succeeded");
    assert!(
        lab.dump(tenant)["exchange"]["transport_rules"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Provisioning);

    // The admin assigns the role; the next look finds it and provisioning finishes.
    let admin = serde_json::from_value(json!({"exchange_admin_role": true})).expect("settings");
    lab.sim
        .tenant_settings(&tenant.to_string(), &admin)
        .expect("assigned");
    let done = lab
        .provision(json!({"task_id": view["task_id"]}))
        .await
        .expect("continue");
    assert_eq!(done["status"], "succeeded", "{done:#}");
    let outcome = done["services"]["exchange_online"]["steps"][0]["outcome"].to_string();
    assert!(outcome.contains("assigned by the tenant's admin"), "{outcome}");
    assert!(
        resources(&lab, tenant, ResourceKind::RoleAssignment)
            .await
            .is_empty(),
        "the admin's assignment is never recorded as ours"
    );
}

#[tokio::test]
async fn a_missing_sharepoint_grant_fails_only_sharepoint() {
    let lab = Lab::start().await;
    let roles = app_roles_without("Sites.Read.All");
    let tenant = lab.tenant(json!({"domains": ["contoso.com"], "users": 3, "app_roles": roles}));
    let view = lab
        .provision(json!({"tenant_id": tenant.to_string(), "site": "jp"}))
        .await
        .expect("provision answers");
    assert_eq!(
        view["services"]["exchange_online"]["status"], "succeeded",
        "{view:#}"
    );
    assert_eq!(view["services"]["onedrive"]["status"], "succeeded");
    let sharepoint = &view["services"]["sharepoint_online"];
    assert_eq!(sharepoint["status"], "failed");
    assert!(
        sharepoint["steps"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Sites.Read.All")),
        "{sharepoint}"
    );
    let record = lab.record(tenant).await;
    assert_eq!(
        record.state,
        LifecycleState::Active,
        "Exchange protection is in place"
    );
    assert!(record.attention.is_some_and(|a| a.contains("Sites.Read.All")));
}

#[tokio::test]
async fn a_tenant_without_consent_needs_reconsent() {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({"domains": ["contoso.com"], "consented": false}));
    let view = lab
        .provision(json!({"tenant_id": tenant.to_string(), "site": "sg"}))
        .await
        .expect("provision answers");
    assert_eq!(view["status"], "failed", "{view:#}");
    assert_eq!(
        view["services"]["tenant"]["steps"][0]["error_kind"], "needs_reconsent",
        "{view:#}"
    );
    let record = lab.record(tenant).await;
    assert_eq!(record.state, LifecycleState::NeedsReconsent);
    assert_eq!(lab.counts(tenant).microsoft_writes(), 0);
}

#[tokio::test]
async fn two_concurrent_requests_for_one_tenant_make_one_task() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let second = lab.fresh_lifecycle();
    let (a, b) = tokio::join!(
        lab.provision(request(tenant)),
        second.provision(request(tenant), None),
    );
    let a = a.expect("first");
    let b = serde_json::to_value(b.expect("second")).expect("json");
    assert_eq!(a["task_id"], b["task_id"], "one task");
    let record = lab.record(tenant).await;
    assert_eq!(
        record.current_task_id.map(|t| t.to_string()).as_deref(),
        a["task_id"].as_str()
    );
    // Whichever finished second may still be running; finishing it leaves one set of objects.
    let done = lab
        .provision(json!({"task_id": a["task_id"]}))
        .await
        .expect("finish");
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        footprint(&lab.dump(tenant))["rules"].as_array().map(Vec::len),
        Some(6)
    );
}

#[tokio::test]
async fn bad_events_get_a_typed_error_naming_the_field_and_change_nothing() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab).to_string();
    let cases = [
        (json!("provision"), "."),
        (json!([]), "."),
        (json!({"tenant_id": 42, "site": "eu"}), "tenant_id"),
        (
            json!({"tenant_id": "contoso.onmicrosoft.com", "site": "eu"}),
            "tenant_id",
        ),
        (json!({"site": "eu"}), "."),
        (json!({"tenant_id": tenant, "site": "moon"}), "site"),
        (json!({"tenant_id": tenant, "site": "EU"}), "site"),
        (
            json!({"tenant_id": tenant, "site": "eu", "services": ["exchange"]}),
            "services[0]",
        ),
        (
            json!({"tenant_id": tenant, "site": "eu", "services": "onedrive"}),
            "services",
        ),
        (
            json!({"tenant_id": tenant, "site": "eu", "options": {"ip_allow_list": "no"}}),
            "options.ip_allow_list",
        ),
        (
            json!({"tenant_id": tenant, "site": "eu", "options": {"force": true}}),
            "options.force",
        ),
        (json!({"tenant_id": tenant, "site": "eu", "extra": 1}), "extra"),
        (
            json!({"tenant_id": tenant, "site": "eu", "policy_targets": {"domains": ["not a domain"]}}),
            "policy_targets.domains[0]",
        ),
        (
            json!({"tenant_id": tenant, "site": "eu", "policy_targets": {"groups": ["x"]}}),
            "policy_targets.groups[0]",
        ),
        (json!({"task_id": "nope"}), "task_id"),
        (json!({"Records": "m1"}), "Records"),
    ];
    for (event, field) in cases {
        assert_refused(
            lab.provision(event.clone()).await,
            "InvalidInput",
            &format!("`{field}"),
            &event,
        );
    }
    let unknown_task = lab
        .provision(json!({"task_id": uuid::Uuid::new_v4().to_string()}))
        .await
        .expect_err("unknown task");
    assert_eq!(unknown_task.error_type, "NotFound");
    assert!(
        lab.aws
            .store
            .tenant(tenant.parse().expect("id"))
            .await
            .expect("read")
            .is_none(),
        "nothing written"
    );
    assert_eq!(
        lab.counts(tenant.parse().expect("id")).microsoft_requests(),
        0,
        "nothing called"
    );
}

#[tokio::test]
async fn a_dry_run_returns_the_plan_and_changes_nothing() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let mut event = request(tenant);
    event["options"]["dry_run"] = json!(true);
    let plan = lab.provision(event).await.expect("dry run");
    assert_eq!(plan["dry_run"], true);
    let steps: Vec<&str> = plan["plan"]
        .as_array()
        .expect("plan")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps.first(), Some(&"preflight"));
    assert_eq!(
        steps.iter().position(|s| *s == "enable_rules"),
        Some(steps.len() - 3),
        "rules enabled last for Exchange"
    );
    assert!(lab.aws.store.tenant(tenant).await.expect("read").is_none());
    assert_eq!(lab.counts(tenant).microsoft_requests(), 0, "nothing called");
}

#[tokio::test]
async fn status_shows_the_task_and_the_tenant() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let view = lab.provision(request(tenant)).await.expect("provision");
    let call = |event: Value| invoke(status::handler, &lab.aws.store, event);
    let task = call(json!({"task_id": view["task_id"]}))
        .await
        .expect("task view");
    assert_eq!(task, view);
    let tenant_view = call(json!({"tenant_id": tenant.to_string()}))
        .await
        .expect("tenant view");
    assert_eq!(tenant_view["state"], "active");
    assert_eq!(tenant_view["last_task"]["task_id"], view["task_id"]);
    assert_eq!(
        tenant_view["managed_resources"].as_array().map(Vec::len),
        Some(1 + 1 + 2 + 4 + 6 + 1 + 2),
        "{tenant_view:#}"
    );
    for (event, error_type) in [
        (json!({}), "InvalidInput"),
        (
            json!({"task_id": view["task_id"], "tenant_id": tenant.to_string()}),
            "InvalidInput",
        ),
        (json!({"tenant_id": "x"}), "InvalidInput"),
        (json!({"tenant_id": uuid::Uuid::new_v4().to_string()}), "NotFound"),
    ] {
        assert_eq!(
            call(event.clone())
                .await
                .expect_err(&event.to_string())
                .error_type,
            error_type,
            "{event}"
        );
    }
}

/// A customer tenant provisions, with app-only tokens minted for it.
async fn provisions_with_app_only_tokens(lab: &Lab) {
    let tenant = customer_tenant(lab);
    let view = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let tokens = lab.sim.issued_tokens();
    assert!(
        tokens.to_string().contains("client_credentials"),
        "tokens were minted: {tokens}"
    );
}

#[tokio::test]
async fn the_app_can_authenticate_with_a_certificate() {
    let fixture = |name: &str| {
        let path = format!("{}/../m365-sim/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).expect(&path)
    };
    let certificate = fixture("app-cert.pem");
    let config = m365_sim::SimConfig {
        certificate_pem: Some(certificate.clone()),
        ..Default::default()
    };
    let lab = Lab::with_app(config, "certificate", |sim| {
        json!({"client_id": sim.client_id(), "private_key_pem": fixture("app-key.pem"), "certificate_pem": certificate})
    })
    .await;
    provisions_with_app_only_tokens(&lab).await;
}

/// The default deployment: the stack's KMS key signs every client assertion (the simulator checks
/// each against the certificate made for that key), so no private key is ever in the function.
/// With a key that cannot sign, minting fails naming the key and what to check, and the task
/// says so.
#[tokio::test]
async fn by_default_the_apps_kms_key_signs_its_client_assertions() {
    let lab = Lab::with_kms_certificate(m365_sim::SimConfig::default()).await;
    provisions_with_app_only_tokens(&lab).await;

    // A deployment whose APP_SIGNING_KEY_ID names a key that cannot sign (an encryption key).
    let wrong = aws_sdk_kms::Client::new(&lab.aws.sdk)
        .create_key()
        .send()
        .await
        .expect("a symmetric key")
        .key_metadata
        .expect("metadata")
        .key_id;
    let mut env = lab.function_env();
    env.insert("APP_SIGNING_KEY_ID".to_owned(), wrong.clone());
    let misconfigured = lifecycle::Lifecycle::from_source(&lab.aws.sdk, &env).expect("configured");
    let other = lab.customer_tenant("fabrikam.example", "198.51.100.80");
    let mut event = request(other);
    event["policy_targets"] = json!({"users": []});
    let view = lab
        .provision_in(&misconfigured, event)
        .await
        .expect("provision answers");
    let key_id = wrong;
    let text = view.to_string();
    assert_eq!(view["status"], "failed", "{view:#}");
    assert!(
        text.contains("KMS Sign") && text.contains(&key_id) && text.contains("APP_SIGNING_KEY_ID"),
        "the error names the key and what to check: {view:#}"
    );
}

/// A wait longer than SQS's 15-minute delay (Retry-After: 2 hours) is a chain of continuations:
/// each one queued as the one before arrives, none for a duplicate delivery, and the task goes on
/// when the wait is over.
#[tokio::test]
async fn a_two_hour_wait_is_a_chain_of_continuations() {
    use state::store::{Key, TaskRecord};
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    lab.fault(json!({"tenant": tenant.to_string(), "surface": "graph", "status": 429, "retry_after": 7200, "match": "POST /groups", "count": 1}));
    let first = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(first["status"], "waiting", "{first:#}");
    let task_id = first["task_id"].as_str().expect("id").to_owned();
    let key = Key::task(&task_id);
    let read = || async {
        let task: TaskRecord = lab.aws.store.get(&key).await.expect("read").expect("task");
        task
    };
    let now = chrono::Utc::now();
    let queued = read().await.wake_at.expect("a continuation is queued");
    assert!(
        queued <= now + chrono::Duration::minutes(15),
        "within SQS's delay: {queued}"
    );
    assert_eq!(delayed_messages(&lab).await, 1);
    let delivery =
        json!({"Records": [{"messageId": "m-1", "body": json!({"task_id": task_id}).to_string()}]});
    // A duplicate delivery while the continuation is on its way queues nothing.
    lab.provision(delivery.clone()).await.expect("duplicate");
    assert_eq!(delayed_messages(&lab).await, 1, "no second continuation");
    // The continuation arrives after its 15 minutes; the step still waits: the next one is queued.
    let mut arrived = read().await;
    arrived.wake_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    lab.aws.store.update(&mut arrived).await.expect("arrived");
    let answer = lab.provision(delivery).await.expect("continuation");
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(delayed_messages(&lab).await, 2, "the next link of the chain");
    let next = read().await.wake_at.expect("queued again");
    assert!(next > chrono::Utc::now(), "{next}");
    let done = lab
        .provision(json!({"task_id": task_id}))
        .await
        .expect("continue");
    assert_eq!(done["status"], "succeeded", "{done:#}");
}

/// A tenant's cloud needs its own app registration in the deployment, and never changes: the
/// commercial credential is never sent to a national cloud's login host.
#[tokio::test]
async fn a_cloud_without_its_own_credentials_is_refused_and_a_tenants_cloud_never_changes() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let mut event = request(tenant);
    event["cloud"] = json!("gcc_high");
    assert_refused(
        lab.provision(event.clone()).await,
        "InvalidInput",
        "`cloud`",
        &event,
    );
    let err = lab.provision(event.clone()).await.expect_err("refused");
    assert!(
        err.error_message.contains("APP_SECRET_ID_GCC_HIGH"),
        "{}",
        err.error_message
    );
    assert!(lab.untouched(tenant), "no token request went anywhere");
    assert!(
        lab.aws.store.tenant(tenant).await.expect("read").is_none(),
        "nothing written"
    );

    // Provisioned in the commercial cloud, the tenant stays there, even where GCC High has an
    // app registration of its own.
    let view = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let mut env = lab.function_env();
    env.insert("APP_SECRET_ID_GCC_HIGH".to_owned(), "gcc-high-app".to_owned());
    let with_gcc = lifecycle::Lifecycle::from_source(&lab.aws.sdk, &env).expect("configured");
    let before = lab.record(tenant).await;
    let answer = lab.provision_in(&with_gcc, event.clone()).await;
    assert_refused(answer, "InvalidInput", "cannot change", &event);
    let after = lab.record(tenant).await;
    assert_eq!((after.cloud, after.version), (before.cloud, before.version));
}
