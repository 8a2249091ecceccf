//! The /_sim admin API: tenants, directory changes, stats, clock.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn tenant_dump_and_directory_patch() {
    let env = Env::new(json!({
        "display_name": "Contoso",
        "domains": ["contoso.com"],
        "users": [{"user_principal_name": "adele@contoso.com", "display_name": "Adele Vance"}, {"user_principal_name": "alex"}],
        "groups": [{"display_name": "Sales", "members": ["adele@contoso.com"]}],
        "ip_allow_list": ["192.0.2.1"],
        "exchange": {"outbound_connectors": [{"Name": "Existing SEG", "SmartHosts": ["seg.example"], "UseMXRecord": false}]},
    }))
    .await;
    let d = env.dump().await;
    assert_eq!(d["user_count"], 2);
    assert_eq!(
        d["groups"][0]["members"][0]["userPrincipalName"],
        "adele@contoso.com"
    );
    assert_eq!(d["exchange"]["ip_allow_list"], json!(["192.0.2.1"]));
    assert_eq!(d["exchange"]["outbound_connectors"][0]["Name"], "Existing SEG");
    assert_eq!(d["consented"], true);
    assert!(d["role_assignments"].as_array().expect("ra").len() == 1);
    assert!(
        d["accepted_domains"]
            .as_array()
            .expect("d")
            .iter()
            .any(|x| x["name"] == "contoso.com")
    );

    let patch = json!({
        "add_users": 3,
        "remove_users": ["alex@contoso.com"],
        "rename_users": [{"user": "adele@contoso.com", "user_principal_name": "adele.v@contoso.com"}],
        "add_domains": ["fabrikam.com"],
        "remove_domains": ["contoso.com"],
    });
    let r = env
        .admin(
            "PATCH",
            &format!("/_sim/tenants/{}/directory", env.tenant),
            Some(patch),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["added_user_ids"].as_array().expect("ids").len(), 3);
    let d = env.dump().await;
    assert_eq!(d["user_count"], 4);
    assert!(
        d["accepted_domains"]
            .as_array()
            .expect("d")
            .iter()
            .all(|x| x["name"] != "contoso.com")
    );
    // The new domain now routes token requests to this tenant.
    env.token_for("fabrikam.com", GRAPH).await;
    let bad = env
        .admin(
            "PATCH",
            &format!("/_sim/tenants/{}/directory", env.tenant),
            Some(json!({"remove_users": ["ghost"]})),
        )
        .await;
    assert_eq!(bad.status, 404);
    assert_eq!(
        env.admin_status("GET", "/_sim/tenants/8a8a8a8a-0000-4000-8000-000000000000", None)
            .await,
        404
    );
    assert_eq!(
        env.admin_status("POST", "/_sim/tenants", Some(json!({"tenant_id": env.tenant})))
            .await,
        409
    );
    assert_eq!(
        env.admin_status("POST", "/_sim/tenants", Some(json!({"bogus": 1})))
            .await,
        400
    );
}

#[tokio::test]
async fn stats_count_requests_and_writes_per_surface() {
    let env = Env::new(json!({})).await;
    let g = env.token(GRAPH).await;
    let x = env.token(EXO).await;
    assert_eq!(env.admin_status("DELETE", "/_sim/stats", None).await, 204);
    env.graph("GET", "/organization", &g, None).await;
    env.graph("POST", "/groups", &g, Some(json!({"displayName": "x"})))
        .await;
    env.exo(&x, "Get-AcceptedDomain", json!({})).await;
    env.exo(
        &x,
        "Set-HostedConnectionFilterPolicy",
        json!({"Identity": "Default", "IPAllowList": ["1.1.1.1"]}),
    )
    .await;
    let s = env.admin("GET", "/_sim/stats", None).await.body;
    let mine = &s["tenants"][&env.tenant];
    assert_eq!(
        mine["graph"],
        json!({"requests": 2, "writes": 1, "round_trips": 2, "untraced": 0})
    );
    assert_eq!(
        mine["exchange"],
        json!({"requests": 2, "writes": 1, "round_trips": 2, "untraced": 0})
    );
    assert!(mine.get("token").is_none());

    // A `$batch` is one round trip: Graph counts its envelope and each sub-request, Exchange
    // each cmdlet.
    env.admin("DELETE", "/_sim/stats", None).await;
    let graph = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/organization"},
        {"id": "2", "method": "GET", "url": "/domains"},
    ]});
    assert_eq!(env.graph("POST", "/$batch", &g, Some(graph)).await.status, 200);
    let invoke = format!("{}/adminapi/beta/{}/InvokeCommand", env.base, env.tenant);
    let cmdlet = |id: &str, name: &str| {
        json!({"id": id, "method": "POST", "url": invoke, "headers": {"Authorization": format!("Bearer {x}")},
            "body": {"CmdletInput": {"CmdletName": name, "Parameters": {}}}})
    };
    let exchange = json!({"requests": [cmdlet("1", "Get-AcceptedDomain"), cmdlet("2", "Get-TransportRule")]});
    let batch = format!("{}/adminapi/beta/{}/$batch", env.base, env.tenant);
    assert_eq!(env.exo_url(&batch, &x, &exchange, None).await.status, 200);
    let s = env.admin("GET", "/_sim/stats", None).await.body;
    let mine = &s["tenants"][&env.tenant];
    assert_eq!(
        mine["graph"],
        json!({"requests": 3, "writes": 0, "round_trips": 1, "untraced": 0})
    );
    assert_eq!(
        mine["exchange"],
        json!({"requests": 2, "writes": 0, "round_trips": 1, "untraced": 0})
    );
    env.admin("DELETE", "/_sim/stats", None).await;
    assert_eq!(
        env.admin("GET", "/_sim/stats", None).await.body["tenants"],
        json!({})
    );
}

#[tokio::test]
async fn clock_moves_forward() {
    let env = Env::new(json!({})).await;
    let r = env
        .admin("POST", "/_sim/clock", Some(json!({"advance_seconds": 3600})))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["offset_seconds"].as_f64().expect("o") >= 3600.0);
    assert_eq!(
        env.admin_status("POST", "/_sim/clock", Some(json!({"advance_seconds": -5})))
            .await,
        400
    );
}

#[tokio::test]
async fn tenant_settings_toggle_the_exchange_role() {
    let env = Env::new(json!({})).await;
    let r = env
        .admin(
            "PATCH",
            &format!("/_sim/tenants/{}", env.tenant),
            Some(json!({"exchange_admin_role": false})),
        )
        .await;
    assert_eq!(r.status, 200);
    let x = env.token(EXO).await;
    assert_eq!(env.exo_status(&x, "Get-AcceptedDomain", json!({})).await, 401);
}

#[tokio::test]
async fn thousands_of_small_tenants_and_a_large_one() {
    let sim = m365_sim::Simulator::start(m365_sim::SimConfig::default())
        .await
        .expect("start");
    for _ in 0..2000 {
        sim.create_tenant(&m365_sim::TenantSpec {
            users: Some(m365_sim::UsersSpec::Count(10)),
            ..Default::default()
        })
        .expect("tenant");
    }
    let big = sim
        .create_tenant(&m365_sim::TenantSpec {
            users: Some(m365_sim::UsersSpec::Count(100_000)),
            ..Default::default()
        })
        .expect("big");
    assert_eq!(sim.state().tenant_ids().len(), 2001);
    assert_eq!(sim.tenant_dump(&big).expect("dump")["user_count"], 100_000);
}

#[tokio::test]
async fn a_request_without_a_client_request_id_is_counted_untraced_and_an_error_echoes_the_id_sent() {
    let env = Env::new(json!({})).await;
    let g = env.token(GRAPH).await;
    assert_eq!(env.admin_status("DELETE", "/_sim/stats", None).await, 204);
    let missing = env.graph("GET", "/users/nobody@nowhere.example", &g, None).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    let sent = missing
        .header("client-request-id")
        .expect("the id sent, answered back");
    let inner = &missing.body["error"]["innerError"];
    assert_eq!(inner["client-request-id"], json!(sent));
    assert_eq!(
        inner["request-id"],
        json!(missing.header("request-id").expect("request-id"))
    );
    let raw = env
        .http
        .get(format!("{}/v1.0/organization", env.base))
        .bearer_auth(&g)
        .send()
        .await
        .expect("send");
    assert!(raw.headers().get("client-request-id").is_none());
    let s = env.admin("GET", "/_sim/stats", None).await.body;
    assert_eq!(
        s["tenants"][&env.tenant]["graph"],
        json!({"requests": 2, "writes": 0, "round_trips": 2, "untraced": 1})
    );
}
