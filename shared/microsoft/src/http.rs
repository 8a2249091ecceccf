//! The one HTTP client every Microsoft call goes through, and what every answer is read for.

use std::time::Duration;

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

/// The answer's `Retry-After`, if it has a readable one.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()))
}
