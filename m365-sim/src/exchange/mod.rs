//! Exchange Online admin REST: `POST /adminapi/beta/{tenant}/InvokeCommand` and `$batch`.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, State},
    http::HeaderMap,
    response::Response,
};
use m365_sim_model::{
    catalog::{EXCHANGE_ADMIN_ROLE, EXCHANGE_MANAGE_AS_APP, EXCHANGE_RESOURCE, GLOBAL_ADMIN_ROLE},
    exchange::{self, ExoError},
    faults::{FaultHit, Phase},
    state::{SimState, lock},
    stats::Surface,
    token::AccessClaims,
};
use serde_json::{Map, Value, json};

use crate::{
    auth::{self, AuthError},
    fault::strike,
    graph::odata::{self, Query},
    reply,
};

/// Default and maximum page size (`Prefer: odata.maxpagesize=N`).
pub const MAX_PAGE_SIZE: usize = 1000;
/// Sub-requests per Exchange `$batch` (what CIPP sends; stricter than needed is safe).
pub const MAX_BATCH: usize = 10;

fn auth_error(e: &AuthError) -> ExoError {
    let msg = match e {
        AuthError::WrongTenant(_) => "The token was issued for a different tenant.".to_owned(),
        AuthError::WrongAudience(a) => {
            format!("The audience '{a}' of the token is not valid for this resource.")
        }
        other => other.graph_message(),
    };
    ExoError::new(
        401,
        "Microsoft.Exchange.Admin.OData.Core.UnauthorizedException",
        msg,
    )
}

fn fault_error(hit: &FaultHit, status: u16) -> ExoError {
    let mut e = match status {
        429 => ExoError::new(
            429,
            "Microsoft.Exchange.Admin.OData.Core.ThrottlingException",
            "Too many requests. Micro delay applied; retry after the interval in Retry-After.".into(),
        ),
        503 => ExoError::new(
            503,
            "Microsoft.Exchange.Admin.OData.Core.ServiceUnavailableException",
            "The service is temporarily unavailable.".into(),
        ),
        s => ExoError::new(
            s,
            "Microsoft.Exchange.Admin.OData.Core.InternalServerErrorException",
            "An injected fault occurred.".into(),
        ),
    };
    if let Some(ra) = &hit.retry_after {
        e.headers.push(("Retry-After".into(), ra.clone()));
    }
    e
}

/// One InvokeCommand call as received.
struct Call<'a> {
    tenant_key: &'a str,
    query: Query,
    body: Option<Value>,
    page_size: usize,
}

/// Outcome: status, headers, body.
type Outcome = (u16, Vec<(String, String)>, Value);

/// Applies the fault `hit` in `phase`: its delay, then its error answer if it has one.
async fn fault(hit: Option<&FaultHit>, phase: Phase) -> Option<Outcome> {
    let (hit, status) = strike(hit, phase).await?;
    Some(err_outcome(fault_error(hit, status)))
}

fn err_outcome(e: ExoError) -> Outcome {
    (e.status, e.headers.clone(), e.body())
}

/// The tenant's key in stats and faults: its id, or the raw text when it names no tenant.
fn label(state: &SimState, tenant_key: &str) -> String {
    state
        .tenant(tenant_key)
        .map(|t| lock(&t).id.clone())
        .unwrap_or_else(|| tenant_key.to_owned())
}

/// Runs one InvokeCommand through stats, faults, auth, the cmdlet and paging.
async fn execute(state: &SimState, verified: &Result<AccessClaims, AuthError>, call: Call<'_>) -> Outcome {
    let tenant = state.tenant(call.tenant_key);
    let tid = tenant.as_ref().map(|t| lock(t).id.clone());
    let label = tid.clone().unwrap_or_else(|| call.tenant_key.to_owned());
    let input = call.body.as_ref().and_then(|b| b.get("CmdletInput"));
    let cmdlet = input
        .and_then(|i| i.get("CmdletName"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let write = !cmdlet.to_ascii_lowercase().starts_with("get-");
    state.stats.record(&label, Surface::Exchange, write);
    let hit = state.faults.take(&label, Surface::Exchange, &cmdlet);
    if let Some(failed) = fault(hit.as_ref(), Phase::Before).await {
        return failed;
    }
    let out = run_checked(
        state,
        verified,
        tid.as_deref(),
        call.tenant_key,
        &call,
        &cmdlet,
        input,
    );
    // Applied: a delay now is an answer that arrives late, or never (a caller that dies).
    if let Some(failed) = fault(hit.as_ref(), Phase::After).await {
        return failed;
    }
    out
}

fn run_checked(
    state: &SimState,
    verified: &Result<AccessClaims, AuthError>,
    tid: Option<&str>,
    tenant_key: &str,
    call: &Call<'_>,
    cmdlet: &str,
    input: Option<&Value>,
) -> Outcome {
    let claims = match verified {
        Ok(c) => c,
        Err(e) => return err_outcome(auth_error(e)),
    };
    let addressed = tid.unwrap_or(tenant_key);
    if let Err(e) = auth::check(state, claims, EXCHANGE_RESOURCE, Some(addressed)) {
        return err_outcome(auth_error(&e));
    }
    if !claims.has_any(&[EXCHANGE_MANAGE_AS_APP, "Exchange.Manage"]) {
        return err_outcome(ExoError::new(
            401,
            "Microsoft.Exchange.Admin.OData.Core.UnauthorizedException",
            format!("User is not allowed to call {cmdlet}"),
        ));
    }
    // The Entra role travels in the token (`wids`): a token minted before the role assignment
    // keeps failing until the client mints a new one. Over REST a missing role reads as the
    // cmdlet being refused (office-docs-powershell#7970); "isn't assigned to any management
    // roles" is remote PowerShell's wording.
    if !claims
        .wids
        .iter()
        .any(|w| w == EXCHANGE_ADMIN_ROLE || w == GLOBAL_ADMIN_ROLE)
    {
        return err_outcome(ExoError::new(
            401,
            "Microsoft.Exchange.Admin.OData.Core.UnauthorizedException",
            format!("User is not allowed to call {cmdlet}"),
        ));
    }
    let Some(input) = input else {
        return err_outcome(ExoError::new(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "The request body must be {\"CmdletInput\":{\"CmdletName\":...,\"Parameters\":{...}}}.".into(),
        ));
    };
    if cmdlet.is_empty() {
        return err_outcome(ExoError::new(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "CmdletName is required.".into(),
        ));
    }
    let params: Map<String, Value> = match input.get("Parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return err_outcome(ExoError::new(
                400,
                "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "Parameters must be an object.".into(),
            ));
        }
    };
    // Paging: the skip token is bound to the exact request body, which must be re-POSTed as is.
    let fingerprint = {
        let mut h = DefaultHasher::new();
        serde_json::to_string(input).unwrap_or_default().hash(&mut h);
        h.finish()
    };
    let offset = match call.query.get("$skiptoken") {
        None => 0,
        Some(tok) => match odata::decode_token(tok) {
            Some(v) if v["f"] == json!(fingerprint.to_string()) && v["t"] == json!(addressed) => {
                v["o"].as_u64().unwrap_or(0) as usize
            }
            _ => {
                return err_outcome(ExoError::new(
                    400,
                    "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                    "The skip token is invalid for this request. Re-POST the original request body to @odata.nextLink.".into(),
                ));
            }
        },
    };
    let Some(tref) = state.tenant(addressed) else {
        return err_outcome(auth_error(&AuthError::UnknownTenant(addressed.to_owned())));
    };
    let now = state.clock.now();
    let result = {
        let mut t = lock(&tref);
        exchange::run(&mut t, cmdlet, &params, now)
    };
    let records = match result {
        Ok(r) => r,
        Err(e) => return err_outcome(e),
    };
    let select: Option<Vec<String>> = call.query.get("$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    });
    let page: Vec<Value> = records
        .iter()
        .skip(offset)
        .take(call.page_size)
        .map(|r| match (&select, r) {
            (Some(sel), Value::Object(m)) => Value::Object(
                m.iter()
                    .filter(|(k, _)| sel.iter().any(|s| s.eq_ignore_ascii_case(k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => r.clone(),
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("https://outlook.office365.com/adminapi/beta/{addressed}/$metadata#Collection(Exchange.GenericHashTable)"),
        "@adminapi.warnings": [],
        "value": page,
    });
    if offset + call.page_size < records.len() {
        let tok = odata::encode_token(
            &json!({"f": fingerprint.to_string(), "t": addressed, "o": offset + call.page_size}),
        );
        let mut q = Query::default();
        if let Some(s) = call.query.get("$select") {
            q.pairs.push(("$select".into(), s.to_owned()));
        }
        let link = q.link(state.base_url(), "", "$skiptoken", &tok);
        let link = link.replacen(
            "/v1.0/?",
            &format!("/adminapi/beta/{addressed}/InvokeCommand?"),
            1,
        );
        body["@odata.nextLink"] = json!(link);
    }
    (200, Vec::new(), body)
}

fn page_size(prefer: Option<&str>) -> usize {
    prefer
        .and_then(|p| {
            // `odata.maxpagesize=N`, with or without spaces around `=` (CIPP sends them).
            p.split([',', ';']).find_map(|part| {
                let (name, value) = part.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("odata.maxpagesize")
                    .then(|| value.trim().parse().ok())
                    .flatten()
            })
        })
        .map(|n: usize| n.clamp(1, MAX_PAGE_SIZE))
        .unwrap_or(MAX_PAGE_SIZE)
}

/// Handler of `POST /adminapi/beta/{tenant}/InvokeCommand`.
pub async fn invoke(
    State(state): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.stats.round_trip(
        &label(&state, &tenant),
        Surface::Exchange,
        crate::reply::traced(&headers),
    );
    let verified = auth::verify(&state, &headers);
    let body = serde_json::from_slice::<Value>(&body).ok();
    let prefer = headers.get("prefer").and_then(|v| v.to_str().ok());
    let call = Call {
        tenant_key: &tenant,
        query: Query::parse(uri.query().unwrap_or("")),
        body,
        page_size: page_size(prefer),
    };
    let (status, hdrs, body) = execute(&state, &verified, call).await;
    reply::json(status, &body, &hdrs)
}

/// A sub-request's `headers` as HTTP headers (entries that are no valid header are left out).
fn sub_request_headers(r: &Value) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (k, v) in r.get("headers").and_then(Value::as_object).into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            v.as_str().map(axum::http::HeaderValue::from_str),
        ) {
            out.insert(name, value);
        }
    }
    out
}

/// Handler of `POST /adminapi/beta/{tenant}/$batch`.
pub async fn batch(
    State(state): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.stats.round_trip(
        &label(&state, &tenant),
        Surface::Exchange,
        crate::reply::traced(&headers),
    );
    let verified = auth::verify(&state, &headers);
    let requests = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("requests").and_then(Value::as_array).cloned());
    let bad = |msg: &str| {
        let e = ExoError::new(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            msg.to_owned(),
        );
        reply::json(400, &e.body(), &[])
    };
    let Some(requests) = requests else {
        return bad("Invalid batch payload: expected {\"requests\":[...]}.");
    };
    if requests.is_empty() || requests.len() > MAX_BATCH {
        return bad(&format!(
            "A batch must contain between 1 and {MAX_BATCH} requests."
        ));
    }
    let outer_prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // OData batching: without `odata.continue-on-error` the service stops at the first failed
    // request, and the ones after it get no answer.
    let continue_on_error = outer_prefer.as_deref().is_some_and(|p| {
        p.split([',', ';'])
            .any(|part| part.trim().eq_ignore_ascii_case("odata.continue-on-error"))
    });
    let mut responses = Vec::new();
    for r in &requests {
        // Whether sub-requests inherit the outer headers is not documented; production callers
        // (CIPP) give each its own, so the simulator takes the stricter reading: a sub-request is
        // judged by its own token, and one without a token is refused.
        let sub_verified = match &verified {
            Ok(_) => auth::verify(&state, &sub_request_headers(r)),
            Err(outer) => Err(outer.clone()),
        };
        let verified = &sub_verified;
        let id = r
            .get("id")
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            .unwrap_or_default();
        let url = r.get("url").and_then(Value::as_str).unwrap_or_default();
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let (status, hdrs, body) = if !path.ends_with("InvokeCommand") {
            err_outcome(ExoError::new(
                400,
                "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                format!("Unsupported batch url '{url}'."),
            ))
        } else {
            let prefer = r
                .get("headers")
                .and_then(Value::as_object)
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("prefer")))
                .and_then(|(_, v)| v.as_str().map(str::to_owned))
                .or_else(|| outer_prefer.clone());
            let call = Call {
                tenant_key: &tenant,
                query: Query::parse(query),
                body: r.get("body").cloned(),
                page_size: page_size(prefer.as_deref()),
            };
            execute(&state, verified, call).await
        };
        let failed = status >= 400;
        let mut h = Map::new();
        for (k, v) in hdrs {
            h.insert(k, json!(v));
        }
        h.insert("Content-Type".into(), json!("application/json"));
        responses.push(json!({"id": id, "status": status, "headers": h, "body": body}));
        if failed && !continue_on_error {
            break;
        }
    }
    reply::json(200, &json!({"responses": responses}), &[])
}
