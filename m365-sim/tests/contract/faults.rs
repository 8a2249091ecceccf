//! Injected faults on every surface: 429 (integer and decimal Retry-After), 503, latency,
//! counts, tenant and surface scoping, and the `after` phase (applied, then lost).

use std::time::Instant;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn graph_throttling_with_decimal_retry_after_then_recovery() {
    let env = Env::new(json!({"users": 2})).await;
    let t = env.token(GRAPH).await;
    let r = env.admin("POST", "/_sim/faults", Some(json!({"tenant": env.tenant, "surface": "graph", "status": 429, "retry_after": 1.5, "count": 2}))).await;
    assert_eq!(r.status, 201);
    for _ in 0..2 {
        let r = env.graph("GET", "/users", &t, None).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after").as_deref(), Some("1.5"));
        assert_shape(&fixture("graph-throttled.json"), &r.body);
    }
    assert_eq!(env.graph("GET", "/users", &t, None).await.status, 200);
}

#[tokio::test]
async fn faults_are_scoped_by_tenant_and_surface() {
    let env = Env::new(json!({})).await;
    let other = env.admin("POST", "/_sim/tenants", Some(json!({}))).await.body["tenant_id"]
        .as_str()
        .expect("t")
        .to_owned();
    env.admin(
        "POST",
        "/_sim/faults",
        Some(json!({"tenant": other, "surface": "exchange", "status": 503})),
    )
    .await;
    let t = env.token(EXO).await;
    assert_eq!(
        env.exo_status(&t, "Get-AcceptedDomain", json!({})).await,
        200,
        "other tenant's fault"
    );
    let t2 = env.token_for(&other, EXO).await;
    let url = format!("{}/adminapi/beta/{other}/InvokeCommand", env.base);
    let body = json!({"CmdletInput": {"CmdletName": "Get-AcceptedDomain"}});
    let r = env.exo_url(&url, &t2, &body, None).await;
    assert_eq!(r.status, 503);
    assert_shape(&fixture("exchange-error.json"), &r.body);
    let g = env.token_for(&other, GRAPH).await;
    assert_eq!(
        env.graph("GET", "/organization", &g, None).await.status,
        200,
        "graph unaffected"
    );
    let listed = env.admin("GET", "/_sim/faults", None).await;
    assert_eq!(listed.body["faults"].as_array().expect("f").len(), 1);
    assert_eq!(env.admin_status("DELETE", "/_sim/faults", None).await, 204);
    assert_eq!(env.exo_url(&url, &t2, &body, None).await.status, 200);
}

#[tokio::test]
async fn token_endpoint_throttling_defaults_to_60_seconds() {
    let env = Env::new(json!({})).await;
    env.admin(
        "POST",
        "/_sim/faults",
        Some(json!({"surface": "token", "status": 429, "count": 1})),
    )
    .await;
    let r = env.client_credentials(GRAPH).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    assert!(
        r.body["error_description"]
            .as_str()
            .expect("d")
            .starts_with("AADSTS")
    );
    env.token(GRAPH).await;
}

#[tokio::test]
async fn latency_and_503() {
    let env = Env::new(json!({})).await;
    let t = env.token(GRAPH).await;
    env.admin(
        "POST",
        "/_sim/faults",
        Some(json!({"surface": "graph", "latency_ms": 250, "count": 1})),
    )
    .await;
    let start = Instant::now();
    assert_eq!(env.graph("GET", "/organization", &t, None).await.status, 200);
    assert!(start.elapsed().as_millis() >= 250);
    env.admin(
        "POST",
        "/_sim/faults",
        Some(json!({"surface": "*", "status": 503, "count": 1})),
    )
    .await;
    let r = env.graph("GET", "/organization", &t, None).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (503, Some("serviceNotAvailable"))
    );
    let bad = env
        .admin(
            "POST",
            "/_sim/faults",
            Some(json!({"surface": "smtp", "status": 503})),
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn after_phase_applies_the_change_then_loses_the_response() {
    let env = Env::new(json!({})).await;
    let g = env.token(GRAPH).await;
    let x = env.token(EXO).await;
    env.admin(
        "POST",
        "/_sim/faults",
        Some(
            json!({"surface": "graph", "status": 503, "phase": "after", "count": 1, "match": "POST /groups"}),
        ),
    )
    .await;
    let body = json!({"displayName": "G", "mailNickname": "g1", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]});
    let r = env.graph("POST", "/groups", &g, Some(body.clone())).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        env.dump().await["groups"].as_array().expect("g").len(),
        1,
        "the group was created anyway"
    );
    let retry = env.graph("POST", "/groups", &g, Some(body)).await;
    assert_eq!(retry.status, 400, "a blind retry now conflicts");

    env.admin("POST", "/_sim/faults", Some(json!({"surface": "exchange", "status": 429, "retry_after": "2.5", "phase": "after", "count": 1, "match": "New-TenantAllowBlockListSpoofItems"}))).await;
    let p = json!({"Identity": "Default", "Action": "Allow", "SpoofedUser": "*", "SendingInfrastructure": "vendor.example", "SpoofType": "External"});
    let r = env.exo(&x, "New-TenantAllowBlockListSpoofItems", p).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after").as_deref(), Some("2.5"));
    assert_eq!(
        env.dump().await["exchange"]["spoof_items"]
            .as_array()
            .expect("s")
            .len(),
        1
    );
}
