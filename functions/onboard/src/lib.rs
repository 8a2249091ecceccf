//! `onboard`: a tenant's admin consent, and Verify.
//!
//! Direct invoke: `{"tenant": "<GUID or domain>", "site", "services"?, "policy_targets"?,
//! "options"?, "cloud"?, "provision": true|false}` -> `{"tenant_id", "consent_url", "expires_at"}`;
//! `{"verify": "<tenant_id>"}` -> `{"tenant_id", "ok", "items": [{"name", "status", "detail"}]}`.
//! Its function URL serves the consent callback at `GET /consent/callback`: Microsoft's answer,
//! recorded once, shown to the admin on a plain page (function URL payload 2.0).

use std::collections::HashMap;

use aws_lambda_events::{
    http::{HeaderMap, HeaderName, HeaderValue},
    lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse},
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::onboarding::{Onboarding, OnboardingError, Page};
use serde_json::{Value, json};

/// The callback's path under the function URL (the redirect URI ends with it).
pub const CALLBACK_PATH: &str = "/consent/callback";

/// Handles one event.
pub async fn handler(onboarding: &Onboarding, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let payload = event.payload;
    let answer = if payload.pointer("/requestContext/http").is_some() {
        json!(served(onboarding, payload).await)
    } else if payload.get("verify").is_some() {
        json!(onboarding.verify(payload).await.inspect_err(failed)?)
    } else {
        json!(onboarding.link(payload).await.inspect_err(failed)?)
    };
    Ok(answer)
}

fn failed(err: &OnboardingError) {
    tracing::error!(error = %err, error_type = err.error_type(), "onboard failed");
}

/// An HTTP request through the function URL: the callback, or a page saying there is none.
async fn served(onboarding: &Onboarding, payload: Value) -> LambdaFunctionUrlResponse {
    let page = match serde_json::from_value::<LambdaFunctionUrlRequest>(payload) {
        Err(err) => {
            tracing::warn!(error = %err, "not a function URL request");
            Page::not_found()
        }
        Ok(request) => {
            let http = &request.request_context.http;
            let path = http
                .path
                .as_deref()
                .or(request.raw_path.as_deref())
                .unwrap_or("/");
            match (http.method.as_deref(), path) {
                (Some("GET"), CALLBACK_PATH) => match query(request.raw_query_string.as_deref()) {
                    Ok(query) => onboarding.callback(&query).await,
                    Err(err) => Page::refused(&err),
                },
                (_, CALLBACK_PATH) => Page::method_not_allowed(),
                _ => Page::not_found(),
            }
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in page.headers() {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(page.status);
    response.headers = headers;
    response.body = Some(page.html);
    response
}

/// The redirect's query, decoded; a parameter given twice is refused (which one would count?).
fn query(raw: Option<&str>) -> Result<HashMap<String, String>, OnboardingError> {
    let mut query = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned() {
        if query.insert(name.clone(), value).is_some() {
            return Err(OnboardingError::Answer {
                reason: format!("the parameter {name} is given twice"),
            });
        }
    }
    Ok(query)
}
