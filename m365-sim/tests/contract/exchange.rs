//! Exchange InvokeCommand: cmdlets, rejections, paging, roles in tokens, propagation, $batch.

use serde_json::{Value, json};

use crate::common::*;

fn detail(r: &Resp) -> String {
    r.body["error"]["details"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn connectors(env: &Env, t: &str) {
    let r = env
        .exo(
            t,
            "New-OutboundConnector",
            json!({
                "Name": "TMCAS Inline Outbound Connector for Incoming Message",
                "ConnectorType": "Partner", "SmartHosts": ["x.tmcas.trendmicro.com"], "UseMXRecord": false,
                "IsTransportRuleScoped": true, "TlsSettings": "CertificateValidation", "Enabled": true,
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["value"][0]["Name"],
        "TMCAS Inline Outbound Connector for Incoming Message"
    );
}

#[tokio::test]
async fn connectors_rules_and_their_rejections() {
    let env = Env::new(json!({"domains": ["contoso.com"]})).await;
    let t = env.token(EXO).await;
    connectors(&env, &t).await;
    let dup = env.exo(&t, "New-OutboundConnector", json!({"Name": "tmcas inline outbound connector for incoming message", "SmartHosts": ["y"], "UseMXRecord": false})).await;
    assert_eq!(dup.status, 400);
    assert!(detail(&dup).contains("already exists"), "{}", dup.body);
    assert_shape(&fixture("exchange-error.json"), &dup.body);
    assert!(
        detail(
            &env.exo(
                &t,
                "New-OutboundConnector",
                json!({"Name": "No hosts", "UseMXRecord": false}),
            )
            .await
        )
        .contains("SmartHosts")
    );

    let inbound = env
        .exo(
            &t,
            "New-InboundConnector",
            json!({"Name": "In", "ConnectorType": "Partner", "SenderDomains": ["*"], "RequireTls": true,
            "RestrictDomainsToCertificate": true, "TlsSenderCertificateName": "*.tmcas.trendmicro.com"}),
        )
        .await;
    assert_eq!(inbound.status, 200, "{}", inbound.body);
    assert_eq!(inbound.body["value"][0]["SenderDomains"], json!(["smtp:*;1"]));
    assert_eq!(
        env.exo_status(
            &t,
            "New-InboundConnector",
            json!({"Name": "In2", "SenderDomains": ["*"], "RestrictDomainsToCertificate": true}),
        )
        .await,
        400
    );

    let rule = |name: &str, extra: Value| {
        let mut p = json!({"Name": name, "Enabled": false, "FromScope": "NotInOrganization", "RecipientDomainIs": ["contoso.com"]});
        for (k, v) in extra.as_object().expect("o") {
            p[k] = v.clone();
        }
        p
    };
    let r = env
        .exo(
            &t,
            "New-TransportRule",
            rule(
                "Missing connector",
                json!({"RouteMessageOutboundConnector": "Nope"}),
            ),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(detail(&r).contains("Couldn't find object \"Nope\""), "{}", r.body);
    assert_eq!(
        r.body["error"]["details"][0]["target"],
        "RouteMessageOutboundConnector"
    );
    assert!(
        detail(
            &env.exo(&t, "New-TransportRule", rule("No action", json!({})))
                .await
        )
        .contains("at least one action")
    );
    let ok = env
        .exo(&t, "New-TransportRule", rule("TMCAS Inline Incoming Domain Transport Rule", json!({"RouteMessageOutboundConnector": "TMCAS Inline Outbound Connector for Incoming Message", "StopRuleProcessing": true})))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["value"][0]["State"], "Disabled");
    assert!(
        detail(
            &env.exo(
                &t,
                "New-TransportRule",
                rule(
                    "TMCAS Inline Incoming Domain Transport Rule",
                    json!({"SetSCL": -1}),
                ),
            )
            .await
        )
        .contains("already exists")
    );
    assert!(
        detail(
            &env.exo(
                &t,
                "New-TransportRule",
                rule("Bad priority", json!({"SetSCL": -1, "Priority": 5})),
            )
            .await
        )
        .contains("priority")
    );

    let name = "TMCAS Inline Incoming Domain Transport Rule";
    let r = env
        .exo(
            &t,
            "Set-TransportRule",
            json!({"Identity": name, "Enabled": true}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(detail(&r).contains("A parameter cannot be found that matches parameter name 'Enabled'"));
    for (cmdlet, params, status) in [
        (
            "Set-TransportRule",
            json!({"Identity": name, "RecipientDomainIs": ["contoso.com", "contoso.onmicrosoft.com"]}),
            200,
        ),
        ("Enable-TransportRule", json!({"Identity": name}), 200),
    ] {
        assert_eq!(env.exo_status(&t, cmdlet, params).await, status, "{cmdlet}");
    }
    let got = env.exo(&t, "Get-TransportRule", json!({"Identity": name})).await;
    assert_eq!(got.body["value"][0]["State"], "Enabled");
    assert_eq!(
        got.body["value"][0]["RecipientDomainIs"]
            .as_array()
            .expect("d")
            .len(),
        2
    );
    assert_eq!(
        env.exo_status(&t, "Disable-TransportRule", json!({"Identity": name}))
            .await,
        200
    );
    assert_eq!(
        env.dump().await["exchange"]["transport_rules"][0]["State"],
        "Disabled"
    );

    // A connector in use by a rule can't go first.
    for (cmdlet, params, status) in [
        (
            "Remove-OutboundConnector",
            json!({"Identity": "TMCAS Inline Outbound Connector for Incoming Message"}),
            400,
        ),
        ("Remove-TransportRule", json!({"Identity": name}), 200),
        (
            "Remove-OutboundConnector",
            json!({"Identity": "TMCAS Inline Outbound Connector for Incoming Message"}),
            200,
        ),
    ] {
        assert_eq!(env.exo_status(&t, cmdlet, params).await, status, "{cmdlet}");
    }
    let gone = env.exo(&t, "Get-TransportRule", json!({"Identity": name})).await;
    assert_eq!(gone.status, 404);
    assert!(detail(&gone).contains("ManagementObjectNotFoundException"));
    assert_eq!(env.exo_status(&t, "Get-Nonsense", json!({})).await, 400);
}

#[tokio::test]
async fn ip_allow_list_add_remove_and_replace() {
    let env = Env::new(json!({"ip_allow_list": ["192.0.2.10"]})).await;
    let t = env.token(EXO).await;
    let add = json!({"Identity": "Default", "IPAllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["203.0.113.10", "198.51.100.0/24"]}});
    assert_eq!(
        env.exo_status(&t, "Set-HostedConnectionFilterPolicy", add).await,
        200
    );
    let get = env
        .exo(
            &t,
            "Get-HostedConnectionFilterPolicy",
            json!({"Identity": "Default"}),
        )
        .await;
    assert_eq!(
        get.body["value"][0]["IPAllowList"],
        json!(["192.0.2.10", "203.0.113.10", "198.51.100.0/24"])
    );
    let rm = json!({"Identity": "Default", "IPAllowList": {"@odata.type": "#Exchange.GenericHashTable", "Remove": ["203.0.113.10"]}});
    assert_eq!(
        env.exo_status(&t, "Set-HostedConnectionFilterPolicy", rm).await,
        200
    );
    assert_eq!(
        env.dump().await["exchange"]["ip_allow_list"],
        json!(["192.0.2.10", "198.51.100.0/24"])
    );
    for bad in [json!(["2001:db8::1"]), json!(["10.0.0.0/8"])] {
        let r = env.exo(&t, "Set-HostedConnectionFilterPolicy", json!({"Identity": "Default", "IPAllowList": {"@odata.type": "#Exchange.GenericHashTable", "Add": bad}})).await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    for (cmdlet, params, status) in [
        (
            "Set-HostedConnectionFilterPolicy",
            json!({"Identity": "Default", "IPAllowList": {"Add": ["1.2.3.4"]}}),
            400,
        ),
        (
            "Set-HostedConnectionFilterPolicy",
            json!({"Identity": "Default", "IPAllowList": ["1.2.3.4"]}),
            200,
        ),
    ] {
        assert_eq!(env.exo_status(&t, cmdlet, params).await, status, "{cmdlet}");
    }
    assert_eq!(env.dump().await["exchange"]["ip_allow_list"], json!(["1.2.3.4"]));
    assert_eq!(
        env.exo_status(
            &t,
            "Get-HostedConnectionFilterPolicy",
            json!({"Identity": "Other"})
        )
        .await,
        404
    );
}

#[tokio::test]
async fn spoof_items_have_guids_and_are_removed_by_ids() {
    let env = Env::new(json!({})).await;
    let t = env.token(EXO).await;
    let p = json!({"Identity": "Default", "Action": "Allow", "SpoofedUser": "contoso.com", "SendingInfrastructure": "tmcas.trendmicro.com", "SpoofType": "External"});
    let r = env.exo(&t, "New-TenantAllowBlockListSpoofItems", p.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["value"][0]["Identity"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(
        env.exo_status(&t, "New-TenantAllowBlockListSpoofItems", p).await,
        400
    );
    let list = env.exo(&t, "Get-TenantAllowBlockListSpoofItems", json!({})).await;
    assert_eq!(list.body["value"].as_array().expect("v").len(), 1);
    for (cmdlet, params, status) in [
        (
            "Remove-TenantAllowBlockListSpoofItems",
            json!({"Identity": "Default", "Ids": [id.clone()]}),
            200,
        ),
        (
            "Remove-TenantAllowBlockListSpoofItems",
            json!({"Identity": "Default", "Ids": [id]}),
            404,
        ),
    ] {
        assert_eq!(env.exo_status(&t, cmdlet, params).await, status, "{cmdlet}");
    }
}

/// With Microsoft's documented activation time as its lag, a new spoof entry is listed only
/// after it, and then for good (spoofed-sender entries never expire).
#[tokio::test]
async fn a_new_spoof_entry_is_listed_after_its_activation_and_kept() {
    let doc = fixture("exchange-spoof-entry-activation.json");
    let active_within = doc["active_within_seconds"].as_u64().expect("seconds");
    assert_eq!(doc["spoof_entries_expire"], json!(false));
    let env = Env::new(json!({"replication_lag_seconds": active_within})).await;
    let t = env.token(EXO).await;
    let p = json!({"Identity": "Default", "Action": "Allow", "SpoofedUser": "contoso.com", "SendingInfrastructure": "tmcas.trendmicro.com", "SpoofType": "External"});
    let r = env.exo(&t, "New-TenantAllowBlockListSpoofItems", p).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let env = &env;
    let listed = |t: String| async move {
        let list = env
            .exo(
                &t,
                "Get-TenantAllowBlockListSpoofItems",
                json!({"Identity": "Default"}),
            )
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["value"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(listed(t.clone()).await, 0, "not listed at once");
    env.sim.advance_clock(active_within as f64 - 10.0);
    assert_eq!(
        listed(t.clone()).await,
        0,
        "not listed before its activation time"
    );
    env.sim.advance_clock(11.0);
    assert_eq!(listed(t).await, 1, "listed once active");
    env.sim.advance_clock(90.0 * 86_400.0);
    // The token of 90 days ago has long expired.
    let t = env.token(EXO).await;
    assert_eq!(listed(t).await, 1, "never expires");
}

#[tokio::test]
async fn list_paging_reposts_the_same_body() {
    let env = Env::new(json!({"domains": ["a.com", "b.com", "c.com", "d.com"]})).await;
    let t = env.token(EXO).await;
    let url = format!("{}/adminapi/beta/{}/InvokeCommand", env.base, env.tenant);
    let body = json!({"CmdletInput": {"CmdletName": "Get-AcceptedDomain", "Parameters": {}}});
    let p1 = env.exo_url(&url, &t, &body, Some("odata.maxpagesize=2")).await;
    assert_eq!(p1.body["value"].as_array().expect("v").len(), 2);
    let next = p1.body["@odata.nextLink"].as_str().expect("next").to_owned();
    assert!(next.contains("/InvokeCommand?$skiptoken="));
    let p2 = env.exo_url(&next, &t, &body, Some("odata.maxpagesize=2")).await;
    assert_eq!(p2.body["value"].as_array().expect("v").len(), 2);
    let p3 = env
        .exo_url(
            p2.body["@odata.nextLink"].as_str().expect("n"),
            &t,
            &body,
            Some("odata.maxpagesize=2"),
        )
        .await;
    assert_eq!(p3.body["value"].as_array().expect("v").len(), 1);
    assert!(p3.body.get("@odata.nextLink").is_none());
    let other = json!({"CmdletInput": {"CmdletName": "Get-InboundConnector", "Parameters": {}}});
    assert_eq!(env.exo_url(&next, &t, &other, None).await.status, 400);
}

#[tokio::test]
async fn exchange_role_travels_in_the_token() {
    let env = Env::new(json!({"exchange_admin_role": false, "app_roles": writing_roles_and_apps()})).await;
    let before = env.token(EXO).await;
    let r = env.exo(&before, "Get-AcceptedDomain", json!({})).await;
    r.assert_refused(401, "User is not allowed to call Get-AcceptedDomain");
    let g = env.token(GRAPH).await;
    let sp = env.app_service_principal(&g).await;
    let spid = sp.body["id"].as_str().expect("id");
    assert_eq!(env.assign_exchange_admin(&g, spid).await.status, 201);
    // The old token still lacks the role.
    assert_eq!(
        env.exo_status(&before, "Get-AcceptedDomain", json!({})).await,
        401
    );
    let after = env.token(EXO).await;
    assert_eq!(env.exo_status(&after, "Get-AcceptedDomain", json!({})).await, 200);
}

#[tokio::test]
async fn exchange_token_checks() {
    let env = Env::new(json!({})).await;
    let other = env.admin("POST", "/_sim/tenants", Some(json!({}))).await.body["tenant_id"]
        .as_str()
        .expect("t")
        .to_owned();
    let t = env.token(EXO).await;
    let url = format!("{}/adminapi/beta/{other}/InvokeCommand", env.base);
    let body = json!({"CmdletInput": {"CmdletName": "Get-AcceptedDomain"}});
    assert_eq!(
        env.exo_url(&url, &t, &body, None).await.status,
        401,
        "token of another tenant"
    );
    let g = env.token(GRAPH).await;
    let r = env.exo(&g, "Get-AcceptedDomain", json!({})).await;
    assert_eq!(r.status, 401, "graph audience");
    env.sim.advance_clock(2.0 * 3600.0);
    assert_eq!(
        env.exo_status(&t, "Get-AcceptedDomain", json!({})).await,
        401,
        "expired"
    );
}

#[tokio::test]
async fn new_groups_reach_exchange_after_propagation() {
    let env = Env::new(json!({"users": 3, "group_propagation_seconds": 600})).await;
    let g = env.token(GRAPH).await;
    let x = env.token(EXO).await;
    let body = json!({"displayName": "TMCAS Inline Incoming O365 Virtual Group", "mailNickname": "tmcas-in", "mailEnabled": true, "securityEnabled": false, "groupTypes": ["Unified"]});
    assert_eq!(env.graph("POST", "/groups", &g, Some(body)).await.status, 201);
    assert_eq!(
        env.exo_status(&x, "Get-UnifiedGroup", json!({"Identity": "tmcas-in"}))
            .await,
        404
    );
    connectors(&env, &x).await;
    let rule = json!({"Name": "User rule", "SentToMemberOf": ["tmcas-in"], "RouteMessageOutboundConnector": "TMCAS Inline Outbound Connector for Incoming Message"});
    assert_eq!(
        env.exo_status(&x, "New-TransportRule", rule.clone()).await,
        400,
        "group not visible yet"
    );
    env.sim.advance_clock(601.0);
    let x = env.token(EXO).await;
    let r = env
        .exo(&x, "Get-UnifiedGroup", json!({"Identity": "tmcas-in"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["value"][0]["Alias"], "tmcas-in");
    assert_eq!(env.exo_status(&x, "New-TransportRule", rule).await, 200);
}

#[tokio::test]
async fn exchange_batch() {
    let env = Env::new(json!({})).await;
    let t = env.token(EXO).await;
    let req = |id: &str, cmd: &str| json!({"id": id, "method": "POST", "url": format!("{}/adminapi/beta/{}/InvokeCommand", env.base, env.tenant), "body": {"CmdletInput": {"CmdletName": cmd, "Parameters": {}}}, "headers": {"Authorization": format!("Bearer {t}")}});
    let body = json!({"requests": [req("1", "Get-AcceptedDomain"), req("2", "Get-TransportRule"), req("3", "Remove-TransportRule")]});
    let r = env
        .exo_url(
            &format!("{}/adminapi/beta/{}/$batch", env.base, env.tenant),
            &t,
            &body,
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let res = r.body["responses"].as_array().expect("r");
    assert_eq!(
        (
            res[0]["status"].as_u64(),
            res[1]["status"].as_u64(),
            res[2]["status"].as_u64()
        ),
        (Some(200), Some(200), Some(400))
    );
    let many: Vec<_> = (0..11)
        .map(|i| req(&i.to_string(), "Get-AcceptedDomain"))
        .collect();
    let r = env
        .exo_url(
            &format!("{}/adminapi/beta/{}/$batch", env.base, env.tenant),
            &t,
            &json!({"requests": many}),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
}

/// OData batching: without `odata.continue-on-error` the batch stops at the first failure (CIPP's
/// `New-ExoBulkRequest` sends the preference); a sub-request is judged by its own
/// `Authorization`, which CIPP copies into each, and refused without one.
#[tokio::test]
async fn exchange_batch_stops_at_a_failure_unless_told_to_go_on() {
    let env = Env::new(json!({})).await;
    let t = env.token(EXO).await;
    let url = format!("{}/adminapi/beta/{}/$batch", env.base, env.tenant);
    let req = |id: &str, cmd: &str, headers: Value| json!({"id": id, "method": "POST", "url": format!("{}/adminapi/beta/{}/InvokeCommand", env.base, env.tenant), "body": {"CmdletInput": {"CmdletName": cmd, "Parameters": {}}}, "headers": headers});
    let own = json!({"Authorization": format!("Bearer {t}")});
    let body = json!({"requests": [req("1", "Remove-TransportRule", own.clone()), req("2", "Get-AcceptedDomain", own.clone())]});
    let stopped = env.exo_url(&url, &t, &body, Some("odata.maxpagesize=1000")).await;
    let answered: Vec<&str> = stopped.body["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(answered, vec!["1"], "stopped at the failure: {}", stopped.body);
    let went_on = env
        .exo_url(
            &url,
            &t,
            &body,
            Some("odata.maxpagesize=1000;odata.continue-on-error"),
        )
        .await;
    assert_eq!(
        went_on.body["responses"].as_array().map(Vec::len),
        Some(2),
        "{}",
        went_on.body
    );

    let foreign = Env::new(json!({})).await.token(EXO).await;
    let body = json!({"requests": [
        req("1", "Get-AcceptedDomain", own),
        req("2", "Get-AcceptedDomain", json!({"Authorization": format!("Bearer {foreign}")})),
        req("3", "Get-AcceptedDomain", json!({}))
    ]});
    let r = env
        .exo_url(&url, &t, &body, Some("odata.continue-on-error"))
        .await;
    let statuses: Vec<u64> = r.body["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(
        statuses,
        vec![200, 401, 401],
        "a foreign token and none are refused: {}",
        r.body
    );
}

/// The batch exactly as a production caller (CIPP's `New-ExoBulkRequest`) sends it is answered
/// sub-request by sub-request, a failure not stopping the rest.
#[tokio::test]
async fn exchange_batch_as_cipp_sends_it() {
    let env = Env::new(json!({})).await;
    let t = env.token(EXO).await;
    let case = fixture("exchange-batch-request.json");
    let fill = |v: &Value| {
        v.as_str()
            .unwrap_or_default()
            .replace("{token}", &t)
            .replace("{tenant}", &env.tenant)
    };
    let sub_headers: serde_json::Map<String, Value> = case["sub_request_headers"]
        .as_object()
        .expect("headers")
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(fill(v))))
        .collect();
    let requests: Vec<Value> = case["cmdlets"]
        .as_array()
        .expect("cmdlets")
        .iter()
        .map(|cmd| {
            let mut headers = sub_headers.clone();
            headers.insert("X-CmdletName".into(), cmd["CmdletInput"]["CmdletName"].clone());
            json!({"id": uuid::Uuid::new_v4().to_string(), "method": "POST",
                "url": format!("{}/adminapi/beta/{}/InvokeCommand", env.base, env.tenant),
                "body": cmd, "headers": headers})
        })
        .collect();
    let mut call = env
        .http
        .post(format!("{}/adminapi/beta/{}/$batch", env.base, env.tenant))
        .bearer_auth(&t)
        .json(&json!({"requests": requests}));
    for (k, v) in case["outer_headers"].as_object().expect("outer") {
        call = call.header(k, fill(v));
    }
    let answer: Value = call.send().await.expect("send").json().await.expect("json");
    let statuses: Vec<Value> = answer["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(json!(statuses), case["expected_statuses"], "{answer}");
    assert!(
        answer["responses"][1]["body"].get("@adminapi.warnings").is_some(),
        "{answer}"
    );
}

/// The calls the product's provisioning, drift repair and deprovisioning send, in their shapes:
/// every one binds against the reference's tables and succeeds.
#[tokio::test]
async fn the_products_calls_bind() {
    let env = Env::new(json!({"domains": ["contoso.com"], "groups": [{"display_name": "Incoming", "mail_nickname": "incoming"}, {"display_name": "Outgoing", "mail_nickname": "outgoing"}]})).await;
    let t = env.token(EXO).await;
    let (out, partner, onprem) = ("Vendor Outbound", "Vendor Inbound", "Vendor OnPremises");
    let hash = |add: Value, remove: Value| json!({"@odata.type": "#Exchange.GenericHashTable", "Add": add, "Remove": remove});
    let calls = [
        (
            "New-OutboundConnector",
            json!({"Name": out, "ConnectorType": "Partner", "SmartHosts": ["relay.vendor.example"], "UseMXRecord": false, "IsTransportRuleScoped": true, "TlsSettings": "DomainValidation", "TlsDomain": "relay.vendor.example", "Enabled": true, "Comment": "managed"}),
        ),
        (
            "New-InboundConnector",
            json!({"Name": partner, "ConnectorType": "Partner", "SenderDomains": ["*"], "RequireTls": true, "TlsSenderCertificateName": "*.vendor.example", "RestrictDomainsToCertificate": true, "Enabled": true, "Comment": "managed"}),
        ),
        (
            "New-InboundConnector",
            json!({"Name": onprem, "ConnectorType": "OnPremises", "SenderDomains": ["*"], "RequireTls": true, "SenderIPAddresses": ["192.0.2.10"], "Enabled": true, "Comment": "managed"}),
        ),
        (
            "Set-OutboundConnector",
            json!({"Identity": out, "SmartHosts": ["relay2.vendor.example"], "TlsDomain": "relay2.vendor.example", "Enabled": true}),
        ),
        (
            "Set-InboundConnector",
            json!({"Identity": onprem, "SenderIPAddresses": ["192.0.2.11"]}),
        ),
        (
            "New-TransportRule",
            json!({"Name": "Domain", "Enabled": false, "Comments": "managed", "Mode": "Enforce", "RouteMessageOutboundConnector": out, "ExceptIfSenderIpRanges": ["192.0.2.11"], "StopRuleProcessing": true, "FromScope": "NotInOrganization", "RecipientDomainIs": ["contoso.com"], "Priority": 0}),
        ),
        (
            "New-TransportRule",
            json!({"Name": "User", "Enabled": false, "Mode": "Enforce", "RouteMessageOutboundConnector": out, "FromScope": "NotInOrganization", "SentToMemberOf": ["incoming@contoso.com"]}),
        ),
        (
            "New-TransportRule",
            json!({"Name": "Outgoing", "Enabled": false, "RouteMessageOutboundConnector": out, "FromScope": "InOrganization", "SentToScope": "NotInOrganization", "SenderDomainIs": ["contoso.com"]}),
        ),
        (
            "New-TransportRule",
            json!({"Name": "Outgoing user", "Enabled": false, "RouteMessageOutboundConnector": out, "SentToScope": "NotInOrganization", "FromMemberOf": ["outgoing"]}),
        ),
        (
            "New-TransportRule",
            json!({"Name": "Skip spam", "Enabled": false, "SenderIpRanges": ["192.0.2.11"], "SetSCL": "-1"}),
        ),
        (
            "New-TransportRule",
            json!({"Name": "Junk", "Enabled": false, "HeaderMatchesMessageHeader": "X-Verdict", "HeaderMatchesPatterns": ["junk"], "SetSCL": "6"}),
        ),
        (
            "Set-TransportRule",
            json!({"Identity": "Domain", "RecipientDomainIs": ["contoso.com", "fabrikam.com"]}),
        ),
        (
            "Set-TransportRule",
            json!({"Identity": "Skip spam", "SenderIpRanges": ["192.0.2.12"]}),
        ),
        (
            "Set-TransportRule",
            json!({"Identity": "Domain", "ExceptIfSenderIpRanges": ["192.0.2.12"]}),
        ),
        ("Enable-TransportRule", json!({"Identity": "Domain"})),
        (
            "New-TenantAllowBlockListSpoofItems",
            json!({"Identity": "Default", "Action": "Allow", "SpoofedUser": "contoso.com", "SendingInfrastructure": "vendor.example", "SpoofType": "External"}),
        ),
        (
            "Get-TenantAllowBlockListSpoofItems",
            json!({"Identity": "Default"}),
        ),
        ("Get-HostedConnectionFilterPolicy", json!({"Identity": "Default"})),
        (
            "Set-HostedConnectionFilterPolicy",
            json!({"Identity": "Default", "IPAllowList": hash(json!(["192.0.2.11"]), json!(["192.0.2.10"]))}),
        ),
        ("Get-AcceptedDomain", json!({})),
        ("Get-UnifiedGroup", json!({"Identity": "incoming"})),
        ("Get-InboundConnector", json!({})),
        ("Get-OutboundConnector", json!({"Identity": out})),
        ("Get-TransportRule", json!({"Identity": "Domain"})),
        ("Get-TransportRule", json!({})),
        (
            "Remove-TransportRule",
            json!({"Identity": "Domain", "Confirm": false}),
        ),
        ("Remove-TransportRule", json!({"Identity": "User"})),
        (
            "Remove-TransportRule",
            json!({"Identity": "Outgoing", "Confirm": false}),
        ),
        (
            "Remove-TransportRule",
            json!({"Identity": "Outgoing user", "Confirm": false}),
        ),
        (
            "Remove-OutboundConnector",
            json!({"Identity": out, "Confirm": false}),
        ),
        ("Remove-InboundConnector", json!({"Identity": partner})),
        (
            "Remove-InboundConnector",
            json!({"Identity": onprem, "Confirm": false}),
        ),
    ];
    for (cmdlet, params) in calls {
        let r = env.exo(&t, cmdlet, params).await;
        assert_eq!(r.status, 200, "{cmdlet}: {}", r.body);
        assert_eq!(r.body["@adminapi.warnings"], json!([]), "{cmdlet}");
    }
    let spoof = env
        .exo(
            &t,
            "Get-TenantAllowBlockListSpoofItems",
            json!({"Identity": "Default"}),
        )
        .await;
    let id = spoof.strings("Identity");
    let r = env
        .exo(
            &t,
            "Remove-TenantAllowBlockListSpoofItems",
            json!({"Identity": "Default", "Ids": id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
