//! Policy-target updates end to end: the `policy-targets` handler against moto and m365-sim.

use std::time::{Duration, SystemTime};

use integration_tests::lab::{Lab, assert_refused, lambda_context_until, vendor};
use model::tenant::{LifecycleState, TenantId};
use serde_json::{Value, json};

fn upn(n: usize) -> String {
    format!("user{n:02}@contoso.com")
}

/// A provisioned tenant with 40 users, protecting the first five.
async fn provisioned(lab: &Lab) -> TenantId {
    let users: Vec<Value> = (1..=40).map(|n| json!({"user_principal_name": upn(n)})).collect();
    let tenant = lab.tenant(json!({"domains": ["contoso.com", "fabrikam.com"], "users": users}));
    let first: Vec<String> = (1..=5).map(upn).collect();
    let view = lab
        .provision(json!({"tenant_id": tenant.to_string(), "site": "eu", "policy_targets": {"users": first}}))
        .await
        .expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    tenant
}

/// The members of both virtual groups, sorted.
fn members(lab: &Lab, tenant: TenantId) -> [Vec<String>; 2] {
    let names = vendor().names();
    let dump = lab.dump(tenant);
    [names.incoming_group, names.outgoing_group].map(|name| {
        let group = dump["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["displayName"] == name.as_str())
            .expect("group");
        let mut upns: Vec<String> = group["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["userPrincipalName"].as_str().map(str::to_owned))
            .collect();
        upns.sort();
        upns
    })
}

fn targets(tenant: TenantId, users: &[String]) -> Value {
    json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": users}})
}

#[tokio::test]
async fn members_follow_the_targets_beyond_twenty_at_once_both_ways() {
    let lab = Lab::start().await;
    let tenant = provisioned(&lab).await;
    let grown: Vec<String> = (1..=28).map(upn).collect();
    let view = lab.policy_targets(targets(tenant, &grown)).await.expect("grow");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(view["kind"], "policy_targets");
    assert_eq!(
        members(&lab, tenant),
        [grown.clone(), grown.clone()],
        "23 added to each group"
    );

    let shifted: Vec<String> = (19..=40).map(upn).collect();
    let view = lab
        .policy_targets(targets(tenant, &shifted))
        .await
        .expect("shift");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(
        members(&lab, tenant),
        [shifted.clone(), shifted.clone()],
        "18 removed and 12 added in each"
    );
    let record = lab.record(tenant).await;
    assert_eq!(
        record.policy_targets.users, shifted,
        "the tenant keeps its targets"
    );

    // The same targets again: nothing to write.
    lab.sim.reset_stats();
    let again = lab
        .policy_targets(targets(tenant, &shifted))
        .await
        .expect("again");
    assert_eq!(again["status"], "succeeded");
    assert_eq!(lab.counts(tenant).microsoft_writes(), 0);
}

#[tokio::test]
async fn explicit_domains_set_the_domain_rules() {
    let lab = Lab::start().await;
    let tenant = provisioned(&lab).await;
    let event = json!({"tenant_id": tenant.to_string(), "policy_targets": {"domains": ["fabrikam.com"], "users": [upn(1)]}});
    let view = lab.policy_targets(event).await.expect("domains");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let names = vendor().names();
    let dump = lab.dump(tenant);
    let rule = |name: &str| {
        dump["exchange"]["transport_rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["Name"] == name)
            .cloned()
            .expect(name)
    };
    assert_eq!(
        rule(&names.rule_incoming_domain)["RecipientDomainIs"],
        json!(["fabrikam.com"])
    );
    assert_eq!(
        rule(&names.rule_outgoing_domain)["SenderDomainIs"],
        json!(["fabrikam.com"])
    );
}

#[tokio::test]
async fn an_unknown_user_is_named_and_bad_requests_change_nothing() {
    let lab = Lab::start().await;
    let tenant = provisioned(&lab).await;
    let before = members(&lab, tenant);
    let record = lab.record(tenant).await;
    // Targets the tenant does not have are refused before anything is replaced.
    let unknown = [
        (
            targets(tenant, &[upn(1), "nobody@contoso.com".to_owned()]),
            "`policy_targets.users[1]`",
            "nobody@contoso.com",
        ),
        (
            json!({"tenant_id": tenant.to_string(), "policy_targets": {"groups": ["0b9c1b7e-0000-4000-8000-00000000beef"]}}),
            "`policy_targets.groups[0]`",
            "0b9c1b7e-0000-4000-8000-00000000beef",
        ),
        (
            json!({"tenant_id": tenant.to_string(), "policy_targets": {"domains": ["contoso.com", "elsewhere.example"]}}),
            "`policy_targets.domains[1]`",
            "elsewhere.example",
        ),
    ];
    for (event, field, named) in unknown {
        let answer = lab.policy_targets(event.clone()).await;
        assert_refused(answer, "InvalidInput", field, &event);
        let err = lab.policy_targets(event.clone()).await.expect_err("refused");
        assert!(err.error_message.contains(named), "{}", err.error_message);
    }
    assert_eq!(members(&lab, tenant), before, "nothing changed");
    let after = lab.record(tenant).await;
    assert_eq!(
        after.policy_targets, record.policy_targets,
        "the targets were not replaced"
    );
    assert_eq!(after.version, record.version, "the tenant was not written");

    let never = lab.tenant(json!({"domains": ["example.org"]}));
    for (event, error_type, field) in [
        (
            json!({"tenant_id": "x", "policy_targets": {}}),
            "InvalidInput",
            "`tenant_id`",
        ),
        (
            json!({"tenant_id": tenant.to_string()}),
            "InvalidInput",
            "policy_targets",
        ),
        (
            json!({"tenant_id": tenant.to_string(), "policy_targets": {"users": ["not-an-upn"]}}),
            "InvalidInput",
            "`policy_targets.users[0]`",
        ),
        (
            json!({"tenant_id": tenant.to_string(), "policy_targets": {}, "extra": 1}),
            "InvalidInput",
            "`extra`",
        ),
        (
            json!({"tenant_id": never.to_string(), "policy_targets": {}}),
            "NotFound",
            "`tenant_id`",
        ),
    ] {
        assert_refused(lab.policy_targets(event.clone()).await, error_type, field, &event);
    }
    let deprovisioned = lab
        .deprovision(json!({"tenant_id": tenant.to_string(), "mode": "standard"}))
        .await
        .expect("deprovision");
    assert_eq!(deprovisioned["status"], "succeeded");
    let err = lab
        .policy_targets(targets(tenant, &[upn(1)]))
        .await
        .expect_err("not active");
    assert_eq!(err.error_type, "WrongLifecycleState");
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Deprovisioned);
}

#[tokio::test]
async fn a_warm_process_holding_a_token_from_before_the_role_assignment_mints_a_new_one() {
    use microsoft::identity::Resource;
    use model::{service::Service, sites::Site};
    use state::store::TenantRecord;
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"], "users": [{"user_principal_name": upn(1)}, {"user_principal_name": upn(2)}],
        "exchange_admin_role": false
    }));
    // This process mints an Exchange token while the app has no Exchange role yet...
    let record = TenantRecord::new(
        tenant,
        Site::Eu,
        vec![Service::ExchangeOnline],
        LifecycleState::Provisioning,
    );
    lab.lifecycle
        .engine
        .ms
        .tokens
        .access(&record, Resource::Exchange)
        .await
        .expect("a token without the role");
    // ...another process provisions (and assigns the role)...
    let other = lab.fresh_lifecycle();
    let event = json!({"tenant_id": tenant.to_string(), "site": "eu", "policy_targets": {"users": [upn(1)]}});
    let view = json!(other.provision(event, None).await.expect("provision"));
    assert_eq!(view["status"], "succeeded", "{view:#}");
    // ...and this process, still holding its old token, updates the targets.
    let view = lab
        .policy_targets(targets(tenant, &[upn(2)]))
        .await
        .expect("targets");
    assert_eq!(view["status"], "succeeded", "{view:#}");
}

#[tokio::test]
async fn a_5000_member_target_group_is_set_across_invocations_each_within_its_deadline() {
    let lab = Lab::start().await;
    let mut staff: Vec<String> = (1..=5000).map(|n| format!("staff{n:04}@contoso.com")).collect();
    staff.sort();
    let users: Vec<Value> = staff.iter().map(|u| json!({"user_principal_name": u})).collect();
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"], "users": users,
        "groups": [{"display_name": "All Staff", "members": staff, "unified": false}]
    }));
    let view = lab
        .provision(
            json!({"tenant_id": tenant.to_string(), "site": "eu", "policy_targets": {"users": [staff[0]]}}),
        )
        .await
        .expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let group = lab.dump(tenant)["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["displayName"] == "All Staff")
        .and_then(|g| g["id"].as_str().map(str::to_owned))
        .expect("the group's id");
    // Each membership change takes Graph a moment: 10,000 of them (two groups) take far longer
    // than the 10 s an invocation has here before the runner's 15 s reserve.
    let slow = lab.fault(
        json!({"tenant": tenant.to_string(), "surface": "graph", "match": "members/$ref", "latency_ms": 2}),
    );
    let deadline = || SystemTime::now() + Duration::from_secs(25);
    let until = deadline();
    let event = json!({"tenant_id": tenant.to_string(), "policy_targets": {"groups": [group]}});
    let answer = policy_targets::handler(
        &lab.lifecycle,
        lambda_runtime::LambdaEvent::new(event, lambda_context_until(until)),
    )
    .await
    .expect("accepted");
    assert!(
        SystemTime::now() < until,
        "the first invocation answered after its deadline"
    );
    let mut view = serde_json::to_value(answer).expect("json");
    let task_id = view["task_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a task id");
    let mut invocations = 1;
    while view["status"] != "succeeded" {
        assert_ne!(view["status"], "failed", "{view:#}");
        assert!(
            invocations < 60,
            "not done after {invocations} invocations: {view:#}"
        );
        invocations += 1;
        // A continuation in a new process.
        let until = deadline();
        view = json!(
            lab.fresh_lifecycle()
                .resume(task_id, Some(until), true, None)
                .await
                .expect("continuation")
        );
        assert!(
            SystemTime::now() < until,
            "invocation {invocations} answered after its deadline"
        );
    }
    assert!(
        invocations >= 2,
        "one invocation did it all: the test proves nothing"
    );
    assert!(
        lab.hits_of(slow) >= 9_998,
        "every change (all but the one member there already, twice) went the slowed path"
    );
    assert_eq!(members(&lab, tenant), [staff.clone(), staff]);
}
