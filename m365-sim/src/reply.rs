//! Small helpers to build HTTP responses.

use axum::{
    body::Body,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::Response,
};
use serde_json::Value;

/// A JSON response with extra headers.
pub fn json(status: u16, body: &Value, headers: &[(String, String)]) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    raw(status, Some(bytes), headers)
}

/// A response with an optional JSON body and extra headers.
pub fn raw(status: u16, body: Option<Vec<u8>>, headers: &[(String, String)]) -> Response {
    let mut r = Response::new(match &body {
        Some(b) => Body::from(b.clone()),
        None => Body::empty(),
    });
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// Whether a request named itself by a `client-request-id`, as Microsoft's clients do.
pub fn traced(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(CLIENT_REQUEST_ID)
}

/// The header a caller names its request by; every Microsoft surface answers it back.
pub const CLIENT_REQUEST_ID: &str = "client-request-id";

/// A fresh request id (volatile values in error envelopes).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An HTML page.
pub fn html(status: u16, page: String) -> Response {
    let mut r = raw(status, None, &[]);
    *r.body_mut() = Body::from(page);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A `302 Found` to `uri` with `query` appended (after `?`, or `&` if `uri` has a query).
pub fn redirect(uri: &str, query: &[(&str, &str)]) -> Response {
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    for (name, value) in query {
        encoded.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{separator}{}", encoded.finish());
    raw(302, None, &[("Location".to_owned(), location)])
}

/// `text` with HTML's special characters escaped, for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}
