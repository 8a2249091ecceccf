//! The one HTTP client every Microsoft call goes through, and what every answer is read for.

use std::{fmt, time::Duration};

use chrono::Utc;
use model::retry::parse_retry_after;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// A client with timeouts (no Microsoft call may hang a function until its deadline) that
/// speaks only https, follows no redirect and sends no `Referer`: a 307 would re-send a token
/// request's secret form to the `Location` host, and a Referer would carry a paging link's state
/// token. A 3xx is an answer like any other non-success.
pub fn client() -> reqwest::Client {
    build(true)
}

/// The same client, allowing plain http: only for the loopback stand-ins of tests and local runs
/// (the endpoint overrides hand it out only under `M365_TEST_ENDPOINTS`).
pub fn loopback_client() -> reqwest::Client {
    build(false)
}

fn build(https_only: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .https_only(https_only)
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("m365-inline/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The header a caller names its request by (a GUID); Microsoft's services keep it with the
/// request and answer it back.
pub const CLIENT_REQUEST_ID: &str = "client-request-id";
/// The header a Microsoft service names its own handling of a request by.
pub const REQUEST_ID: &str = "request-id";

/// What a support case names one request by: the id we sent, and the one Microsoft answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// Our `client-request-id`, sent with the request.
    pub client: String,
    /// Microsoft's `request-id`, if it answered one.
    pub server: Option<String>,
}

impl RequestIds {
    /// A fresh id for a request about to be sent.
    pub fn fresh() -> Self {
        Self {
            client: uuid::Uuid::new_v4().to_string(),
            server: None,
        }
    }

    /// With the `request-id` of Microsoft's answer (bounded: it is remote text).
    pub(crate) fn answered(mut self, headers: &HeaderMap) -> Self {
        self.server = headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(|v| model::validation::bounded_text(v, 64));
        self
    }
}

impl fmt::Display for RequestIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client-request-id {}", self.client)?;
        if let Some(server) = &self.server {
            write!(f, ", request-id {server}")?;
        }
        Ok(())
    }
}

/// `" (client-request-id …, request-id …)"` for an error's message, or nothing.
pub(crate) fn naming(ids: Option<&RequestIds>) -> String {
    ids.map(|ids| format!(" ({ids})")).unwrap_or_default()
}

/// The most bytes of one Microsoft answer that are read (the largest real pages are a few MB).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The most a discovery document may be (Entra's is about 2 KB).
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// Reads an answer's body, refusing one larger than `limit` bytes (by its `Content-Length`
/// before reading, or as it streams): a hostile or broken endpoint cannot exhaust the function's
/// memory.
pub(crate) async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("the answer is larger than {limit} bytes; not read"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| err.without_url().to_string())?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("the answer is larger than {limit} bytes; not read"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The answer's `Retry-After`, if it has a readable one.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()))
}
