//! `onboard` end to end, over HTTP where the admin's browser goes: the operator's link for a
//! tenant named by its domain, the simulator's consent page, Microsoft's redirect to the
//! function URL's callback, the result page, Verify, and the provisioning it starts.

use std::sync::Arc;

use chrono::{Duration, Utc};
use integration_tests::{
    browser::{Answer, Browser},
    function_url::FunctionUrl,
    lab::{Lab, assert_refused, invoke},
};
use lifecycle::{
    onboarding::{ConsentRequest, ConsentState, Onboarding},
    verify::Status,
};
use model::{cloud::Cloud, service::Service, sites::Site, tenant::TenantId};
use serde_json::{Value, json};
use state::store::Key;

const DOMAIN: &str = "onboarded.example";

struct World {
    lab: Lab,
    url: FunctionUrl,
    onboarding: Arc<Onboarding>,
    browser: Browser,
    tenant: TenantId,
}

/// A tenant that has never seen the vendor's app, and `onboard` on its function URL.
async fn world() -> World {
    let lab = Lab::start().await;
    let tenant = lab.tenant(json!({
        "domains": [DOMAIN],
        "users": [{"user_principal_name": format!("alice@{DOMAIN}")}, {"user_principal_name": format!("bob@{DOMAIN}")}],
        "consented": false,
    }));
    let (url, onboarding) = lab.onboard_url().await;
    World {
        lab,
        url,
        onboarding,
        browser: Browser::default(),
        tenant,
    }
}

impl World {
    async fn onboard(&self, event: Value) -> Result<Value, lambda_runtime::Diagnostic> {
        invoke(onboard::handler, &*self.onboarding, event).await
    }

    /// The operator's link for the tenant, named by its domain.
    async fn link(&self, provision: bool) -> Value {
        let event = json!({
            "tenant": DOMAIN, "site": "eu",
            "policy_targets": {"users": [format!("alice@{DOMAIN}")]},
            "provision": provision,
        });
        let link = self.onboard(event).await.expect("a consent link");
        assert_eq!(link["tenant_id"], json!(self.tenant), "{link:#}");
        link
    }

    /// The admin answers `link` with `button`, as `account`; the callback's page.
    async fn answer(&self, link: &Value, account: Option<&str>, button: &str) -> (String, Answer) {
        let url = link["consent_url"].as_str().expect("a URL");
        let location = self.browser.consent(url, account, button).await;
        assert!(
            location.starts_with(&format!("{}/consent/callback?", self.url.base)),
            "{location}"
        );
        let page = self.browser.get(&location).await;
        (location, page)
    }

    async fn request_of(&self, link: &Value) -> ConsentRequest {
        let url = link["consent_url"].as_str().expect("a URL");
        let (_, query) = url.split_once('?').expect("a query");
        let sealed = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "state")
            .expect("a state")
            .1;
        let state = ConsentState::open(&self.onboarding.key, &sealed, Utc::now())
            .await
            .expect("our state");
        self.lab
            .aws
            .store
            .get(&Key::consent(&state.nonce))
            .await
            .expect("read")
            .expect("the link's request")
    }

    /// The tenant's record as the table holds it (version and current task), if any.
    async fn tenant_items(&self) -> Option<(u64, Option<model::task::TaskId>)> {
        self.lab
            .aws
            .store
            .tenant(self.tenant)
            .await
            .expect("read")
            .map(|r| (r.version, r.current_task_id))
    }
}

/// The items of Verify's checklist.
fn items(checklist: &Value) -> impl Iterator<Item = &Value> {
    checklist["items"].as_array().expect("items").iter()
}

#[tokio::test]
async fn a_tenant_named_by_its_domain_is_consented_verified_and_provisioned_through_the_callback() {
    let w = world().await;
    let link = w.link(true).await;
    let expires: chrono::DateTime<Utc> = serde_json::from_value(link["expires_at"].clone()).expect("a time");
    assert!(expires > Utc::now() + Duration::hours(71), "{link:#}");

    let (location, page) = w.answer(&link, None, "accept").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'")),
        "{:?}",
        page.headers
    );
    assert!(page.body.contains("Consent granted"), "{}", page.body);
    assert!(page.body.contains("Provisioning has started"), "{}", page.body);
    let recorded = w.request_of(&link).await;
    let task_id = recorded.task_id.expect("provisioning started");
    // Consent grants permissions, never a directory role: the admin still assigns it.
    let checklist = recorded.verified.expect("verified");
    assert!(checklist.grant_holds(), "{checklist:#?}");
    let role = checklist
        .items
        .iter()
        .find(|i| i.name == "exchange_administrator");
    assert!(
        role.is_some_and(|i| i.status == Status::Action && i.detail.contains("Roles & admins")),
        "{checklist:#?}"
    );
    assert!(page.body.contains("Roles &amp; admins"), "{}", page.body);
    w.lab
        .sim
        .tenant_settings(
            &w.tenant.to_string(),
            &serde_json::from_value(json!({"exchange_admin_role": true})).expect("settings"),
        )
        .expect("the admin assigns the role");

    // Verify any time: every required permission by claim and call, the role, no conflicts.
    let verified = w
        .onboard(json!({"verify": w.tenant.to_string()}))
        .await
        .expect("a checklist");
    assert_eq!(verified["ok"], true, "{verified:#}");
    let names: Vec<&str> = items(&verified).filter_map(|i| i["name"].as_str()).collect();
    for expected in [
        "consent",
        "permission User.Read.All",
        "permission Exchange.ManageAsApp",
        "permission Sites.Read.All",
        "permission Files.Read.All",
        "exchange_administrator",
        "mail_routing",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }

    // The start is queued for provision, which runs it to the end.
    let messages = w.lab.aws.take_messages("PROVISION_QUEUE_URL").await;
    assert_eq!(
        messages["Records"].as_array().map(Vec::len),
        Some(1),
        "{messages:#}"
    );
    let batch = w.lab.provision(messages).await.expect("the continuation");
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch:#}");
    let view = w
        .lab
        .provision(json!({"task_id": task_id}))
        .await
        .expect("the task");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let record = w.lab.record(w.tenant).await;
    assert_eq!(record.site, Site::Eu);
    assert_eq!(record.cloud, Cloud::Commercial);

    // The same answer again (a reload, a replay) is refused and changes nothing.
    let before = w.tenant_items().await;
    let again = w.browser.get(&location).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert_eq!(w.tenant_items().await, before);
    assert_eq!(w.request_of(&link).await.task_id, Some(task_id));
    w.lab.assert_no_secret_in_the_table().await;
}

/// A grant whose follow-up could not finish (Microsoft failing Verify) is recorded and shown as
/// such, and the admin's reload of the page follows it up; once done, a reload is refused.
#[tokio::test]
async fn a_grant_whose_verify_failed_is_followed_up_when_the_admin_reloads_the_page() {
    let w = world().await;
    let link = w.link(true).await;
    let url = link["consent_url"].as_str().expect("a URL");
    let location = w.browser.consent(url, None, "accept").await;
    w.lab
        .fault(json!({"surface": "graph", "status": 503, "count": 100}));
    let page = w.browser.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Consent was recorded"), "{}", page.body);
    assert!(page.body.contains("reload this page"), "{}", page.body);
    assert!(!page.body.contains("Provisioning has started"), "{}", page.body);
    let recorded = w.request_of(&link).await;
    assert!(
        recorded.note.is_some() && recorded.task_id.is_none(),
        "{recorded:?}"
    );
    assert_eq!(w.tenant_items().await, None, "nothing opened");

    w.lab.sim.clear_faults();
    let reloaded = w.browser.get(&location).await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.body);
    assert!(
        reloaded.body.contains("Provisioning has started"),
        "{}",
        reloaded.body
    );
    let task = w.request_of(&link).await.task_id.expect("provisioning started");
    assert_eq!(w.tenant_items().await.and_then(|(_, t)| t), Some(task));
    let again = w.browser.get(&location).await;
    assert_eq!(again.status, 400, "done: {}", again.body);
}

#[tokio::test]
async fn a_cancel_and_a_non_admins_answer_are_recorded_with_microsofts_reasons() {
    let w = world().await;
    let cancelled = w.link(true).await;
    let (_, page) = w.answer(&cancelled, None, "cancel").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Consent not granted"), "{}", page.body);
    assert!(page.body.contains("AADSTS65004"), "{}", page.body);
    let outcome = json!(w.request_of(&cancelled).await.outcome);
    assert_eq!(outcome["outcome"], "refused", "{outcome:#}");
    assert_eq!(outcome["error"], "access_denied", "{outcome:#}");

    let not_admin = w.link(true).await;
    let (_, page) = w
        .answer(&not_admin, Some(&format!("alice@{DOMAIN}")), "accept")
        .await;
    assert!(page.body.contains("AADSTS90094"), "{}", page.body);
    let recorded = w.request_of(&not_admin).await;
    assert!(
        json!(recorded.outcome)["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS90094")),
        "{recorded:?}"
    );
    assert_eq!(recorded.task_id, None);
    // Neither answer wrote to the tenant or opened anything.
    assert_eq!(w.lab.counts(w.tenant).microsoft_writes(), 0);
    assert_eq!(w.tenant_items().await, None);
}

#[tokio::test]
async fn a_tampered_expired_or_foreign_state_is_refused_and_changes_nothing() {
    let w = world().await;
    let link = w.link(true).await;
    let url = link["consent_url"].as_str().expect("a URL");
    let location = w.browser.consent(url, None, "accept").await;
    let (base, query) = location.split_once('?').expect("a query");
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let with_state = |pairs: &[(String, String)], state: &str| {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), if k == "state" { state } else { v.as_str() })),
            )
            .finish();
        format!("{base}?{query}")
    };
    let sealed = pairs.iter().find(|(k, _)| k == "state").expect("state").1.clone();
    let mut tampered = sealed.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let expired = ConsentState {
        expires_at: Utc::now() - Duration::minutes(1),
        ..ConsentState::new(w.tenant, Cloud::Commercial, Utc::now())
    }
    .seal(&w.onboarding.key)
    .await
    .expect("sealed");
    let foreign = w
        .lab
        .aws
        .new_mac_key()
        .await
        .seal(b"{}")
        .await
        .expect("another key's seal");
    for (state, says) in [
        (tampered.as_str(), "changed or was not made by this deployment"),
        (expired.as_str(), "expired"),
        (foreign.as_str(), "changed or was not made by this deployment"),
        ("not-a-state", "(no MAC)"),
    ] {
        let page = w.browser.get(&with_state(&pairs, state)).await;
        assert_eq!(page.status, 400, "{state}: {}", page.body);
        assert!(page.body.contains(says), "{state}: {}", page.body);
        assert!(page.body.contains("Nothing was changed."), "{}", page.body);
    }
    pairs.retain(|(k, _)| k != "state");
    let stateless = w.browser.get(&with_state(&pairs, "")).await;
    assert_eq!(stateless.status, 400, "{}", stateless.body);
    assert_eq!(w.request_of(&link).await.outcome, None, "nothing recorded");
    assert_eq!(w.tenant_items().await, None, "nothing opened");
    // The genuine answer still counts once.
    let page = w.browser.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test]
async fn the_result_page_shows_whatever_microsoft_sent_as_text() {
    let w = world().await;
    let link = w.link(false).await;
    let url = link["consent_url"].as_str().expect("a URL");
    let sealed = form_urlencoded::parse(url.split_once('?').expect("query").1.as_bytes())
        .find(|(k, _)| k == "state")
        .expect("state")
        .1
        .into_owned();
    let hostile = form_urlencoded::Serializer::new(String::new())
        .append_pair("error", "access_denied\"><script>alert(1)</script>")
        .append_pair(
            "error_description",
            "AADSTS65004: <img src=x onerror=alert(2)> & more",
        )
        .append_pair("state", &sealed)
        .finish();
    let page = w
        .browser
        .get(&format!("{}/consent/callback?{hostile}", w.url.base))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains("<script>") && !page.body.contains("<img"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("&lt;img src=x onerror=alert(2)&gt; &amp; more"),
        "{}",
        page.body
    );
    // Only the callback is served, and only by GET.
    assert_eq!(w.browser.get(&format!("{}/other", w.url.base)).await.status, 404);
}

#[tokio::test]
async fn verify_names_the_one_permission_a_tenant_lacks_and_its_record_carries_the_reconsent_link() {
    let w = world().await;
    let tenant = w.lab.active_tenant(Site::Eu, 2).await;
    let mut record = w.lab.record(tenant).await;
    record.services = Service::ALL.to_vec();
    w.lab.aws.store.update(&mut record).await.expect("every service");

    // A grant that holds, checked in few requests (each costs the tenant's quota): two tokens,
    // two Graph `$batch`es (the second needs the first's answers), one Exchange `$batch`.
    w.lab.sim.reset_stats();
    let checklist = w
        .onboard(json!({"verify": tenant.to_string()}))
        .await
        .expect("a checklist");
    assert_eq!(checklist["ok"], true, "{checklist:#}");
    let counts = w.lab.counts(tenant);
    assert_eq!(counts.token.round_trips, 2, "{counts:?}");
    assert_eq!(counts.graph.round_trips, 2, "{counts:?}");
    assert_eq!(counts.exchange.round_trips, 1, "{counts:?}");
    // Organization, domains, users, groups, the root site and the service principal; a user's
    // drive and the principal's role assignments; and the two envelopes.
    assert_eq!(counts.graph.requests, 10, "{counts:?}");
    let names: Vec<&str> = items(&checklist).filter_map(|i| i["name"].as_str()).collect();
    for proven in [
        "permission Sites.Read.All",
        "permission Files.Read.All",
        "mail_routing",
    ] {
        assert!(names.contains(&proven), "{checklist:#}");
    }
    // Get-AcceptedDomain and the three mail-routing listings.
    assert_eq!(counts.exchange.requests, 4, "{counts:?}");
    assert_eq!(counts.microsoft_writes(), 0, "{counts:?}");

    let mut roles = integration_tests::lab::opted_in_app_roles();
    roles.retain(|r| *r != "Domain.Read.All");
    w.lab
        .sim
        .tenant_settings(
            &tenant.to_string(),
            &serde_json::from_value(json!({"app_roles": roles})).expect("settings"),
        )
        .expect("the grant without one permission");
    let checklist = w
        .onboard(json!({"verify": tenant.to_string()}))
        .await
        .expect("a checklist");
    assert_eq!(checklist["ok"], false, "{checklist:#}");
    let missing: Vec<&Value> = items(&checklist).filter(|i| i["status"] == "missing").collect();
    assert_eq!(missing.len(), 1, "{checklist:#}");
    assert_eq!(missing[0]["name"], "permission Domain.Read.All");
    assert!(
        missing[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/v2.0/adminconsent?")),
        "{checklist:#}"
    );
    let attention = w.lab.record(tenant).await.attention.expect("attention");
    assert!(
        attention.contains("Domain.Read.All") && attention.contains("/v2.0/adminconsent?"),
        "{attention}"
    );
    // The link only grants again, for the tenant's services: it carries no provisioning.
    let url = missing[0]["detail"]
        .as_str()
        .and_then(|d| d.split("with this link: ").nth(1))
        .expect("the link");
    let reconsent = w.request_of(&json!({"consent_url": url})).await;
    assert_eq!(reconsent.services, Service::ALL.to_vec());
    assert_eq!((reconsent.request, reconsent.provision), (None, false));

    // Bad input is refused naming the field, and changes nothing.
    for (event, says) in [
        (json!({"verify": "not-a-guid"}), "verify"),
        (
            json!({"verify": tenant.to_string(), "cloud": "gcc_high"}),
            "cloud",
        ),
        (
            json!({"tenant": "not a domain!", "site": "eu", "provision": true}),
            "tenant",
        ),
        (
            json!({"tenant": DOMAIN, "site": "mars", "provision": true}),
            "site",
        ),
        (json!({"tenant": DOMAIN, "site": "eu"}), "provision"),
    ] {
        assert_refused(w.onboard(event.clone()).await, "InvalidInput", says, &event);
    }
    let unknown = json!({"tenant": "nobody.example", "site": "eu", "provision": true});
    assert_refused(
        w.onboard(unknown.clone()).await,
        "NotFound",
        "nobody.example",
        &unknown,
    );
}

#[tokio::test]
async fn verify_asks_the_admin_to_remove_another_vendors_mail_routing_and_names_only_that() {
    let w = world().await;
    let tenant = w.lab.tenant(json!({
        "domains": ["routed.example"],
        "users": 1,
        "exchange": {
            "inbound_connectors": [{"Name": "Partner inbound", "SenderDomains": ["*"]}],
            "outbound_connectors": [{"Name": "Other vendor outbound", "SmartHosts": ["mx.other.example"], "UseMXRecord": false}],
            "transport_rules": [
                {"Name": "Other vendor route", "RouteMessageOutboundConnector": "Other vendor outbound"},
                {"Name": "Plain rule", "SetSCL": -1}
            ]
        }
    }));
    let checklist = w
        .onboard(json!({"verify": tenant.to_string()}))
        .await
        .expect("a checklist");
    let routing = items(&checklist)
        .find(|i| i["name"] == "mail_routing")
        .unwrap_or_else(|| panic!("{checklist:#}"));
    assert_eq!(routing["status"], "action", "{checklist:#}");
    let detail = routing["detail"].as_str().expect("detail");
    assert!(
        detail.contains("Other vendor outbound") && detail.contains("Other vendor route"),
        "{detail}"
    );
    assert!(
        !detail.contains("Partner inbound") && !detail.contains("Plain rule"),
        "{detail}"
    );
    assert_eq!(checklist["ok"], false);
}

/// The samples `cargo lambda invoke onboard` sends (README: Trying a function locally), against
/// the local sample tenants: a link for the one not yet onboarded, Verify of the consented one.
#[tokio::test]
async fn the_onboard_samples_link_the_local_tenant_not_yet_onboarded_and_verify_the_other() {
    let w = world().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/local-tenants.json");
    let tenants: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).expect(path)).expect(path);
    for tenant in &tenants {
        w.lab.tenant(tenant.clone());
    }
    let sample = |name: &str| -> Value {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
    };
    let link = w.onboard(sample("onboard-link.json")).await.expect("a link");
    let unconsented = tenants
        .iter()
        .find(|t| t["consented"] == false)
        .expect("a tenant not yet onboarded");
    assert_eq!(link["tenant_id"], unconsented["tenant_id"], "{link:#}");
    let checklist = w
        .onboard(sample("onboard-verify.json"))
        .await
        .expect("a checklist");
    let statuses: Vec<&str> = items(&checklist).filter_map(|i| i["status"].as_str()).collect();
    assert!(
        !statuses.is_empty() && !statuses.contains(&"missing"),
        "{checklist:#}"
    );
    // The callback's sample is Microsoft's redirect after a Cancel, with a state no deployment
    // made: refused with a page that says why, and nothing recorded.
    let page = w.onboard(sample("onboard-callback.json")).await.expect("a page");
    assert_eq!(page["statusCode"], 400, "{page:#}");
    let html = page["body"].as_str().expect("html");
    assert!(
        html.contains("not a consent link") && html.contains("Nothing was changed"),
        "{html}"
    );
    let policy = page["headers"]["content-security-policy"].as_str();
    assert!(
        policy.is_some_and(|p| p.starts_with("default-src 'none'")),
        "{page:#}"
    );
}
