//! Graph JSON batching.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn batch_runs_sub_requests_and_throttles_them_individually() {
    let env = Env::new(json!({"users": 5})).await;
    let t = env.token(GRAPH).await;
    let too_many: Vec<_> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    let r = env
        .graph("POST", "/$batch", &t, Some(json!({"requests": too_many})))
        .await;
    assert_eq!(r.status, 400);
    // json-batching: request ids are compared without regard to case.
    let same = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users"},
        {"id": "A", "method": "GET", "url": "/users"}
    ]});
    let r = env.graph("POST", "/$batch", &t, Some(same)).await;
    r.assert_refused(400, "duplicate request id");

    // One throttled sub-request: 429 inside a 200 envelope, with its own Retry-After.
    env.sim
        .add_fault(
            serde_json::from_value(json!({"surface": "graph", "status": 429, "retry_after": 7, "count": 1}))
                .expect("f"),
        )
        .expect("add");
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users?$top=2"},
        {"id": "2", "method": "GET", "url": "users?$select=id"},
        {"id": "3", "method": "GET", "url": "/groups/0c0ffee0-0000-4000-8000-000000000000"},
        {"id": "4", "method": "GET", "url": "/organization", "dependsOn": ["3"]},
        {"id": "5", "method": "POST", "url": "/groups", "body": {"displayName": "x"}},
    ]});
    let r = env.graph("POST", "/$batch", &t, Some(body)).await;
    assert_eq!(r.status, 200);
    assert_shape(&fixture("graph-batch-response.json"), &r.body);
    let res = r.body["responses"].as_array().expect("responses");
    assert_eq!(res[0]["status"], 429);
    assert_eq!(res[0]["headers"]["Retry-After"], "7");
    assert_eq!(res[0]["body"]["error"]["code"], "TooManyRequests");
    assert_eq!(res[1]["status"], 200);
    assert_eq!(res[2]["status"], 404);
    assert_eq!(res[3]["status"], 424);
    assert_eq!(res[4]["status"], 400, "a body without Content-Type is refused");
    // Each sub-request counts as a request of its own, plus the envelope; a refused batch once.
    let stats = env.sim.stats();
    assert_eq!(stats["tenants"][&env.tenant]["graph"]["requests"], 1 + 1 + 1 + 5);
}
