//! `m365-inline ui`: the operator's web pages of a deployed stack in their own browser. A
//! browser cannot SigV4-sign, so this serves on loopback and forwards each page request to the
//! API's `/ui/`, signed with the operator's AWS credentials (as `kubectl proxy` does for its
//! cluster). It forwards `/ui/` only, never the JSON API (whose POSTs carry no CSRF token, so a
//! page on another site could send them through a proxy that signs anything), and answers only
//! requests naming its own loopback host (a rebound DNS name is refused).

use axum::{
    body::{Body, to_bytes},
    http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header},
};
use tokio::net::TcpListener;

use crate::{CliError, api::ApiClient};

/// The largest page request forwarded (a form), as the API bounds its events.
const MAX_BODY: usize = 64 * 1024;

/// The request headers a page needs forwarded; everything else stays here.
const FORWARDED: [&str; 6] = [
    "content-type",
    "cookie",
    "origin",
    "sec-fetch-site",
    "accept",
    "user-agent",
];
/// The answer headers a page needs back.
const RETURNED: [&str; 9] = [
    "content-type",
    "location",
    "set-cookie",
    "content-security-policy",
    "cache-control",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "allow",
];

/// Serves the pages on `listener` until the process ends.
pub async fn serve(api: ApiClient, listener: TcpListener) -> Result<(), CliError> {
    let own = listener
        .local_addr()
        .map_err(|err| CliError::Proxy(err.to_string()))?
        .to_string();
    let api = std::sync::Arc::new(api);
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let (api, own) = (api.clone(), own.clone());
        async move { forward(&api, &own, request).await }
    });
    axum::serve(listener, app)
        .await
        .map_err(|err| CliError::Proxy(err.to_string()))
}

async fn forward(api: &ApiClient, own: &str, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let port = own.rsplit(':').next().unwrap_or_default();
    let ours = host.is_some_and(|h| h == own || h == format!("localhost:{port}"));
    if !ours {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "this proxy answers only its own loopback address",
        );
    }
    let path = parts.uri.path();
    if !(path == "/ui" || path.starts_with("/ui/")) {
        return plain(
            StatusCode::NOT_FOUND,
            "this proxy forwards the web pages (/ui/) only: open /ui/",
        );
    }
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the form is larger than the API takes",
        );
    };
    let mut headers: Vec<(String, String)> = FORWARDED
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    // The API checks a form's Origin against this host when the browser sends no
    // Sec-Fetch-Site.
    headers.push(("x-forwarded-host".to_owned(), host.unwrap_or_default().to_owned()));
    let path_and_query = parts.uri.path_and_query().map_or(path, |p| p.as_str());
    match api
        .forward(parts.method.as_str(), path_and_query, &headers, &body)
        .await
    {
        Ok((status, answered, body)) => {
            let mut response = Response::builder().status(status);
            for (name, value) in answered.iter().filter(|(n, _)| RETURNED.contains(&n.as_str())) {
                response = response.header(name, value);
            }
            response
                .body(Body::from(body))
                .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "the API's answer does not read"))
        }
        Err(err) => plain(StatusCode::BAD_GATEWAY, &err.to_string()),
    }
}

fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let mut response = Response::new(Body::from(format!("{message}\n")));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
