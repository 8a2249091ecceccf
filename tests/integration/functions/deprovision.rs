//! Deprovisioning and cleanup end to end: the `deprovision` handler against moto and m365-sim.

use chrono::Utc;
use integration_tests::lab::{Lab, assert_refused, vendor};
use model::{
    sites::Site,
    task::{TaskKind, TaskStatus},
    tenant::{LifecycleState, TenantId},
};
use serde_json::{Value, json};
use state::store::{
    Record as _,
    scanning::{QuarantineSummary, ReportSchedule},
};

use crate::functions::provision::{CUSTOMER_IP, footprint, request};

/// A customer rule whose name resembles ours: it must survive.
const CUSTOMER_RULE: &str = "TMCAS Inline Incoming Domain Transport Rule (customer copy)";

/// A provisioned-to-be tenant with the customer's own allow-list IP and a look-alike rule.
fn customer_tenant(lab: &Lab) -> TenantId {
    lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "ip_allow_list": [CUSTOMER_IP],
        "exchange_admin_role": false,
        "exchange": {"transport_rules": [{"Name": CUSTOMER_RULE, "SetSCL": -1, "SenderIpRanges": ["192.0.2.99"]}]}
    }))
}

/// The tenant's state as compared before provisioning and after full cleanup. The app's service
/// principal is left out: it comes from the admin's consent, before provisioning, and full
/// cleanup removes it (checked separately).
pub fn comparable(lab: &Lab, tenant: TenantId) -> Value {
    footprint(&lab.dump(tenant))
}

/// How many service principals of our app the tenant holds.
pub fn our_service_principals(lab: &Lab, tenant: TenantId) -> usize {
    let dump = lab.dump(tenant);
    let ours = |sp: &&Value| sp["appId"].as_str() == Some(lab.sim.client_id());
    dump["service_principals"]
        .as_array()
        .map_or(0, |all| all.iter().filter(ours).count())
}

pub async fn provisioned(lab: &Lab) -> (TenantId, Value) {
    let tenant = customer_tenant(lab);
    let before = comparable(lab, tenant);
    assert_eq!(
        our_service_principals(lab, tenant),
        1,
        "consented before provisioning"
    );
    let view = lab.provision(request(tenant)).await.expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    (tenant, before)
}

/// The tenant is as it was before provisioning, and no record of ours is left.
pub async fn assert_as_before(lab: &Lab, tenant: TenantId, before: &Value, what: &str) {
    assert_eq!(&comparable(lab, tenant), before, "{what}: the original state");
    let left = lab.aws.store.resources(tenant).await.expect("resources");
    assert!(left.is_empty(), "{what}: records left behind: {left:?}");
}

pub fn deprovision_event(tenant: TenantId, mode: &str) -> Value {
    json!({"tenant_id": tenant.to_string(), "mode": mode, "acknowledge_quarantine": false})
}

#[tokio::test]
async fn a_full_deprovision_returns_the_tenant_to_its_original_state() {
    let lab = Lab::start().await;
    let (tenant, before) = provisioned(&lab).await;
    assert_ne!(comparable(&lab, tenant), before);
    let view = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let after = comparable(&lab, tenant);
    assert_eq!(after, before, "everything we added is gone, nothing else");
    let rules = after["rules"].to_string();
    assert!(
        rules.contains(CUSTOMER_RULE),
        "the customer's look-alike rule stays: {rules}"
    );
    assert!(
        after["ips"].to_string().contains(CUSTOMER_IP),
        "the customer's IP stays"
    );
    assert_eq!(
        our_service_principals(&lab, tenant),
        0,
        "the app's service principal is removed last"
    );
    assert!(
        lab.aws
            .store
            .resources(tenant)
            .await
            .expect("resources")
            .is_empty(),
        "no record left"
    );
    assert!(
        lab.aws.vault.read_tokens(tenant).await.expect("read").is_none(),
        "token secret scheduled for deletion"
    );
    let record = lab.record(tenant).await;
    assert_eq!(record.state, LifecycleState::Deprovisioned);
    // The tenant's history keeps both tasks, newest first, with how they ended, and no expiry.
    let history = lab
        .aws
        .store
        .task_history(tenant, 10, None)
        .await
        .expect("history");
    let ended: Vec<(TaskKind, TaskStatus)> = history.iter().map(|t| (t.kind, t.status)).collect();
    assert_eq!(
        ended,
        [
            (TaskKind::Deprovision, TaskStatus::Succeeded),
            (TaskKind::Provision, TaskStatus::Succeeded)
        ]
    );
    assert_eq!(
        history[0].task_id.to_string(),
        view["task_id"].as_str().expect("id")
    );
    assert!(history.iter().all(|t| t.finished_at.is_some()));
    assert_eq!(history[0].expires_at(), None);
    let older = lab
        .aws
        .store
        .task_history(tenant, 1, Some(&history[0]))
        .await
        .expect("the next page");
    assert_eq!(older, history[1..]);
    let steps: Vec<&str> = view["services"]["tenant"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    let position = |name: &str| steps.iter().position(|s| *s == name).expect(name);
    assert!(
        position("remove_routing_rules") < position("remove_outbound_connectors"),
        "rules before their connectors"
    );
    // After the service principal only our own records and the token secret go.
    assert_eq!(
        steps[position("remove_service_principal") + 1..],
        ["forget_sync_records", "delete_token_secret"],
        "the service principal is the last Microsoft call"
    );
}

/// Nothing of the customer's directory stays with us after a full deprovisioning: the sync's
/// snapshot (every user's and group's name), its sync state and the drift records are forgotten,
/// besides the token secret's scheduled deletion.
#[tokio::test]
async fn a_full_deprovision_forgets_the_directory_snapshot_and_sync_records() {
    use lifecycle::sync::state::{DriftRecord, snapshot_partition};
    let lab = Lab::start().await;
    let (tenant, syncer, _) = crate::functions::sync::synced(&lab).await;
    let drift = DriftRecord {
        tenant_id: tenant,
        repaired_at: Utc::now(),
        findings: vec!["transport rule deleted".to_owned()],
    };
    lab.aws.store.put(&drift).await.expect("a drift record");
    let snapshot = || async { syncer.snapshot.entries(tenant).await.expect("snapshot").len() };
    assert!(snapshot().await > 0, "the first sync wrote the snapshot");
    let view = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(snapshot().await, 0, "the snapshot is forgotten");
    let store = &lab.aws.store;
    assert!(
        lab.aws.sync_state(tenant).await.is_none(),
        "the sync state is forgotten"
    );
    let partition = state::store::key::tenant_partition(tenant);
    let left = store.query_prefix(&partition, "DRIFT#").await.expect("drift");
    assert!(left.is_empty(), "drift records are forgotten: {left:?}");
    assert!(
        store
            .query_prefix(&snapshot_partition(tenant), "")
            .await
            .expect("dir")
            .is_empty()
    );
}

#[tokio::test]
async fn standard_mode_leaves_exactly_the_manual_cleanup_objects_and_lists_them() {
    let lab = Lab::start().await;
    let (tenant, before) = provisioned(&lab).await;
    let view = lab
        .deprovision(deprovision_event(tenant, "standard"))
        .await
        .expect("deprovision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let names = vendor().names();
    let dump = lab.dump(tenant);
    let print = footprint(&dump);
    assert_eq!(print["groups"], json!([]), "virtual groups removed");
    assert_eq!(print["outbound"], json!([]), "outbound connectors removed");
    let mut rules: Vec<String> = print["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    rules.sort();
    let mut expected = vec![
        names.rule_junk.clone(),
        names.rule_skip_spam.clone(),
        CUSTOMER_RULE.to_owned(),
    ];
    expected.sort();
    assert_eq!(
        rules, expected,
        "only the skip-spam and junk rules of ours remain"
    );
    assert_eq!(print["inbound"].as_array().map(Vec::len), Some(2));
    assert_eq!(print["spoof"].as_array().map(Vec::len), Some(1));

    let cleanup: Vec<String> = view["manual_cleanup"]
        .as_array()
        .expect("manual cleanup list")
        .iter()
        .filter_map(|i| i.as_str().map(str::to_owned))
        .collect();
    assert_eq!(cleanup.len(), 2 + 2 + 1 + 2 + 1 + 1, "{cleanup:#?}");
    let spoof_id = dump["exchange"]["spoof_items"][0]["Identity"]
        .as_str()
        .expect("spoof id");
    for needle in [
        names.rule_skip_spam.as_str(),
        names.rule_junk.as_str(),
        names.inbound_incoming.as_str(),
        names.inbound_outgoing.as_str(),
        spoof_id,
        "203.0.113.10",
        "198.51.100.0/24",
        "exchange_administrator",
        "service principal",
    ] {
        assert!(
            cleanup.iter().any(|item| item.contains(needle)),
            "{needle} missing from {cleanup:#?}"
        );
    }
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Deprovisioned);
    // No token, and no delegated refresh token, is kept for a tenant we no longer serve.
    assert!(
        lab.aws.vault.read_tokens(tenant).await.expect("read").is_none(),
        "the token secret is scheduled for deletion"
    );

    // A tenant deprovisioned in standard mode can be cleaned up fully afterwards (its secret is
    // restored for the run, then scheduled for deletion again).
    let full = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("full after standard");
    assert_eq!(full["status"], "succeeded", "{full:#}");
    assert_eq!(comparable(&lab, tenant), before);
    // And asking again changes nothing.
    lab.sim.reset_stats();
    let again = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("again");
    assert_eq!(again["task_id"], full["task_id"]);
    assert!(lab.untouched(tenant), "no Microsoft call");
}

#[tokio::test]
async fn quarantine_is_checked_first_reports_stop_and_the_tenant_leaves_the_sync() {
    let lab = Lab::start().await;
    let (tenant, _) = provisioned(&lab).await;
    let store = &lab.aws.store;
    store
        .put(&QuarantineSummary {
            tenant_id: tenant,
            quarantined_items: 7,
            updated_at: Utc::now(),
        })
        .await
        .expect("quarantine");
    for name in ["weekly-threats", "monthly-summary"] {
        store
            .put(&ReportSchedule {
                tenant_id: tenant,
                name: name.to_owned(),
                enabled: true,
                updated_at: Utc::now(),
            })
            .await
            .expect("report");
    }
    lab.sim.reset_stats();
    let refused = lab
        .deprovision(deprovision_event(tenant, "standard"))
        .await
        .expect_err("quarantine not acknowledged");
    assert_eq!(refused.error_type, "QuarantineNotAcknowledged");
    assert!(
        refused.error_message.contains("7 quarantined")
            && refused.error_message.contains("acknowledge_quarantine"),
        "{}",
        refused.error_message
    );
    let record = store.tenant(tenant).await.expect("read").expect("tenant");
    assert_eq!(record.state, LifecycleState::Active, "nothing changed");
    assert!(lab.untouched(tenant), "no Microsoft call");

    let mut event = deprovision_event(tenant, "standard");
    event["acknowledge_quarantine"] = json!(true);
    let view = lab.deprovision(event).await.expect("acknowledged");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert!(
        store
            .report_schedules(tenant)
            .await
            .expect("reports")
            .iter()
            .all(|r| !r.enabled),
        "reports stopped"
    );
    assert!(
        store
            .active_tenants(Site::Us)
            .await
            .expect("index")
            .iter()
            .all(|t| t.tenant_id != tenant),
        "the daily sync skips it"
    );
}

/// Every removal, as the simulator's fault matcher names it.
pub const REMOVALS: [&str; 8] = [
    "Remove-TransportRule",
    "Remove-OutboundConnector",
    "DELETE /groups",
    "Remove-InboundConnector",
    "Remove-TenantAllowBlockListSpoofItems",
    "Set-HostedConnectionFilterPolicy",
    "DELETE /roleManagement",
    "DELETE /servicePrincipals",
];

#[tokio::test]
async fn a_lost_answer_after_any_removal_ends_in_the_same_state() {
    for removal in REMOVALS {
        let lab = Lab::start().await;
        let (tenant, before) = provisioned(&lab).await;
        lab.fault(json!({"tenant": tenant.to_string(), "match": removal, "status": 503, "phase": "after"}));
        let first = lab
            .deprovision(deprovision_event(tenant, "full"))
            .await
            .expect("deprovision under faults");
        assert!(lab.fault_hits() > 0, "{removal}: the fault matched");
        lab.sim.clear_faults();
        let done = lab
            .deprovision(json!({"task_id": first["task_id"]}))
            .await
            .expect("continue");
        assert_eq!(done["status"], "succeeded", "{removal}: {done:#}");
        assert_as_before(&lab, tenant, &before, removal).await;
    }
}

#[tokio::test]
async fn adopt_existing_cleans_up_a_tenant_provisioned_by_the_seed_system() {
    let lab = Lab::start().await;
    let names = vendor().names();
    let seed_group = |name: &str, nickname: &str| json!({"display_name": name, "mail_nickname": nickname, "unified": true, "members": ["alice@contoso.com"]});
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}],
        "ip_allow_list": [CUSTOMER_IP, "203.0.113.10", "198.51.100.0/24"],
        "groups": [seed_group(&names.incoming_group, "tmcasin"), seed_group(&names.outgoing_group, "tmcasout")],
        "exchange": {
            "outbound_connectors": [
                {"Name": names.outbound_incoming, "ConnectorType": "Partner", "SmartHosts": ["a.tmcas.example"], "UseMXRecord": false, "IsTransportRuleScoped": true},
                {"Name": names.outbound_outgoing, "ConnectorType": "Partner", "SmartHosts": ["b.tmcas.example"], "UseMXRecord": false, "IsTransportRuleScoped": true}
            ],
            "inbound_connectors": [
                {"Name": names.inbound_incoming, "ConnectorType": "Partner", "SenderDomains": ["*"]},
                {"Name": names.inbound_outgoing, "ConnectorType": "OnPremises", "SenderDomains": ["*"], "TlsSenderCertificateName": "*.tmcas.example"}
            ],
            "transport_rules": [
                {"Name": names.rule_incoming_domain, "RecipientDomainIs": ["contoso.com"], "RouteMessageOutboundConnector": names.outbound_incoming},
                {"Name": names.rule_outgoing_domain, "SenderDomainIs": ["contoso.com"], "RouteMessageOutboundConnector": names.outbound_outgoing},
                {"Name": names.rule_skip_spam, "SenderIpRanges": ["203.0.113.10"], "SetSCL": -1},
                {"Name": CUSTOMER_RULE, "SetSCL": -1, "SenderIpRanges": ["192.0.2.99"]}
            ],
            "spoof_items": [{"Action": "Allow", "SpoofedUser": "*", "SendingInfrastructure": "vendor.example", "SpoofType": "External"}]
        }
    }));
    let view = lab
        .deprovision(
            json!({"tenant_id": tenant.to_string(), "mode": "full", "adopt_existing": true, "site": "eu"}),
        )
        .await
        .expect("adopt and clean up");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let print = footprint(&lab.dump(tenant));
    assert_eq!(print["groups"], json!([]), "{print:#}");
    assert_eq!(print["inbound"], json!([]));
    assert_eq!(print["outbound"], json!([]));
    assert_eq!(
        print["rules"].as_array().map(Vec::len),
        Some(1),
        "only the customer's rule: {print:#}"
    );
    assert_eq!(print["spoof"], json!([]));
    assert_eq!(print["ips"], json!([CUSTOMER_IP]));
    let report = view["services"]["tenant"]["steps"].to_string();
    for name in [
        names.rule_incoming_domain.as_str(),
        names.outbound_incoming.as_str(),
        names.inbound_outgoing.as_str(),
        "203.0.113.10",
    ] {
        assert!(
            report.contains(name),
            "{name} reported as found and removed: {report}"
        );
    }
}

#[tokio::test]
async fn bad_requests_get_a_typed_error_naming_the_field_and_change_nothing() {
    let lab = Lab::start().await;
    let (tenant, _) = provisioned(&lab).await;
    let never = lab.tenant(json!({"domains": ["fabrikam.com"]}));
    lab.sim.reset_stats();
    let cases = [
        (
            json!({"tenant_id": tenant.to_string(), "mode": "everything"}),
            "InvalidInput",
            "`mode`",
        ),
        (
            json!({"tenant_id": "contoso", "mode": "full"}),
            "InvalidInput",
            "`tenant_id`",
        ),
        (
            json!({"tenant_id": tenant.to_string(), "mode": "full", "force": true}),
            "InvalidInput",
            "`force`",
        ),
        (
            json!({"tenant_id": tenant.to_string(), "acknowledge_quarantine": "yes"}),
            "InvalidInput",
            "`acknowledge_quarantine`",
        ),
        (
            json!({"tenant_id": never.to_string(), "mode": "full"}),
            "NotFound",
            "`tenant_id`",
        ),
        (
            json!({"tenant_id": never.to_string(), "mode": "full", "adopt_existing": true}),
            "InvalidInput",
            "`site`",
        ),
        (json!({"task_id": "nope"}), "InvalidInput", "`task_id`"),
    ];
    for (event, error_type, field) in cases {
        assert_refused(lab.deprovision(event.clone()).await, error_type, field, &event);
    }
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Active);
    assert!(lab.aws.store.tenant(never).await.expect("read").is_none());
    assert!(lab.untouched(tenant), "no Microsoft call");
}

#[tokio::test]
async fn provision_and_deprovision_at_once_are_serialized() {
    let lab = Lab::start().await;
    let tenant = customer_tenant(&lab);
    let (provisioned, deprovisioned) = tokio::join!(
        lab.provision(request(tenant)),
        lab.deprovision(deprovision_event(tenant, "full"))
    );
    let provisioned = provisioned.expect("provisioning goes on");
    assert_eq!(provisioned["status"], "succeeded", "{provisioned:#}");
    let err =
        deprovisioned.expect_err("deprovisioning is refused while the tenant is provisioning or unknown");
    assert!(
        matches!(err.error_type.as_str(), "WrongLifecycleState" | "NotFound"),
        "{err:?}"
    );
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Active);
}
