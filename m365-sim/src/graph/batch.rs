//! Graph JSON batching (`POST /v1.0/$batch`): at most 20 requests; each sub-request is counted,
//! faulted and throttled on its own, so a 429 arrives inside a 200 envelope; `dependsOn` on a
//! failed request yields 424.

use std::collections::HashMap;

use m365_sim_model::{catalog::GRAPH_RESOURCE, state::SimState, stats::Surface, token::AccessClaims};
use serde_json::{Map, Value, json};

use super::{GraphReply, GraphRequest, bad_request, error, odata::Query, pipeline};
use crate::auth::{self, AuthError};

/// Graph's documented limit of requests per batch.
pub const MAX_REQUESTS: usize = 20;

/// Runs a batch.
pub async fn run(
    state: &SimState,
    verified: &Result<AccessClaims, AuthError>,
    req: &GraphRequest,
) -> GraphReply {
    let tenant_label = verified.as_ref().map(|c| c.tid.as_str()).unwrap_or("-");
    state.stats.record(tenant_label, Surface::Graph, false);
    let claims = match verified {
        Ok(c) => c,
        Err(e) => return error(401, "InvalidAuthenticationToken", e.graph_message()),
    };
    if let Err(e) = auth::check(state, claims, GRAPH_RESOURCE, None) {
        return error(401, "InvalidAuthenticationToken", e.graph_message());
    }
    let Some(requests) = req
        .body
        .as_ref()
        .and_then(|b| b.get("requests"))
        .and_then(Value::as_array)
    else {
        return bad_request("Invalid batch payload format.");
    };
    if requests.is_empty() {
        return bad_request("Invalid batch payload format.");
    }
    if requests.len() > MAX_REQUESTS {
        return bad_request(format!(
            "The number of requests in a batch exceeds the limit of {MAX_REQUESTS}."
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for r in requests {
        let (Some(id), Some(_), Some(_)) = (
            r.get("id").and_then(Value::as_str),
            r.get("method").and_then(Value::as_str),
            r.get("url").and_then(Value::as_str),
        ) else {
            return bad_request("Invalid batch payload format: every request needs id, method and url.");
        };
        // Graph compares request ids without regard to case.
        if seen.iter().any(|s| s.eq_ignore_ascii_case(id)) {
            return bad_request(format!("Batch request contains duplicate request id '{id}'."));
        }
        if let Some(deps) = r.get("dependsOn").and_then(Value::as_array) {
            for d in deps {
                // Requests are executed in order, so a dependency must come earlier.
                if !d
                    .as_str()
                    .is_some_and(|d| seen.iter().any(|s| s.eq_ignore_ascii_case(d)))
                {
                    return bad_request(format!(
                        "Request '{id}' depends on an unknown or later request id {d}."
                    ));
                }
            }
        }
        seen.push(id);
    }
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::with_capacity(requests.len());
    for r in requests {
        let id = r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let failed_dep = r.get("dependsOn").and_then(Value::as_array).is_some_and(|deps| {
            deps.iter().any(|d| {
                d.as_str()
                    .and_then(|d| statuses.get(d))
                    .is_some_and(|s| *s >= 400)
            })
        });
        let reply = if failed_dep || sub_request(r).is_err() {
            // Requests that never run still count: Graph evaluates each one on its own.
            let write = !r
                .get("method")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case("GET"));
            state.stats.record(tenant_label, Surface::Graph, write);
            match sub_request(r) {
                Err(e) if !failed_dep => e,
                _ => error(
                    424,
                    "FailedDependency",
                    "The request failed because it depends on a request that failed.",
                ),
            }
        } else if failed_dep {
            error(
                424,
                "FailedDependency",
                "The request failed because it depends on a request that failed.",
            )
        } else {
            match sub_request(r) {
                Ok(sub) => pipeline(state, verified, &sub, true).await,
                Err(e) => e,
            }
        };
        statuses.insert(id.clone(), reply.status);
        responses.push(render(&id, reply));
    }
    GraphReply::ok(json!({ "responses": responses }))
}

fn sub_request(r: &Value) -> Result<GraphRequest, GraphReply> {
    let method = r
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
    if url.contains("://") {
        return Err(bad_request(
            "Invalid request URL: batch requests must use URLs relative to the version, such as '/users'.",
        ));
    }
    // The URL is parsed as a URL: an unencoded `#` starts a fragment, which is not sent on.
    let url = url.split('#').next().unwrap_or_default();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = format!("/{}", path.trim_start_matches('/'));
    if path == "/$batch" {
        return Err(bad_request("Nested batch requests are not supported."));
    }
    let body = r.get("body").cloned();
    if body.is_some() {
        let has_ct = r
            .get("headers")
            .and_then(Value::as_object)
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
        if !has_ct {
            return Err(bad_request(
                "Write request id does not contain Content-Type header or body.",
            ));
        }
    }
    Ok(GraphRequest {
        method,
        path,
        query: Query::parse(query),
        body,
    })
}

fn render(id: &str, reply: GraphReply) -> Value {
    let mut headers = Map::new();
    for (k, v) in &reply.headers {
        headers.insert(k.clone(), json!(v));
    }
    if reply.body.is_some() {
        headers.insert("Content-Type".into(), json!("application/json"));
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("status".into(), json!(reply.status));
    m.insert("headers".into(), Value::Object(headers));
    if let Some(b) = reply.body {
        m.insert("body".into(), b);
    }
    Value::Object(m)
}
