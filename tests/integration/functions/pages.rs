//! The operator's web pages under `/ui/`: every value escaped (a hostile display name and
//! Microsoft's error text included), a strict Content-Security-Policy, forms refused without
//! their CSRF token or from another origin; and, in a real headless Chromium through the CLI's
//! page proxy (`m365-inline ui`, as an operator opens a deployed stack's pages), a tenant
//! provisioned from the dashboard's form through the simulator's consent page, its task page
//! watched until it succeeds, and deprovisioned from its page, at desktop and phone widths.

use integration_tests::{
    chromium::Chromium,
    lab::{Lab, tenant_id},
};
use model::{sites::Site, tenant::LifecycleState};
use serde_json::json;
use state::store::TenantRecord;

const HOSTILE: &str = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

/// An active tenant on site eu, recorded as provisioning leaves it, with `attention`.
async fn recorded_tenant(lab: &Lab, attention: Option<String>) -> model::tenant::TenantId {
    let mut record = TenantRecord::new(
        tenant_id(),
        Site::Eu,
        vec![model::service::Service::ExchangeOnline],
        LifecycleState::Active,
    );
    record.attention = attention;
    lab.aws.store.create(&mut record).await.expect("a tenant");
    record.tenant_id
}

/// `GET` with the browser's cookie: status, headers, body.
async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = http
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .expect("the page answers");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.text().await.expect("text"))
}

#[tokio::test]
async fn pages_escape_every_value_and_refuse_forged_forms() {
    let lab = Lab::start().await;
    let (url, console) = lab.api_url("api-pages").await;
    let tenant = recorded_tenant(&lab, Some(format!("exchange_online: Microsoft said {HOSTILE}"))).await;
    console
        .label(tenant, json!({"display_name": HOSTILE, "tags": ["vip"]}))
        .await
        .expect("labelled");
    // Today's run of the site, where this tenant's sync fails (it has no token to sync with).
    console.sync_site(Site::Eu, json!(null)).await.expect("the run");
    let messages = lab.aws.take_messages("SYNC_QUEUE_URL").await;
    integration_tests::lab::invoke(sync_worker::handler, &lab.syncer(), messages)
        .await
        .expect("a batch answer");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");

    // A new browser gets its token cookie; the page is HTML with the strict policy.
    let first = http
        .get(format!("{}/ui/", url.base))
        .send()
        .await
        .expect("the dashboard");
    assert_eq!(first.status().as_u16(), 200);
    let headers = first.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().expect("a policy");
    assert!(
        policy.starts_with("default-src 'none'") && !policy.contains("unsafe"),
        "{policy}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    let set_cookie = headers["set-cookie"].to_str().expect("a cookie").to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    let token = cookie.split_once('=').expect("a pair").1.to_owned();
    let page = first.text().await.expect("the page");
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "nothing hostile is markup"
    );
    assert!(
        page.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"),
        "shown as text"
    );
    assert!(
        page.contains(&format!("name=\"csrf\" value=\"{token}\"")),
        "the form carries the token"
    );
    // The site's chart: today's bar shows the failed tenant.
    let today = chrono::Utc::now().date_naive();
    assert!(
        page.contains(&format!("eu {today}: 0 synced, 1 failed, 0 skipped of 1 queued"))
            && page.contains("class=\"bar-bad\""),
        "{page}"
    );
    // The fleet by state, as the run found it: the one active tenant.
    assert!(
        page.contains(&format!("<title>{today}: 1 active</title>")) && page.contains("class=\"st-active\""),
        "{page}"
    );
    // No task has finished on its service: the badge says so.
    assert!(
        page.contains("title=\"exchange_online: not yet provisioned\""),
        "{page}"
    );

    let (status, _, page) = get(&http, &format!("{}/ui/tenants/{tenant}", url.base), &cookie).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("<script") && page.contains("Microsoft said &lt;script&gt;"),
        "{page}"
    );

    // Forms: without the token, with another's, from another origin: refused, nothing changed.
    let pause = format!("{}/ui/tenants/{tenant}/pause", url.base);
    let host = url.base.trim_start_matches("http://").to_owned();
    let post = |body: String, origin: &str| {
        http.post(&pause)
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .body(body)
            .send()
    };
    let own = format!("http://{host}");
    for (body, origin) in [
        (String::new(), own.as_str()),
        (format!("csrf={}", "0".repeat(64)), own.as_str()),
        (format!("csrf={token}"), "https://evil.example"),
    ] {
        let refused = post(body.clone(), origin).await.expect("an answer");
        assert_eq!(refused.status().as_u16(), 403, "{body} from {origin}");
        let text = refused.text().await.expect("text");
        assert!(text.contains("Forbidden"), "{text}");
    }
    assert!(
        lab.record(tenant).await.paused_at.is_none(),
        "a forged form changes nothing"
    );

    // The page's own form: done, and back to the tenant's page, which says so.
    let done = post(format!("csrf={token}"), &own).await.expect("an answer");
    assert_eq!(done.status().as_u16(), 303);
    let location = done.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert_eq!(location, format!("../{tenant}?done=pause"));
    assert!(lab.record(tenant).await.paused_at.is_some());
    let (_, _, page) = get(
        &http,
        &format!("{}/ui/tenants/{tenant}?done=pause", url.base),
        &cookie,
    )
    .await;
    assert!(page.contains("Paused: the daily sync"), "{page}");
    assert!(page.contains("Resume"), "{page}");

    // A sync of a paused tenant is refused on its page, with the reason and its status.
    let sync = http
        .post(format!("{}/ui/tenants/{tenant}/sync", url.base))
        .header("cookie", &cookie)
        .body(format!("csrf={token}"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(sync.status().as_u16(), 409);
    assert!(sync.text().await.expect("text").contains("WrongLifecycleState"));

    // Bad addresses name what is wrong.
    let (status, _, page) = get(&http, &format!("{}/ui/tenants/not-a-guid", url.base), &cookie).await;
    assert_eq!(status, 400);
    assert!(page.contains("tenant_id"), "{page}");
    let (status, _, _) = get(&http, &format!("{}/ui/nothing-here", url.base), &cookie).await;
    assert_eq!(status, 404);
    let (status, _, page) = get(&http, &format!("{}/ui/?state=sleeping", url.base), &cookie).await;
    assert_eq!(status, 400);
    assert!(page.contains("state"), "{page}");
    let (status, headers, css) = get(&http, &format!("{}/ui/static/app.css", url.base), &cookie).await;
    assert_eq!(
        (status, headers["content-type"].to_str().ok()),
        (200, Some("text/css; charset=utf-8"))
    );
    assert!(css.contains("@media"));
    let (status, headers, _) = get(&http, &format!("{}/ui", url.base), &cookie).await;
    assert_eq!((status, headers["location"].to_str().ok()), (303, Some("ui/")));

    // Deprovisioning asks to acknowledge the quarantine only when it holds messages.
    let page_of = format!("{}/ui/tenants/{tenant}", url.base);
    let (_, _, page) = get(&http, &page_of, &cookie).await;
    assert!(!page.contains("acknowledge_quarantine"), "nothing to acknowledge");
    lab.aws
        .store
        .put(&state::store::scanning::QuarantineSummary {
            tenant_id: tenant,
            quarantined_items: 3,
            updated_at: chrono::Utc::now(),
        })
        .await
        .expect("the scanning side's count");
    let (_, _, page) = get(&http, &page_of, &cookie).await;
    assert!(
        page.contains("3 message(s) are in quarantine") && page.contains("name=\"acknowledge_quarantine\""),
        "{page}"
    );
    let deprovision = |body: String| {
        http.post(format!("{page_of}/deprovision"))
            .header("cookie", &cookie)
            .header("origin", &own)
            .body(body)
            .send()
    };
    let refused = deprovision(format!("csrf={token}&mode=standard"))
        .await
        .expect("an answer");
    assert_eq!(refused.status().as_u16(), 409);
    assert!(
        refused
            .text()
            .await
            .expect("text")
            .contains("QuarantineNotAcknowledged")
    );
    assert_eq!(
        lab.record(tenant).await.state,
        LifecycleState::Active,
        "nothing started"
    );
    let started = deprovision(format!("csrf={token}&mode=standard&acknowledge_quarantine=true"))
        .await
        .expect("an answer");
    assert_eq!(started.status().as_u16(), 303);
    let location = started.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(location.starts_with("../../tasks/"), "{location}");
}

/// The text of the task page's status badge, once the page has one.
async fn task_status(browser: &Chromium) -> String {
    let status = browser
        .script("const b = document.querySelector('h1 .badge'); return b ? b.textContent : '';")
        .await;
    status.as_str().unwrap_or_default().to_owned()
}

/// Waits until the task page, reloading itself, shows `wanted`.
async fn watch_until(browser: &Chromium, wanted: &str) {
    for _ in 0..80 {
        if task_status(browser).await == wanted {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("the task page never showed {wanted}: {}", browser.text().await);
}

/// Runs what the pages queued for `provision`, as its SQS event source would.
/// Asserts that the open page is no wider than the window, and saves it as `name`.
async fn fits(browser: &Chromium, name: &str) {
    let overflow = browser
        .script("return document.documentElement.scrollWidth - window.innerWidth;")
        .await;
    assert!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "{name}: the page is wider than the window by {overflow}"
    );
    browser.screenshot(name).await;
}

async fn run_queued(lab: &Lab) {
    let messages = lab.aws.take_messages("PROVISION_QUEUE_URL").await;
    assert!(
        messages["Records"].as_array().is_some_and(|r| !r.is_empty()),
        "a continuation is queued"
    );
    let batch = lab.provision(messages).await.expect("the continuation");
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch:#}");
}

#[tokio::test]
async fn an_operator_provisions_watches_and_deprovisions_a_tenant_in_a_real_browser() {
    let lab = Lab::start().await;
    let domain = "portal.example";
    let tenant = lab.tenant(json!({
        "display_name": "Portal Ltd",
        "domains": [domain],
        "users": [{"user_principal_name": format!("alice@{domain}")}, {"user_principal_name": format!("bob@{domain}")}],
        "ip_allow_list": ["198.51.100.90"],
        "consented": false,
    }));
    let (api, _onboard) = lab.portal().await;
    // The operator opens the pages as on a deployed stack: through `m365-inline ui`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let pages = format!("http://{}", listener.local_addr().expect("its address"));
    let proxy = tokio::spawn(m365_inline::proxy::serve(
        m365_inline::api::ApiClient::unsigned(&api.base),
        listener,
    ));
    let browser = Chromium::start(1280, 900).await;

    // The dashboard's form makes the consent link.
    browser.open(&format!("{pages}/ui/")).await;
    browser.wait_for_text("Provision a tenant", 10).await;
    browser.fill("input[name=tenant]", domain).await;
    browser.click("select[name=site] option[value=eu]").await;
    browser
        .fill("textarea[name=users]", &format!("alice@{domain}"))
        .await;
    // This tenant keeps its own IP Allow List: the option the form offers.
    browser
        .click("select[name=ip_allow_list] option[value=false]")
        .await;
    browser.screenshot("dashboard").await;
    browser
        .click("form[action=consent-links] button[type=submit]")
        .await;
    browser.wait_for_text("Send this link to the admin", 10).await;
    assert!(browser.text().await.contains(&tenant.to_string()));

    // The admin's side: Microsoft's consent page, Accept, the callback starts provisioning.
    browser.click("a[rel=noreferrer]").await;
    browser.wait_for_text("Permissions requested", 10).await;
    browser.click("button[name=accept]").await;
    browser.wait_for_text("Provisioning has started", 15).await;
    let source = browser.source().await;
    let task = source
        .split("task <code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the callback names the task")
        .to_owned();

    // Consent grants permissions, never a directory role: the admin assigns it too.
    lab.sim
        .tenant_settings(
            &tenant.to_string(),
            &serde_json::from_value(json!({"exchange_admin_role": true})).expect("settings"),
        )
        .expect("the admin assigns the role");

    // The task page, watched: it reloads itself until the queued provisioning ends.
    browser.open(&format!("{pages}/ui/tasks/{task}")).await;
    let before = task_status(&browser).await;
    assert!(before == "pending" || before == "running", "{before}");
    browser.screenshot("task-pending").await;
    run_queued(&lab).await;
    watch_until(&browser, "succeeded").await;
    let text = browser.text().await;
    assert!(
        text.contains("create_connectors") && text.contains("check_sharepoint"),
        "every service's steps: {text}"
    );
    browser.screenshot("task-succeeded").await;
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Active);
    assert_eq!(
        lab.dump(tenant)["exchange"]["ip_allow_list"],
        json!(["198.51.100.90"]),
        "the form's option left the customer's list as it was"
    );

    // The tenant's page: its objects with Microsoft's ids, then a full deprovisioning.
    browser.click(&format!("a[href='../tenants/{tenant}']")).await;
    browser.wait_for_text("Managed objects", 10).await;
    let text = browser.text().await;
    assert!(
        text.contains("Portal Ltd") || text.contains(&tenant.to_string()),
        "{text}"
    );
    assert!(
        text.contains("inbound_connector") || text.contains("transport_rule"),
        "{text}"
    );
    browser.screenshot("tenant").await;

    // The same page at phone width: nothing wider than the screen.
    browser.resize(390, 844).await;
    browser.open(&format!("{pages}/ui/tenants/{tenant}")).await;
    fits(&browser, "tenant-phone").await;
    // The dashboard too (its tables scroll within their sections), where the tenant's row says
    // where each of its services stands.
    browser.open(&format!("{pages}/ui/")).await;
    browser.wait_for_text("The fleet", 10).await;
    let text = browser.text().await;
    assert!(text.contains("exchange_online provisioned"), "{text}");
    fits(&browser, "dashboard-phone").await;
    browser.resize(1280, 900).await;
    browser.open(&format!("{pages}/ui/tenants/{tenant}")).await;
    browser.wait_for_text("Managed objects", 10).await;

    browser.click("input[name=mode][value=full]").await;
    browser
        .click("form[action$='/deprovision'] button[type=submit]")
        .await;
    browser.wait_for_text("deprovision", 10).await;
    run_queued(&lab).await;
    watch_until(&browser, "succeeded").await;
    assert_eq!(lab.record(tenant).await.state, LifecycleState::Deprovisioned);

    // A hostile name set through the API is text on the dashboard: no script ran or exists.
    let http = reqwest::Client::new();
    let labelled = http
        .patch(format!("{}/tenants/{tenant}", api.base))
        .json(&json!({"display_name": HOSTILE}))
        .send()
        .await
        .expect("labelled");
    assert_eq!(labelled.status().as_u16(), 200);
    browser.open(&format!("{pages}/ui/")).await;
    browser.wait_for_text("The fleet", 10).await;
    assert_eq!(
        browser
            .script("return [document.querySelectorAll('script').length, typeof window.pwned];")
            .await,
        json!([0, "undefined"])
    );
    let text = browser.text().await;
    assert!(text.contains("<script>window.pwned=1</script>"), "{text}");
    assert!(text.contains("exchange_online removed"), "{text}");
    browser.screenshot("dashboard-after").await;
    browser.close().await;
    proxy.abort();
}

#[tokio::test]
async fn the_pages_open_through_the_clis_proxy_and_nothing_else_does() {
    let lab = Lab::start().await;
    let (url, _) = lab.api_url("api-proxy").await;
    let tenant = recorded_tenant(&lab, None).await;
    // `m365-inline ui` as it runs (a loopback API is not signed; a deployed one is, by the
    // same signer as every CLI request).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let proxy = format!("http://{}", listener.local_addr().expect("its address"));
    let server = tokio::spawn(m365_inline::proxy::serve(
        m365_inline::api::ApiClient::unsigned(&url.base),
        listener,
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");

    let page = http
        .get(format!("{proxy}/ui/"))
        .send()
        .await
        .expect("the dashboard");
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|p| p.starts_with("default-src 'none'"))
    );
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("a cookie")
        .split(';')
        .next()
        .expect("a pair")
        .to_owned();
    let token = cookie.split_once('=').expect("name=value").1.to_owned();

    // A form through the proxy: the browser's Origin is the proxy's, which the API accepts by
    // the proxy's X-Forwarded-Host; the redirect comes back for the browser to follow.
    let paused = http
        .post(format!("{proxy}/ui/tenants/{tenant}/pause"))
        .header("cookie", &cookie)
        .header("origin", &proxy)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(paused.status().as_u16(), 303);
    assert_eq!(
        paused.headers()["location"].to_str().ok(),
        Some(format!("../{tenant}?done=pause").as_str())
    );
    assert!(lab.record(tenant).await.paused_at.is_some());

    // Not the JSON API (its POSTs carry no CSRF token), and not for another host name.
    let api = http
        .post(format!("{proxy}/tenants/{tenant}/resume"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(api.status().as_u16(), 404);
    assert!(api.text().await.expect("text").contains("/ui/"));
    assert!(lab.record(tenant).await.paused_at.is_some(), "nothing resumed");
    let rebound = http
        .get(format!("{proxy}/ui/"))
        .header("host", "evil.example")
        .send()
        .await
        .expect("an answer");
    assert_eq!(rebound.status().as_u16(), 421);
    server.abort();
}
