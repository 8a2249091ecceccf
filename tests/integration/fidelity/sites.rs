//! A tenant's own smart hosts on its own site's relay, and a tenant with more domains than one
//! transport rule can hold (Exchange refuses a rule over 8 KB).

use std::collections::BTreeSet;

use integration_tests::lab::{Lab, vendor};
use model::sites::Site;
use serde_json::{Value, json};

use crate::functions::{
    deprovision::{comparable, deprovision_event},
    sync::message,
};

/// The rules of `tenant` whose names start with `base`, by name.
fn parts(lab: &Lab, tenant: model::tenant::TenantId, base: &str) -> Vec<Value> {
    let mut rules: Vec<Value> = lab.dump(tenant)["exchange"]["transport_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["Name"].as_str().is_some_and(|n| n.starts_with(base)))
        .cloned()
        .collect();
    rules.sort_by_key(|r| r["Name"].as_str().map(str::to_owned));
    rules
}

fn domains_of(rules: &[Value], field: &str) -> BTreeSet<String> {
    rules
        .iter()
        .flat_map(|r| r[field].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_tenant_with_500_domains_gets_its_domains_in_rules_exchange_accepts() {
    let lab = Lab::start().await;
    let domains: Vec<String> = (0..500)
        .map(|n| format!("brand-{n:03}.contoso-group.example"))
        .collect();
    let tenant = lab.tenant(json!({
        "domains": domains,
        "users": [{"user_principal_name": "alice@brand-000.contoso-group.example"}],
        "exchange_admin_role": false
    }));
    let before = comparable(&lab, tenant);
    let request = json!({
        "tenant_id": tenant.to_string(), "site": "us",
        "policy_targets": {"users": ["alice@brand-000.contoso-group.example"]}
    });
    let view = lab.provision(request).await.expect("provision");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let names = vendor().names();
    let incoming = parts(&lab, tenant, &names.rule_incoming_domain);
    let outgoing = parts(&lab, tenant, &names.rule_outgoing_domain);
    assert!(incoming.len() >= 3, "split into parts: {}", incoming.len());
    assert_eq!(incoming.len(), outgoing.len());
    let all: BTreeSet<String> = domains.iter().cloned().collect();
    let covered = domains_of(&incoming, "RecipientDomainIs");
    assert!(covered.is_superset(&all), "every domain is routed");
    assert_eq!(domains_of(&outgoing, "SenderDomainIs"), covered);
    for rule in incoming.iter().chain(&outgoing) {
        assert_eq!(rule["State"], "Enabled", "{}", rule["Name"]);
    }

    // Most domains go: the next sync folds the parts back into one rule each way.
    lab.sim
        .patch_directory(
            &tenant.to_string(),
            &serde_json::from_value(json!({"remove_domains": domains[1..].to_vec()})).expect("patch"),
        )
        .expect("domains removed");
    let syncer = lab.syncer();
    let report = syncer.sync_tenant(&message(tenant, "s1")).await.expect("sync");
    assert!(report.drift.is_empty(), "{report:?}");
    assert_eq!(
        parts(&lab, tenant, &names.rule_incoming_domain).len(),
        1,
        "{report:?}"
    );
    assert_eq!(parts(&lab, tenant, &names.rule_outgoing_domain).len(), 1);
    let again = syncer.sync_tenant(&message(tenant, "s2")).await.expect("sync");
    assert!(
        again.rules_updated.is_empty() && again.drift.is_empty(),
        "{again:?}"
    );

    let gone = lab
        .deprovision(deprovision_event(tenant, "full"))
        .await
        .expect("deprovision");
    assert_eq!(gone["status"], "succeeded", "{gone:#}");
    let after = comparable(&lab, tenant);
    assert_eq!(after["rules"], before["rules"], "no rule part left behind");
}

#[tokio::test]
async fn a_tenant_on_each_site_gets_its_own_smart_hosts_on_that_sites_relay() {
    let lab = Lab::start().await;
    let names = vendor().names();
    let mut hosts = BTreeSet::new();
    for site in Site::all() {
        let domain = format!("{}.fabrikam.example", site.code());
        let user = format!("alice@{domain}");
        let tenant = lab.tenant(json!({"domains": [domain], "users": [{"user_principal_name": user}]}));
        let request = json!({"tenant_id": tenant.to_string(), "site": site.code(), "policy_targets": {"users": [user]}});
        let view = lab.provision(request).await.expect("provision");
        assert_eq!(view["status"], "succeeded", "{site:?}: {view:#}");
        let want = vendor().smart_hosts(site, &tenant);
        let dump = lab.dump(tenant);
        let outbound = dump["exchange"]["outbound_connectors"]
            .as_array()
            .expect("outbound");
        for (name, host) in [
            (&names.outbound_incoming, &want.incoming),
            (&names.outbound_outgoing, &want.outgoing),
        ] {
            let connector = outbound
                .iter()
                .find(|c| c["Name"] == name.as_str())
                .expect("connector");
            assert_eq!(connector["SmartHosts"], json!([host]), "{site:?}");
            assert_eq!(
                connector["TlsDomain"],
                json!(host),
                "the host's own name is checked"
            );
            assert_eq!(connector["TlsSettings"], "DomainValidation");
            assert!(host.contains(&tenant.to_string()), "{host}");
            assert!(
                host.contains(&format!("-{}.", site.code())),
                "{host} is on the {site:?} relay"
            );
            assert!(hosts.insert(host.clone()), "{host} is this tenant's alone");
        }
    }
    assert_eq!(hosts.len(), 16);
}
