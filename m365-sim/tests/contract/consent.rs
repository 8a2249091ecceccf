//! The admin-consent endpoint and the OpenID discovery document: the documented requests and
//! answers (`fixtures/entra-admin-consent-answers.json`, `entra-openid-configuration.json`).

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::common::*;

const REDIRECT: &str = "https://vendor.example/consent/callback";
const STATE: &str = "opaque-state-1";

/// A simulator with one tenant from `spec` and `REDIRECT` registered on the app.
async fn env_with(config: m365_sim::SimConfig, spec: Value) -> Env {
    let env = Env::with_config(config, spec).await;
    let r = env
        .admin(
            "POST",
            "/_sim/app/redirect_uris",
            Some(json!({"redirect_uri": REDIRECT})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    env
}

async fn unconsented() -> Env {
    env_with(config(), json!({"domains": ["contoso.com"], "consented": false})).await
}

/// A browser that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The documented request's parameters, with `redirect_uri` and `state` given.
fn request(env: &Env, redirect_uri: &str, state: &str) -> Vec<(String, String)> {
    [
        ("client_id", env.sim.client_id()),
        ("scope", GRAPH),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// `GET /{tenant}/v2.0/adminconsent?...`: status, Location, page.
async fn open(env: &Env, tenant: &str, query: &[(String, String)]) -> (u16, Option<String>, String) {
    let r = browser()
        .get(format!("{}/{tenant}/v2.0/adminconsent", env.base))
        .query(query)
        .send()
        .await
        .expect("consent page");
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (r.status().as_u16(), location, r.text().await.expect("page"))
}

/// The consent form submitted as `login_hint` with `button` (`accept` or `cancel`): the
/// redirect's query.
async fn submit(
    env: &Env,
    tenant: &str,
    query: &[(String, String)],
    login_hint: &str,
    button: &str,
) -> HashMap<String, String> {
    let mut form = query.to_vec();
    form.push(("login_hint".into(), login_hint.into()));
    form.push((button.into(), button.into()));
    let r = browser()
        .post(format!("{}/{tenant}/v2.0/adminconsent", env.base))
        .form(&form)
        .send()
        .await
        .expect("consent form");
    assert_eq!(r.status().as_u16(), 302, "{}", r.text().await.unwrap_or_default());
    let location = r.headers()["location"].to_str().expect("ascii").to_owned();
    let (target, query) = location.split_once('?').expect("a query");
    assert_eq!(target, REDIRECT, "answered to the registered redirect URI");
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// `answer` is the documented answer `case` of the fixture: its keys, its error and AADSTS code,
/// none of the keys it must not carry.
fn assert_answer(case: &str, answer: &HashMap<String, String>) {
    let expected = &fixture("entra-admin-consent-answers.json")[case];
    for key in expected["query"].as_array().expect("keys") {
        let key = key.as_str().expect("key");
        assert!(answer.contains_key(key), "{case}: no {key} in {answer:?}");
    }
    for key in expected["without"].as_array().into_iter().flatten() {
        let key = key.as_str().expect("key");
        assert!(!answer.contains_key(key), "{case}: {key} in {answer:?}");
    }
    if let Some(error) = expected["error"].as_str() {
        assert_eq!(answer["error"], error, "{case}");
        let code = expected["code"].as_u64().expect("code");
        assert!(
            answer["error_description"].starts_with(&format!("AADSTS{code}: ")),
            "{case}: {}",
            answer["error_description"]
        );
    }
    if let Some(consent) = expected["admin_consent"].as_str() {
        assert_eq!(answer["admin_consent"], consent, "{case}");
    }
    assert_eq!(answer["state"], STATE, "{case}: the state comes back as sent");
}

/// The `login_hint` the page fills in (the tenant's own administrator).
fn prefilled_account(page: &str) -> String {
    let at = page
        .find("name=\"login_hint\" value=\"")
        .expect("an account field")
        + 25;
    page[at..].split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn discovery_names_the_tenants_guid_by_id_and_by_domain_and_refuses_an_unknown_one() {
    let env = unconsented().await;
    for key in [env.tenant.as_str(), "contoso.com", "CONTOSO.com"] {
        let r = env
            .admin(
                "GET",
                &format!("/{key}/v2.0/.well-known/openid-configuration"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{key}: {}", r.body);
        assert_shape(&fixture("entra-openid-configuration.json"), &r.body);
        assert_eq!(
            r.body["issuer"],
            format!("{}/{}/v2.0", env.base, env.tenant),
            "{key}"
        );
        assert_eq!(
            r.body["token_endpoint"],
            format!("{}/{}/oauth2/v2.0/token", env.base, env.tenant),
            "{key}"
        );
    }
    let r = env
        .admin(
            "GET",
            "/nowhere.example/v2.0/.well-known/openid-configuration",
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_tenant");
    assert_eq!(r.body["error_codes"], json!([90002]));
}

#[tokio::test]
async fn the_consent_page_lists_the_permissions_offers_accept_and_cancel_and_escapes_what_it_shows() {
    let config = m365_sim::SimConfig {
        app_display_name: "<b>Vendor</b> & co".to_owned(),
        ..config()
    };
    let env = env_with(config, json!({"domains": ["contoso.com"], "consented": false})).await;
    let hostile = "\"><script>alert(1)</script>";
    let (status, location, page) = open(&env, "contoso.com", &request(&env, REDIRECT, hostile)).await;
    assert_eq!((status, location), (200, None));
    for role in m365_sim::model::catalog::default_app_roles() {
        assert!(page.contains(&format!("data-role=\"{role}\"")), "{role} listed");
    }
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(
        page.contains("name=\"accept\"") && page.contains("name=\"cancel\""),
        "{page}"
    );
    assert!(
        page.contains("&lt;b&gt;Vendor&lt;/b&gt; &amp; co"),
        "the app's name is escaped"
    );
    assert!(
        !page.contains("<script>") && !page.contains("<b>Vendor"),
        "{page}"
    );
    assert!(
        page.contains("&quot;&gt;&lt;script&gt;"),
        "the state is escaped in the form"
    );
}

#[tokio::test]
async fn an_administrator_accepting_consents_the_app_with_the_registrations_roles() {
    let env = unconsented().await;
    assert_eq!(
        env.client_credentials(GRAPH).await.status,
        400,
        "no token before consent"
    );
    let query = request(&env, REDIRECT, STATE);
    let (_, _, page) = open(&env, "contoso.com", &query).await;
    let admin = prefilled_account(&page);
    let answer = submit(&env, "contoso.com", &query, &admin, "accept").await;
    assert_answer("accepted", &answer);
    assert_eq!(answer["tenant"], env.tenant, "the tenant's GUID, asked by domain");
    assert_eq!(answer["scope"], GRAPH);
    // Each resource's token carries that resource's granted roles.
    let mut roles = Vec::new();
    for scope in [GRAPH, EXO] {
        let r = env.client_credentials(scope).await;
        assert_eq!(r.status, 200, "{scope}: {}", r.body);
        let token = claims(r.body["access_token"].as_str().expect("token"));
        roles.extend(token["roles"].as_array().expect("roles").clone());
    }
    for role in m365_sim::model::catalog::default_app_roles() {
        assert!(roles.contains(&json!(role)), "{role} in {roles:?}");
    }
    // Accepting again (an admin opening the link twice) is harmless.
    let again = submit(&env, env.tenant.as_str(), &query, &admin, "accept").await;
    assert_answer("accepted", &again);
}

#[tokio::test]
async fn cancel_a_user_who_is_not_an_administrator_and_a_stranger_are_answered_as_entra_does_and_consent_nothing()
 {
    let env = unconsented().await;
    let r = env
        .admin(
            "PATCH",
            &format!("/_sim/tenants/{}/directory", env.tenant),
            Some(json!({"add_users": [{"user_principal_name": "alex@contoso.com"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let query = request(&env, REDIRECT, STATE);
    let (_, _, page) = open(&env, "contoso.com", &query).await;
    let admin = prefilled_account(&page);
    assert_answer(
        "cancelled",
        &submit(&env, "contoso.com", &query, &admin, "cancel").await,
    );
    assert_answer(
        "not_admin",
        &submit(&env, "contoso.com", &query, "alex@contoso.com", "accept").await,
    );
    assert_answer(
        "other_directory",
        &submit(&env, "contoso.com", &query, "mallory@fabrikam.example", "accept").await,
    );
    assert_eq!(
        env.client_credentials(GRAPH).await.status,
        400,
        "still no consent"
    );
}

#[tokio::test]
async fn a_request_entra_cannot_answer_to_the_app_gets_an_error_page_and_no_redirect() {
    let env = unconsented().await;
    let cases = [
        (
            "contoso.com",
            request(&env, "https://evil.example/callback", STATE),
            "AADSTS50011",
        ),
        ("nowhere.example", request(&env, REDIRECT, STATE), "AADSTS90002"),
        (
            "contoso.com",
            request(&env, REDIRECT, STATE)
                .into_iter()
                .map(|(k, v)| {
                    if k == "client_id" {
                        (k, "00000000-0000-0000-0000-000000000001".into())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            "AADSTS700016",
        ),
        (
            "contoso.com",
            request(&env, REDIRECT, STATE)
                .into_iter()
                .filter(|(k, _)| k != "redirect_uri")
                .collect(),
            "AADSTS900144",
        ),
    ];
    for (tenant, query, code) in cases {
        let (status, location, page) = open(&env, tenant, &query).await;
        assert_eq!((status, location), (400, None), "{code}: {page}");
        assert!(page.contains(code), "{code}: {page}");
    }
}

/// The app registration is the Graph `application` object created in the vendor's tenant
/// (`graph-application-registration.json`): consent grants exactly its required app roles, and
/// the endpoint answers only to its redirect URIs.
#[tokio::test]
async fn the_registration_from_a_graph_application_object_decides_what_consent_grants() {
    let env = env_with(config(), json!({"domains": ["contoso.com"], "consented": false})).await;
    let mut application = fixture("graph-application-registration.json");
    application["requiredResourceAccess"]
        .as_array_mut()
        .expect("list")
        .push(json!({
            "resourceAppId": m365_sim::model::catalog::EXCHANGE_APP_ID,
            "resourceAccess": [{"id": "dc50a0fb-09a3-484d-be87-e023b12c6440", "type": "Role"}]
        }));
    let r = env
        .admin("POST", "/_sim/app/registration", Some(application.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["requested_app_roles"],
        json!(["User.Read.All", "Exchange.ManageAsApp"])
    );
    let query = request(&env, REDIRECT, STATE);
    let (_, _, page) = open(&env, "contoso.com", &query).await;
    let answer = submit(&env, "contoso.com", &query, &prefilled_account(&page), "accept").await;
    assert_answer("accepted", &answer);
    let token = env.client_credentials(GRAPH).await;
    assert_eq!(
        claims(token.body["access_token"].as_str().expect("token"))["roles"],
        json!(["User.Read.All"]),
        "only what the registration requires"
    );
    // A redirect URI the registration no longer has is refused (an error page, no redirect).
    let elsewhere = request(&env, "https://other.example/cb", STATE);
    let (status, location, _) = open(&env, "contoso.com", &elsewhere).await;
    assert_eq!((status, location), (400, None));

    for (change, says) in [
        (
            json!([{"resourceAppId": "11111111-1111-1111-1111-111111111111", "resourceAccess": []}]),
            "resourceAppId",
        ),
        (
            json!([{"resourceAppId": m365_sim::model::catalog::GRAPH_APP_ID,
                    "resourceAccess": [{"id": "dc50a0fb-09a3-484d-be87-e023b12c6440", "type": "Role"}]}]),
            "another resource",
        ),
        (
            json!([{"resourceAppId": m365_sim::model::catalog::GRAPH_APP_ID,
                    "resourceAccess": [{"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Scope"}]}]),
            "type Role",
        ),
    ] {
        let mut wrong = application.clone();
        wrong["requiredResourceAccess"] = change;
        let r = env.admin("POST", "/_sim/app/registration", Some(wrong)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.to_string().contains(says), "{says}: {}", r.body);
    }
}
