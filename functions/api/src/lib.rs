//! `api`: the operator API, JSON over its function URL (payload 2.0, `AuthType: AWS_IAM`, so
//! every request is SigV4-signed by a principal allowed `lambda:InvokeFunctionUrl`).
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /tenants?state=&site=&tag=&attention=&cursor=&limit=` | a page of tenants and the next `cursor` |
//! | `GET /tenants/{id}` | the tenant: state, attention, services, resources, last sync, recent tasks |
//! | `PATCH /tenants/{id}` | `{"display_name"?, "customer_ref"?, "tags"?}` set; the tenant's row |
//! | `POST /tenants/{id}/provision`, `deprovision`, `policy-targets` | the task opened (202), its body the function's request |
//! | `POST /tenants/{id}/verify` | Verify's checklist |
//! | `POST /tenants/{id}/sync` | one sync of the tenant queued (202) |
//! | `POST /tenants/{id}/pause`, `resume` | the tenant's row |
//! | `GET /tasks/{id}` | the task per service and step |
//! | `GET /fleet` | counts by state and site, who needs attention, each site's last run, the last refresh |
//! | `GET /runs/{site}/{date}` | the run's counts and failures |
//! | `POST /sites/{site}/sync` | the site's daily sync now, `{"run_date"?}` (202) |
//! | `POST /consent-links` | `onboard`'s consent link for the same request |
//!
//! An error answers `{"errorType", "errorMessage"}` with the status of its `errorType`.
//!
//! Under `/ui/` the same function serves the operator's web pages (`ui`).

mod route;
pub mod ui;

use std::collections::HashMap;

use aws_lambda_events::{
    http::{HeaderMap, HeaderValue, header},
    lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse},
};
use base64::Engine as _;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::console::{Console, ConsoleError, Started};
use model::event::{self, EventError};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument;

pub use self::route::{Action, DEFAULT_PAGE, Refusal, Route, route};

/// Handles one event: a function URL request, answered as JSON.
pub async fn handler(
    console: &Console,
    event: LambdaEvent<Value>,
) -> Result<LambdaFunctionUrlResponse, Diagnostic> {
    let request: LambdaFunctionUrlRequest = event::from_value(event.payload).map_err(|err| Diagnostic {
        error_type: "InvalidInput".to_owned(),
        error_message: format!("the api answers function URL requests only: {err}"),
    })?;
    let http = &request.request_context.http;
    let method = http.method.clone().unwrap_or_default();
    let path = http
        .path
        .clone()
        .or_else(|| request.raw_path.clone())
        .unwrap_or_else(|| "/".to_owned());
    // A tenant's page or action is that tenant's work: its lines name it.
    let span = tenant_in(&path).map_or_else(tracing::Span::none, lifecycle::span::tenant);
    Ok(respond_to(console, &method, &path, &request)
        .instrument(span)
        .await)
}

/// The tenant a path names (`/tenants/{id}…`, `/ui/tenants/{id}…`), if any.
fn tenant_in(path: &str) -> Option<model::tenant::TenantId> {
    let mut parts = path.split('/').skip_while(|part| *part != "tenants").skip(1);
    parts.next()?.parse().ok()
}

/// The answer to one request, a page or JSON.
async fn respond_to(
    console: &Console,
    method: &str,
    path: &str,
    request: &LambdaFunctionUrlRequest,
) -> LambdaFunctionUrlResponse {
    if ui::is_page(path) {
        let page = ui::answer(console, method, path, request).await;
        tracing::info!(%method, %path, status = page.status, "page");
        return page_response(page);
    }
    match answer(console, method, path, request).await {
        Ok((status, body)) => {
            tracing::info!(%method, %path, status, "answered");
            respond(status, &body)
        }
        Err(Refusal::NotFound) => refused(
            404,
            "NotFound",
            &format!("no route {method} {path}; see the README's operator API"),
        ),
        Err(Refusal::Method(allowed)) => {
            let mut response = refused(405, "MethodNotAllowed", &format!("{path} takes {allowed}"));
            if let Ok(allowed) = HeaderValue::from_str(allowed) {
                response.headers.insert(header::ALLOW, allowed);
            }
            response
        }
        Err(Refusal::Invalid(err)) => {
            let status = status_of(err.error_type());
            if status >= 500 {
                tracing::error!(%method, %path, error = %err, error_type = err.error_type(), "failed");
            } else {
                tracing::warn!(%method, %path, error = %err, error_type = err.error_type(), "refused");
            }
            refused(status, err.error_type(), &err.to_string())
        }
    }
}

/// The HTTP status of an `errorType`.
pub fn status_of(error_type: &str) -> u16 {
    match error_type {
        "InvalidInput" => 400,
        "NotFound" => 404,
        "WrongLifecycleState" | "QuarantineNotAcknowledged" | "NeedsReconsent" => 409,
        "MicrosoftRefused" => 502,
        "Retryable" => 503,
        _ => 500,
    }
}

async fn answer(
    console: &Console,
    method: &str,
    path: &str,
    request: &LambdaFunctionUrlRequest,
) -> Result<(u16, Value), Refusal> {
    let query = query_of(request.raw_query_string.as_deref())?;
    let route = route(method, path, &query)?;
    let body = || body_of(request);
    let answered = match route {
        Route::Tenants {
            filter,
            limit,
            cursor,
        } => ok(console.tenants(&filter, limit, cursor).await?),
        Route::Tenant(id) => ok(console.tenant(id).await?),
        Route::Label(id) => ok(console.label(id, body()?).await?),
        Route::Act(id, Action::Task(action)) => match console.start(action, id, body()?).await? {
            started @ Started::Task(_) => (202, to_json(&started)),
            plan @ Started::Plan(_) => ok(plan),
        },
        Route::Act(id, Action::Verify) => ok(console.verify(id).await?),
        Route::Act(id, Action::Sync) => (202, to_json(&console.sync_tenant(id).await?)),
        Route::Act(id, Action::Pause) => ok(console.pause(id).await?),
        Route::Act(id, Action::Resume) => ok(console.resume(id).await?),
        Route::Task(id) => ok(console.task(id).await?),
        Route::Fleet => ok(console.fleet(Utc::now().date_naive()).await?),
        Route::Run(site, date) => ok(console.run(site, date).await?),
        Route::SyncSite(site) => (202, to_json(&console.sync_site(site, body()?).await?)),
        Route::ConsentLink => ok(console.consent_link(body()?).await?),
    };
    Ok(answered)
}

fn ok(value: impl Serialize) -> (u16, Value) {
    (200, to_json(&value))
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value)
        .unwrap_or_else(|err| json!({"errorType": "Internal", "errorMessage": err.to_string()}))
}

/// The request's JSON body (`null` when empty), decoded and bounded as every event is.
fn body_of(request: &LambdaFunctionUrlRequest) -> Result<Value, ConsoleError> {
    if request.body.as_deref().is_none_or(|b| b.trim().is_empty()) {
        return Ok(Value::Null);
    }
    Ok(event::parse(&raw_body(request)?)?)
}

/// The request's body as bytes, base64 decoded when the function URL marked it so.
pub(crate) fn raw_body(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, ConsoleError> {
    let raw = request.body.as_deref().unwrap_or_default();
    if !request.is_base64_encoded {
        return Ok(raw.as_bytes().to_vec());
    }
    base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| route::invalid(".", "the body is marked base64 but does not decode"))
}

/// The query, decoded; a parameter given twice is refused (which one would count?).
fn query_of(raw: Option<&str>) -> Result<HashMap<String, String>, ConsoleError> {
    let mut query = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned() {
        if query.insert(name.clone(), value).is_some() {
            return Err(ConsoleError::Input(EventError::Invalid {
                field: name,
                reason: "given twice".to_owned(),
            }));
        }
    }
    Ok(query)
}

fn refused(status: u16, error_type: &str, message: &str) -> LambdaFunctionUrlResponse {
    respond(status, &json!({"errorType": error_type, "errorMessage": message}))
}

fn page_response(page: ui::Answer) -> LambdaFunctionUrlResponse {
    let mut response = response(page.status, page.content_type, page.body);
    let headers = &mut response.headers;
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ui::CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(location) = page.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response.cookies = page.cookie.into_iter().collect();
    response
}

fn respond(status: u16, body: &Value) -> LambdaFunctionUrlResponse {
    response(status, "application/json", body.to_string())
}

/// An answer of `content_type`, never cached nor sniffed.
fn response(status: u16, content_type: &'static str, body: String) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(status);
    response.headers = headers;
    response.body = Some(body);
    response
}
