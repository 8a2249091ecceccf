//! The default deployment holds no permission that can escalate: the tenant's admin assigns the
//! Exchange Administrator role (the task waits and says how) and removes the app's service
//! principal (the last item of manual cleanup). The lab itself deploys with both opt-ins.

use integration_tests::lab::Lab;
use lifecycle::Lifecycle;
use m365_sim::model::catalog::DEFAULT_APP_ROLES;
use model::tenant::LifecycleState;
use serde_json::json;

use super::{
    deprovision::{deprovision_event, our_service_principals},
    provision::request,
};

/// The task services of a deployment without the opt-ins.
fn default_deployment(lab: &Lab) -> Lifecycle {
    let mut env = lab.function_env();
    env.remove("APP_ASSIGNS_EXCHANGE_ROLE");
    env.remove("APP_REMOVES_ITSELF");
    Lifecycle::from_source(&lab.aws.sdk, &env).expect("configured")
}

#[test]
fn consent_by_default_grants_exactly_the_manifests_default_set() {
    let mut granted: Vec<&str> = DEFAULT_APP_ROLES.to_vec();
    let mut manifest: Vec<&str> = model::permissions::default_names("graph");
    manifest.extend(model::permissions::default_names("exchange"));
    granted.sort_unstable();
    manifest.sort_unstable();
    assert_eq!(
        granted, manifest,
        "m365-sim's default consent is the manifest's default set"
    );
}

#[tokio::test]
async fn the_default_deployment_leaves_the_role_and_its_own_removal_to_the_admin() {
    let lab = Lab::start().await;
    let default = default_deployment(&lab);
    let tenant = lab.tenant(json!({
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "alice@contoso.com"}, {"user_principal_name": "bob@contoso.com"}],
        "exchange_admin_role": false,
        "app_roles": DEFAULT_APP_ROLES
    }));
    // Counts every role assignment the app would make (a 1 ms delay changes nothing else).
    let assignments = lab.fault(json!({
        "tenant": tenant.to_string(), "surface": "graph", "latency_ms": 1,
        "match": "POST /roleManagement/directory/roleAssignments"
    }));
    let view = lab
        .provision_in(&default, request(tenant))
        .await
        .expect("provision");
    assert_eq!(view["status"], "waiting", "{view:#}");
    let step = &view["services"]["exchange_online"]["steps"][0];
    assert_eq!(step["name"], "assign_exchange_role");
    let said = step["outcome"].as_str().unwrap_or_default();
    assert!(
        said.contains("the tenant's admin assigns the Exchange Administrator role"),
        "{said}"
    );

    let admin = serde_json::from_value(json!({"exchange_admin_role": true})).expect("settings");
    lab.sim
        .tenant_settings(&tenant.to_string(), &admin)
        .expect("assigned");
    let done = lab
        .provision_in(&default, json!({"task_id": view["task_id"]}))
        .await
        .expect("continue");
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(lab.hits_of(assignments), 0, "the app assigned no role");

    let gone = lab
        .deprovision_in(&default, deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    assert_eq!(gone["status"], "succeeded", "{gone:#}");
    assert_eq!(
        our_service_principals(&lab, tenant),
        1,
        "the app did not delete itself"
    );
    let cleanup: Vec<String> = serde_json::from_value(gone["manual_cleanup"].clone()).expect("list");
    let last = cleanup.last().expect("an item for the admin");
    assert!(
        last.contains("Enterprise applications") && last.contains("ends the vendor's access"),
        "{cleanup:?}"
    );
    let record = lab.record(tenant).await;
    assert_eq!(record.state, LifecycleState::Deprovisioned);
    assert!(record.attention.is_some_and(|a| a.contains("manual cleanup")));
}

#[test]
fn the_readme_lists_every_permission_of_the_manifest() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README");
    for permission in model::permissions::all() {
        assert!(
            readme.contains(&format!("`{}`", permission.name)),
            "README's permission tables miss {}",
            permission.name
        );
        if let Some(opt_in) = &permission.opt_in {
            assert!(
                readme.contains(opt_in.as_str()),
                "README misses the opt-in {opt_in}"
            );
        }
    }
}

#[test]
fn the_manifests_ids_are_the_ones_m365_sim_grants() {
    for permission in model::permissions::all() {
        let known = m365_sim::model::catalog::APP_ROLES
            .iter()
            .find(|(name, _, _)| *name == permission.name);
        assert_eq!(
            known.map(|(_, id, _)| *id),
            Some(permission.id.as_str()),
            "{}",
            permission.name
        );
    }
}

#[tokio::test]
async fn preflight_checks_the_grant_against_the_manifest() {
    let lab = Lab::start().await;
    let without: Vec<&str> = DEFAULT_APP_ROLES
        .iter()
        .copied()
        .filter(|r| *r != "Domain.Read.All")
        .collect();
    let tenant = lab.tenant(json!({"domains": ["contoso.com"], "users": 2, "app_roles": without}));
    let view = lab
        .provision(json!({"tenant_id": tenant.to_string(), "site": "eu"}))
        .await
        .expect("provision answers");
    let preflight = &view["services"]["tenant"]["steps"][0];
    assert_eq!(preflight["error_kind"], "needs_reconsent", "{view:#}");
    assert!(
        preflight["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("lacks Domain.Read.All")),
        "{preflight}"
    );
    assert_eq!(lab.record(tenant).await.state, LifecycleState::NeedsReconsent);

    // The default set alone: preflight passes and names the optional permissions it lacks.
    let other = lab.tenant(json!({"domains": ["fabrikam.com"], "users": 2, "app_roles": DEFAULT_APP_ROLES}));
    let view = lab
        .provision(json!({"tenant_id": other.to_string(), "site": "eu"}))
        .await
        .expect("provision answers");
    let outcome = view["services"]["tenant"]["steps"][0]["outcome"].to_string();
    assert!(
        outcome.contains("without the optional RoleManagement.ReadWrite.Directory"),
        "{outcome}"
    );
}
