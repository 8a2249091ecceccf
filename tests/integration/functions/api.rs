//! The operator API over its function URL: the fleet listed, filtered and counted from its
//! indexes (never a `Scan`), labels, a provisioning started and watched to its end, pause taking
//! a tenant out of the next daily sync, a run's counts, and every bad request refused naming
//! what it got wrong.

use integration_tests::lab::{Lab, exchange_mx, invoke, provision_request, tenant_id};
use model::{
    service::Service,
    sites::Site,
    tenant::{LifecycleState, TenantId},
};
use serde_json::{Value, json};
use state::store::TenantRecord;

use super::provision::{customer_tenant, request};

/// An HTTP client of the API's base URL.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        (status, response.json().await.expect("JSON"))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Every tenant of a listing, page by page through the cursors it hands out.
    async fn list(&self, query: &str) -> (Vec<Value>, usize) {
        let (mut tenants, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
        loop {
            let mut path = format!("/tenants?limit=7&{query}");
            if let Some(cursor) = &cursor {
                // The cursor holds `#`: sent percent-encoded, as a client must.
                let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
                path.push_str(&format!("&cursor={encoded}"));
            }
            let (status, page) = self.get(&path).await;
            assert_eq!(status, 200, "{path}: {page:#}");
            pages += 1;
            tenants.extend(page["tenants"].as_array().expect("tenants").iter().cloned());
            match page["cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return (tenants, pages),
            }
            assert!(pages <= 10, "{query}: the listing does not end");
        }
    }
}

fn ids(tenants: &[Value]) -> Vec<String> {
    tenants
        .iter()
        .map(|t| t["tenant_id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn an_operator_lists_labels_and_counts_the_fleet_and_no_request_scans() {
    let lab = Lab::start().await;
    let key = format!("api-{}", uuid::Uuid::new_v4().simple());
    let (url, _) = lab.api_url(&key).await;
    let api = Api {
        base: url.base.clone(),
        http: reqwest::Client::new(),
    };
    // 50 tenants in five states and three sites, as the tasks leave them.
    let states = [
        LifecycleState::Active,
        LifecycleState::Active,
        LifecycleState::NeedsReconsent,
        LifecycleState::Failed,
        LifecycleState::Deprovisioned,
    ];
    let sites = [Site::Eu, Site::Us, Site::Jp];
    let mut all = Vec::new();
    for i in 0..50 {
        let mut record = TenantRecord::new(
            tenant_id(),
            sites[i % 3],
            vec![Service::ExchangeOnline],
            states[i % states.len()],
        );
        lab.aws.store.create(&mut record).await.expect("a tenant");
        all.push(record);
    }
    all.sort_by_key(|t| (t.site.code(), t.tenant_id.to_string()));

    // Labels, through the API: a hostile name is kept as text, a bad tag refused naming it.
    let gold: Vec<&TenantRecord> = all.iter().filter(|t| t.site == Site::Us).take(4).collect();
    for tenant in &gold {
        let (status, row) = api
            .call(
                reqwest::Method::PATCH,
                &format!("/tenants/{}", tenant.tenant_id),
                Some(json!({"display_name": "<script>alert(1)</script>", "customer_ref": "C-42", "tags": ["tier:gold"]})),
            )
            .await;
        assert_eq!(status, 200, "{row:#}");
        assert_eq!(row["display_name"], "<script>alert(1)</script>");
        assert_eq!(row["tags"], json!(["tier:gold"]));
    }
    let (status, refused) = api
        .call(
            reqwest::Method::PATCH,
            &format!("/tenants/{}", all[0].tenant_id),
            Some(json!({"tags": ["Not A Tag"]})),
        )
        .await;
    assert_eq!(
        (status, refused["errorType"].as_str()),
        (400, Some("InvalidInput")),
        "{refused:#}"
    );
    assert!(
        refused["errorMessage"]
            .as_str()
            .expect("message")
            .contains("`tags[0]`"),
        "{refused:#}"
    );

    // Each listing pages through exactly its tenants, in site-then-id order.
    let expect = |keep: &dyn Fn(&TenantRecord) -> bool| -> Vec<String> {
        all.iter()
            .filter(|t| keep(t))
            .map(|t| t.tenant_id.to_string())
            .collect()
    };
    for (query, expected) in [
        ("", expect(&|_| true)),
        ("state=active", expect(&|t| t.state == LifecycleState::Active)),
        ("site=jp", expect(&|t| t.site == Site::Jp)),
        (
            "state=failed&site=eu",
            expect(&|t| t.state == LifecycleState::Failed && t.site == Site::Eu),
        ),
        (
            "tag=tier%3Agold",
            gold.iter().map(|t| t.tenant_id.to_string()).collect(),
        ),
        ("attention=true", expect(&|t| t.needs_attention())),
    ] {
        let (listed, pages) = api.list(query).await;
        assert_eq!(ids(&listed), expected, "{query}");
        assert_eq!(pages, expected.len().div_ceil(7).max(1), "{query}");
    }

    // The fleet's counts are what was created.
    let (status, fleet) = api.get("/fleet").await;
    assert_eq!(status, 200, "{fleet:#}");
    assert_eq!(fleet["tenants"], 50, "{fleet:#}");
    for state in LifecycleState::ALL {
        let count = all.iter().filter(|t| t.state == state).count();
        assert_eq!(fleet["by_state"][state.to_string()], count, "{state}: {fleet:#}");
    }
    assert_eq!(fleet["needing_attention"], 20, "{fleet:#}");
    let by_site: std::collections::BTreeMap<String, u64> = fleet["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .filter(|s| s["tenants"] != 0)
        .map(|s| {
            (
                s["site"].as_str().expect("site").to_owned(),
                s["tenants"].as_u64().expect("count"),
            )
        })
        .collect();
    let expected = [("eu", 17), ("jp", 16), ("us", 17)].map(|(s, n)| (s.to_owned(), n));
    assert_eq!(by_site, expected.into_iter().collect(), "{fleet:#}");

    // A tenant's detail; bad paths and queries refused with the field, unknown ones as 404.
    let (status, detail) = api.get(&format!("/tenants/{}", gold[0].tenant_id)).await;
    assert_eq!(status, 200, "{detail:#}");
    assert_eq!(
        (detail["state"].clone(), detail["customer_ref"].clone()),
        (json!(gold[0].state), json!("C-42"))
    );
    for (path, status, field) in [
        ("/tenants?state=asleep", 400, "`state`"),
        ("/tenants?cursor=nonsense", 400, "`cursor`"),
        ("/tenants/not-a-guid", 400, "`tenant_id`"),
        ("/runs/eu/yesterday", 400, "`date`"),
    ] {
        let (got, body) = api.get(path).await;
        assert_eq!(got, status, "{path}: {body:#}");
        assert!(
            body["errorMessage"].as_str().expect("message").contains(field),
            "{path}: {body:#}"
        );
    }
    let (got, body) = api.get(&format!("/tenants/{}", tenant_id())).await;
    assert_eq!(
        (got, body["errorType"].as_str()),
        (404, Some("NotFound")),
        "{body:#}"
    );
    let (got, body) = api.get("/runs/eu/2030-01-01").await;
    assert_eq!(
        (got, body["errorType"].as_str()),
        (404, Some("NotFound")),
        "{body:#}"
    );
    let (got, _) = api.post("/fleet", json!({})).await;
    assert_eq!(got, 405);
    let (got, _) = api.get("/nowhere").await;
    assert_eq!(got, 404);

    // Under the API's own key, moto saw reads and writes by key and Queries, never a Scan.
    let actions = integration_tests::aws::recorded_actions().await;
    let called = actions.get(&key).expect("the API called AWS");
    assert!(called.contains("dynamodb:Query"), "{called:?}");
    assert!(!called.iter().any(|a| a.ends_with(":Scan")), "{called:?}");
}

#[tokio::test]
async fn a_tenant_is_provisioned_watched_paused_and_resumed_through_the_api() {
    let lab = Lab::start().await;
    let (url, _) = lab.api_url("api-lifecycle").await;
    let api = Api {
        base: url.base.clone(),
        http: reqwest::Client::new(),
    };
    let tenant = customer_tenant(&lab);
    let mut body = request(tenant);
    body.as_object_mut().expect("object").remove("tenant_id");
    body["site"] = json!("eu");

    // A body naming another tenant is refused and changes nothing.
    let mut other = body.clone();
    other["tenant_id"] = json!(tenant_id().to_string());
    let (status, refused) = api.post(&format!("/tenants/{tenant}/provision"), other).await;
    assert_eq!(status, 400, "{refused:#}");
    assert!(lab.aws.store.tenant(tenant).await.expect("read").is_none());

    // Started: the task opened and queued for provision, which runs it.
    let (status, started) = api
        .post(&format!("/tenants/{tenant}/provision"), body.clone())
        .await;
    assert_eq!(status, 202, "{started:#}");
    let task_id = started["task_id"].as_str().expect("a task").to_owned();
    assert_eq!(started["status"], "pending", "{started:#}");
    // Asked again, it joins the same task.
    let (_, joined) = api.post(&format!("/tenants/{tenant}/provision"), body).await;
    assert_eq!(joined["task_id"], task_id.as_str());
    let messages = lab.aws.take_messages("PROVISION_QUEUE_URL").await;
    let batch = lab.provision(messages).await.expect("the continuation");
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch:#}");
    let (_, task) = api.get(&format!("/tasks/{task_id}")).await;
    assert_eq!(task["status"], "succeeded", "{task:#}");
    let (_, detail) = api.get(&format!("/tenants/{tenant}")).await;
    assert_eq!(detail["state"], "active", "{detail:#}");
    assert_eq!(
        detail["recent_tasks"][0]["task_id"],
        task_id.as_str(),
        "{detail:#}"
    );
    assert!(
        !detail["managed_resources"]
            .as_array()
            .expect("resources")
            .is_empty()
    );

    // Paused: the next daily sync does not queue it, a sync now is refused, refresh skips it.
    let (status, paused) = api.post(&format!("/tenants/{tenant}/pause"), json!(null)).await;
    assert_eq!(status, 200, "{paused:#}");
    assert!(paused["paused_at"].is_string(), "{paused:#}");
    let (_, again) = api.post(&format!("/tenants/{tenant}/pause"), json!(null)).await;
    assert_eq!(
        again["paused_at"], paused["paused_at"],
        "pausing again changes nothing"
    );
    let (status, run) = api
        .post("/sites/eu/sync", json!({"run_date": "2030-03-01"}))
        .await;
    assert_eq!((status, run["tenants"].clone()), (202, json!(0)), "{run:#}");
    let (status, refused) = api.post(&format!("/tenants/{tenant}/sync"), json!(null)).await;
    assert_eq!(
        (status, refused["errorType"].as_str()),
        (409, Some("WrongLifecycleState")),
        "{refused:#}"
    );
    let report = lab
        .refresher()
        .run(&json!({"force": true}))
        .await
        .expect("refresh");
    assert_eq!(report.tenants, 0, "{report:?}");

    // Resumed: the next run syncs it, and its counts are read through the API.
    let (_, resumed) = api.post(&format!("/tenants/{tenant}/resume"), json!(null)).await;
    assert!(resumed.get("paused_at").is_none(), "{resumed:#}");
    let (status, run) = api
        .post("/sites/eu/sync", json!({"run_date": "2030-03-02"}))
        .await;
    assert_eq!((status, run["tenants"].clone()), (202, json!(1)), "{run:#}");
    let messages = lab.aws.take_messages("SYNC_QUEUE_URL").await;
    let syncer = lab.syncer();
    let answer = invoke(sync_worker::handler, &syncer, messages)
        .await
        .expect("synced");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer:#}");
    let (status, progress) = api.get("/runs/eu/2030-03-02").await;
    assert_eq!(status, 200, "{progress:#}");
    assert_eq!(
        (
            progress["queued"].clone(),
            progress["synced"].clone(),
            progress["failed"].clone()
        ),
        (json!(1), json!(1), json!(0)),
        "{progress:#}"
    );
    assert!(progress["completed_at"].is_string(), "{progress:#}");
    // The run took the site's snapshot by state when it queued, which the fleet's chart draws:
    // the one tenant of the site, active (states without a tenant are left out).
    assert_eq!(progress["run"]["by_state"], json!({"active": 1}), "{progress:#}");
    // One sync now, outside the site's runs.
    let (status, queued) = api.post(&format!("/tenants/{tenant}/sync"), json!(null)).await;
    assert_eq!(status, 202, "{queued:#}");
    assert!(queued["run_id"].as_str().expect("run").starts_with("manual-"));
    let (_, detail) = api.get(&format!("/tenants/{tenant}")).await;
    assert_eq!(detail["sync"]["last_run_id"], "eu-2030-03-02", "{detail:#}");
    lab.assert_no_secret_in_the_table().await;
}

#[tokio::test]
async fn the_fleet_counts_what_its_tasks_did_and_a_run_names_its_failing_tenant() {
    let lab = Lab::start().await;
    let (url, _) = lab.api_url("api-fleet").await;
    let api = Api {
        base: url.base.clone(),
        http: reqwest::Client::new(),
    };
    // Each tenant's provisioning started through the API and run by provision from its queue.
    let provision = |tenant: TenantId, domain: &str| {
        let api = &api;
        let lab = &lab;
        let mut body = provision_request(tenant, &[&format!("alice@{domain}")]);
        body.as_object_mut().expect("object").remove("tenant_id");
        body["site"] = json!("eu");
        async move {
            let (status, started) = api.post(&format!("/tenants/{tenant}/provision"), body).await;
            assert_eq!(status, 202, "{started:#}");
            let batch = lab
                .provision(lab.aws.take_messages("PROVISION_QUEUE_URL").await)
                .await
                .expect("the continuation");
            assert_eq!(batch["batchItemFailures"], json!([]), "{batch:#}");
            let (_, task) = api
                .get(&format!("/tasks/{}", started["task_id"].as_str().expect("task")))
                .await;
            task["status"].as_str().expect("status").to_owned()
        }
    };
    let kept = lab.customer_tenant("kept.example", "198.51.100.81");
    let synced_but_failing = lab.customer_tenant("flaky.example", "198.51.100.82");
    let left = lab.customer_tenant("left.example", "198.51.100.83");
    let broken = lab.customer_tenant("broken.example", "198.51.100.84");
    let unconsented = lab.tenant(json!({"domains": ["unconsented.example"], "consented": false}));
    // Exchange refuses our inbound connector: protection cannot be put in place.
    lab.fault(json!({"tenant": broken.to_string(), "surface": "exchange", "match": "New-InboundConnector", "status": 400}));
    assert_eq!(provision(kept, "kept.example").await, "succeeded");
    assert_eq!(provision(synced_but_failing, "flaky.example").await, "succeeded");
    assert_eq!(provision(left, "left.example").await, "succeeded");
    assert_eq!(provision(broken, "broken.example").await, "failed");
    assert_eq!(provision(unconsented, "unconsented.example").await, "failed");
    let (status, started) = api
        .post(
            &format!("/tenants/{left}/deprovision"),
            json!({"mode": "standard"}),
        )
        .await;
    assert_eq!(status, 202, "{started:#}");
    let batch = lab
        .provision(lab.aws.take_messages("PROVISION_QUEUE_URL").await)
        .await
        .expect("the continuation");
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch:#}");

    // Today's run of the site, with one tenant's Graph failing; the other's mail is routed right.
    lab.dns.set_mx("kept.example", &[&exchange_mx("kept.example")]);
    lab.fault(json!({"tenant": synced_but_failing.to_string(), "surface": "graph", "status": 500}));
    let (status, run) = api.post("/sites/eu/sync", json!(null)).await;
    assert_eq!((status, run["tenants"].clone()), (202, json!(2)), "{run:#}");
    let messages = lab.aws.take_messages("SYNC_QUEUE_URL").await;
    let answer = invoke(sync_worker::handler, &lab.syncer(), messages)
        .await
        .expect("a batch answer");
    assert_eq!(
        answer["batchItemFailures"].as_array().map(Vec::len),
        Some(1),
        "{answer:#}"
    );
    let today = chrono::Utc::now().date_naive();
    let (status, progress) = api.get(&format!("/runs/eu/{today}")).await;
    assert_eq!(status, 200, "{progress:#}");
    let counts =
        |run: &Value| ["queued", "synced", "failed", "skipped"].map(|n| run[n].as_u64().expect("a count"));
    assert_eq!(counts(&progress), [2, 1, 1, 0], "{progress:#}");
    assert!(progress["completed_at"].is_string(), "{progress:#}");
    // The site's snapshot by state, taken when the run queued, which the fleet's chart draws.
    assert_eq!(
        progress["run"]["by_state"],
        json!({"active": 2, "failed": 1, "needs_reconsent": 1, "deprovisioned": 1}),
        "{progress:#}"
    );
    let failures = progress["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{progress:#}");
    assert_eq!(failures[0]["tenant_id"], synced_but_failing.to_string());
    assert!(
        failures[0]["reason"].as_str().is_some_and(|r| r.contains("500")),
        "{progress:#}"
    );

    // The fleet: what the tasks did, and the site's run with its failure.
    let (status, fleet) = api.get("/fleet").await;
    assert_eq!(status, 200, "{fleet:#}");
    assert_eq!(fleet["tenants"], 5, "{fleet:#}");
    let by_state = &fleet["by_state"];
    assert_eq!(
        [
            "active",
            "failed",
            "needs_reconsent",
            "deprovisioned",
            "provisioning"
        ]
        .map(|s| by_state[s].as_u64().expect("a count")),
        [2, 1, 1, 1, 0],
        "{fleet:#}"
    );
    // The failed provisioning, the missing consent and the objects a standard deprovisioning
    // leaves to clean up; a failed sync is the run's to show, and is tried again tomorrow.
    assert_eq!(fleet["needing_attention"], 3, "{fleet:#}");
    let mut named: Vec<&str> = fleet["attention"]
        .as_array()
        .expect("attention")
        .iter()
        .map(|t| t["tenant_id"].as_str().expect("id"))
        .collect();
    named.sort_unstable();
    let mut expected = [broken, unconsented, left].map(|t| t.to_string());
    expected.sort_unstable();
    assert_eq!(named, expected, "{fleet:#}");
    let eu = fleet["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| s["site"] == "eu")
        .expect("the eu site");
    assert_eq!(eu["tenants"], 5, "{fleet:#}");
    assert_eq!(counts(&eu["last_run"]), [2, 1, 1, 0], "{fleet:#}");
    assert_eq!(eu["last_run"]["failures"], progress["failures"]);

    // Each tenant's services where its last task left them: protected, refused by Exchange
    // (while SharePoint's and OneDrive's checks passed), never reached without consent, removed.
    let (status, listed) = api.get("/tenants?site=eu").await;
    assert_eq!(status, 200, "{listed:#}");
    let states_of = |tenant: TenantId| {
        listed["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .find(|t| t["tenant_id"] == tenant.to_string())
            .map(|t| t["service_states"].clone())
            .expect("listed")
    };
    let states = |exchange: &str, others: &str| {
        json!([
            {"service": "exchange_online", "state": exchange},
            {"service": "sharepoint_online", "state": others},
            {"service": "onedrive", "state": others},
        ])
    };
    assert_eq!(
        states_of(kept),
        states("provisioned", "provisioned"),
        "{listed:#}"
    );
    assert_eq!(states_of(broken), states("failed", "provisioned"), "{listed:#}");
    assert_eq!(states_of(unconsented), states("failed", "failed"), "{listed:#}");
    assert_eq!(states_of(left), states("removed", "removed"), "{listed:#}");
}
