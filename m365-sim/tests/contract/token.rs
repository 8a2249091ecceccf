//! Token endpoint: grants, credentials, scopes, consent, refresh rotation, Entra error shape.

use serde_json::json;

use crate::common::*;

fn aadsts(r: &Resp, code: u64) {
    assert_eq!(r.body["error_codes"], json!([code]), "{}", r.body);
    let d = r.body["error_description"].as_str().expect("description");
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert!(
        d.contains("Trace ID: ") && d.contains("Correlation ID: ") && d.contains("Timestamp: "),
        "{d}"
    );
    assert_shape(&fixture("entra-token-error.json"), &r.body);
}

#[tokio::test]
async fn client_credentials_with_secret_issues_a_graph_token() {
    let env = Env::new(json!({"domains": ["contoso.com"]})).await;
    let r = env.client_credentials(GRAPH).await;
    assert_eq!(r.status, 200);
    assert_shape(&fixture("entra-token-success.json"), &r.body);
    assert!(
        r.body.get("refresh_token").is_none(),
        "client credentials never return a refresh token"
    );
    let ttl = r.body["expires_in"].as_i64().expect("expires_in");
    assert!((3600..=5400).contains(&ttl), "{ttl}");
    let c = claims(r.body["access_token"].as_str().expect("token"));
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["tid"], json!(env.tenant));
    assert_eq!(c["appid"], json!(env.sim.client_id()));
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        ttl
    );
    assert!(
        c["roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("User.Read.All"))
    );
    assert!(
        c["wids"]
            .as_array()
            .expect("wids")
            .contains(&json!(EXCHANGE_ADMIN_ROLE))
    );
}

#[tokio::test]
async fn tenant_can_be_addressed_by_domain_and_tokens_are_recorded() {
    let env = Env::new(json!({"domains": ["fabrikam.com"]})).await;
    let t = env.token_for("fabrikam.com", EXO).await;
    assert_eq!(claims(&t)["aud"], "https://outlook.office365.com");
    assert_eq!(claims(&t)["roles"], json!(["Exchange.ManageAsApp"]));
    let issued = env.admin("GET", "/_sim/tokens", None).await.body;
    assert!(
        issued["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .any(|x| x["token"] == json!(t))
    );
}

#[tokio::test]
async fn credential_and_tenant_errors_have_entra_codes() {
    let env = Env::new(json!({})).await;
    let cid = env.sim.client_id().to_owned();
    let base = |secret: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_secret", secret),
            ("scope", GRAPH),
        ]
    };

    let mut f = base("wrong");
    f.push(("client_id", &cid));
    let r = env.token_request(&env.tenant, &f).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    aadsts(&r, 7000215);

    let mut f = base("x");
    f.push(("client_id", "00000000-0000-0000-0000-000000000bad"));
    let r = env.token_request(&env.tenant, &f).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    aadsts(&r, 700016);

    let mut f = base("x");
    f.push(("client_id", &cid));
    let r = env
        .token_request("11111111-2222-3333-4444-555555555555", &f)
        .await;
    assert_eq!(r.status, 400);
    aadsts(&r, 90002);

    let r = env
        .token_request(
            &env.tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    aadsts(&r, 7000218);

    let r = env
        .token_request(&env.tenant, &[("grant_type", "password"), ("client_id", &cid)])
        .await;
    assert_eq!(r.body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn scopes_must_be_one_real_resource_with_default() {
    let env = Env::new(json!({})).await;
    let secret = env.sim.client_secret().to_owned();
    let cid = env.sim.client_id().to_owned();
    let ask = |scope: String| {
        let (cid, secret, env) = (cid.clone(), secret.clone(), &env);
        async move {
            env.token_request(
                &env.tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &cid),
                    ("client_secret", &secret),
                    ("scope", &scope),
                ],
            )
            .await
        }
    };
    // The simulator's own URL is not a resource, even though it serves Graph.
    let r = ask(format!("{}/.default", env.base)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("invalid_resource"))
    );
    aadsts(&r, 500011);
    let r = ask("https://graph.microsoft.com/User.Read.All".into()).await;
    assert_eq!(r.body["error"], "invalid_scope");
    aadsts(&r, 1002012);
    let r = ask(format!("{GRAPH} {EXO}")).await;
    assert_eq!(r.body["error"], "invalid_scope");
    aadsts(&r, 28000);
}

#[tokio::test]
async fn revoked_consent_gives_65001() {
    let env = Env::new(json!({})).await;
    assert_eq!(
        env.admin_status("DELETE", &format!("/_sim/tenants/{}/consent", env.tenant), None)
            .await,
        204
    );
    let r = env.client_credentials(GRAPH).await;
    assert_eq!((r.status, r.body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(r.body["suberror"], "consent_required");
    aadsts(&r, 65001);
    // Consent again: tokens flow again.
    assert_eq!(
        env.admin_status("POST", &format!("/_sim/tenants/{}/consent", env.tenant), None)
            .await,
        204
    );
    env.token(GRAPH).await;
}

#[tokio::test]
async fn certificate_assertions_are_checked() {
    let env = Env::new(json!({"domains": ["contoso.com"]})).await;
    let cid = env.sim.client_id().to_owned();
    let aud = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        env.tenant
    );
    let form = |a: String| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", cid.clone()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", a),
            ("scope", GRAPH.to_owned()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| {
        let env = &env;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            env.token_request(&env.tenant, &pairs).await
        }
    };
    let r = send(form(assertion(KEY, &cid, &aud))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        claims(r.body["access_token"].as_str().expect("t"))["appidacr"],
        "2"
    );
    // The sim's own token URL is an acceptable audience too (clients use the configured login URL).
    let r = send(form(assertion(
        KEY,
        &cid,
        &format!("{}/{}/oauth2/v2.0/token", env.base, env.tenant),
    )))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(form(assertion(OTHER_KEY, &cid, &aud))).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    aadsts(&r, 700027);
    let r = send(form(assertion(
        KEY,
        &cid,
        "https://login.microsoftonline.com/other/oauth2/v2.0/token",
    )))
    .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn certificate_assertion_without_registered_certificate_fails() {
    let env = Env::with_config(m365_sim::SimConfig::default(), json!({})).await;
    let cid = env.sim.client_id().to_owned();
    let aud = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        env.tenant
    );
    let a = assertion(KEY, &cid, &aud);
    let r = env
        .token_request(
            &env.tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &a),
                ("scope", GRAPH),
            ],
        )
        .await;
    aadsts(&r, 700027);
}

async fn redeem(env: &Env, rt: &str) -> Resp {
    env.token_request(
        &env.tenant,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", env.sim.client_id()),
            ("client_secret", env.sim.client_secret()),
            ("refresh_token", rt),
            ("scope", "https://graph.microsoft.com/.default offline_access"),
        ],
    )
    .await
}

async fn first_rt(env: &Env) -> String {
    let r = env
        .admin(
            "POST",
            &format!("/_sim/tenants/{}/refresh_tokens", env.tenant),
            None,
        )
        .await;
    assert_eq!(r.status, 201);
    r.body["refresh_token"].as_str().expect("rt").to_owned()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_old_ones_are_rejected() {
    let env = Env::new(json!({})).await;
    let rt1 = first_rt(&env).await;
    let r = redeem(&env, &rt1).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rt2 = r.body["refresh_token"].as_str().expect("rt2").to_owned();
    assert_ne!(rt1, rt2);
    let c = claims(r.body["access_token"].as_str().expect("at"));
    assert_eq!(c["idtyp"], "user");
    assert!(c["scp"].as_str().expect("scp").contains("Group.ReadWrite.All"));
    let old = redeem(&env, &rt1).await;
    assert_eq!(
        (old.status, old.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(redeem(&env, &rt2).await.status, 200);
    let r = redeem(&env, "garbage").await;
    aadsts(&r, 9002313);
}

#[tokio::test]
async fn entra_mode_keeps_redeemed_refresh_tokens_valid() {
    let cfg = m365_sim::SimConfig {
        refresh_token_keep_valid: true,
        ..config()
    };
    let env = Env::with_config(cfg, json!({})).await;
    let rt1 = first_rt(&env).await;
    assert_eq!(redeem(&env, &rt1).await.status, 200);
    assert_eq!(redeem(&env, &rt1).await.status, 200);
}

#[tokio::test]
async fn revoked_and_inactive_refresh_tokens_fail() {
    let env = Env::new(json!({})).await;
    let rt = first_rt(&env).await;
    env.admin("DELETE", &format!("/_sim/tenants/{}/consent", env.tenant), None)
        .await;
    let r = redeem(&env, &rt).await;
    aadsts(&r, 50173);
    env.admin("POST", &format!("/_sim/tenants/{}/consent", env.tenant), None)
        .await;
    let rt = first_rt(&env).await;
    env.admin(
        "POST",
        "/_sim/clock",
        Some(json!({"advance_seconds": 91 * 86400})),
    )
    .await;
    let r = redeem(&env, &rt).await;
    aadsts(&r, 700082);
}

/// Permissions revoked with the app kept (`DELETE /_sim/tenants/{id}/grants`): Entra still
/// issues app-only tokens, with the usual claims and no `roles`, and Graph refuses the calls.
#[tokio::test]
async fn revoked_grants_give_tokens_without_roles() {
    let env = Env::new(json!({"users": 1})).await;
    let before = claims(&env.token(GRAPH).await);
    assert!(
        before["roles"].as_array().is_some_and(|r| !r.is_empty()),
        "{before}"
    );
    assert_eq!(
        env.admin_status("DELETE", &format!("/_sim/tenants/{}/grants", env.tenant), None)
            .await,
        204
    );
    let token = env.token(GRAPH).await;
    let after = claims(&token);
    assert!(after.get("roles").is_none(), "{after}");
    let expected = fixture("entra-app-token-without-roles.json");
    for key in expected["claims"].as_object().expect("claims").keys() {
        assert!(after.get(key).is_some(), "claim {key} missing: {after}");
    }
    // Graph's answer to a token with neither `scp` nor `roles`.
    env.graph("GET", "/users", &token, None)
        .await
        .assert_refused(401, "Either scp or roles claim need to be present in the token.");
}
