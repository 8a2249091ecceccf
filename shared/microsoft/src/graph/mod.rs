//! A thin typed client of Microsoft Graph v1.0: JSON calls with the one retry policy, paging and
//! delta through [`Pager`], and `$batch` with per-sub-request retry. Every call asks for what it
//! needs with `$select`; the caller builds the path.

mod address;
mod batch;
mod error;

use std::time::Duration;

use model::{
    retry::RetryPolicy,
    validation::{MAX_REMOTE_TEXT, bounded_text},
};
use reqwest::{Method, header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    http::{CLIENT_REQUEST_ID, RequestIds},
    meter::{Attempts, GRAPH},
};

pub use self::{
    address::{user_by_principal_name, users_by_address},
    batch::{BatchRequest, BatchResponse, MAX_BATCH},
    error::GraphError,
};

/// The Graph version every path is relative to.
pub const VERSION: &str = "v1.0";

/// Client of one tenant's Graph, holding that tenant's token.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    origin: String,
    token: SecretString,
    retry: RetryPolicy,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The most pages one listing follows (at 999 objects a page, ten million objects).
pub const MAX_PAGES: usize = 10_000;

/// One page of a collection.
#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
}

/// Walks a collection page by page, so large listings stream instead of piling up.
pub struct Pager<'a, T> {
    client: &'a GraphClient,
    next: Option<String>,
    delta_link: Option<String>,
    pages: usize,
    _item: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Pager<'_, T> {
    /// The next page's items, or `None` when the collection is exhausted.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, GraphError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        // A link that never ends (a broken or hostile answer) stops here, not at the deadline.
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(GraphError::Transport {
                method: "GET".to_owned(),
                path: "(paging)".to_owned(),
                reason: format!("more than {MAX_PAGES} pages; the links were not followed further"),
                transient: false,
            });
        }
        let page: Page<T> = self.client.get(&url).await?;
        self.next = page.next_link;
        if page.delta_link.is_some() {
            self.delta_link = page.delta_link;
        }
        Ok(Some(page.value))
    }

    /// The delta link of the last page of a delta query (to store for the next sync).
    pub fn delta_link(&self) -> Option<&str> {
        self.delta_link.as_deref()
    }

    /// The link of the page not read yet, if any: a checkpoint to go on from later.
    pub fn next_link(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// Pages read so far, counting those of earlier pagers this one [`continues`](Self::after).
    pub fn pages_read(&self) -> usize {
        self.pages
    }

    /// This pager going on from a checkpoint after `pages` pages were read: the page limit
    /// counts them too, so a link chain that never ends stops across invocations as well.
    pub fn after(mut self, pages: usize) -> Self {
        self.pages = pages;
        self
    }

    /// Every remaining item, collected (for collections known to be small).
    pub async fn collect_all(mut self) -> Result<Vec<T>, GraphError> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }
}

impl GraphClient {
    /// A client of the Graph at `origin` (e.g. `https://graph.microsoft.com`) using `token`.
    pub fn new(http: reqwest::Client, origin: &str, token: SecretString, retry: RetryPolicy) -> Self {
        Self {
            http,
            origin: origin.trim_end_matches('/').to_owned(),
            token,
            retry,
        }
    }

    /// Whether `link` is an absolute link on this client's origin and version (a paging or delta
    /// link Graph gave).
    pub fn is_own_link(&self, link: &str) -> bool {
        link.starts_with(&format!("{}/{VERSION}/", self.origin)) && self.url(link).is_ok()
    }

    /// The absolute URL of `path_or_url`: a path is put under `/v1.0`; an absolute link (from
    /// `@odata.nextLink`) must be on this client's origin, so the token never goes elsewhere.
    fn url(&self, path_or_url: &str) -> Result<String, GraphError> {
        if path_or_url.starts_with('/') {
            return Ok(format!("{}/{VERSION}{path_or_url}", self.origin));
        }
        let on_origin = path_or_url
            .strip_prefix(&self.origin)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if on_origin {
            Ok(path_or_url.to_owned())
        } else {
            let link_host = path_or_url.split('/').take(3).collect::<Vec<_>>().join("/");
            Err(GraphError::ForeignLink { link_host })
        }
    }

    /// `GET` and decode.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GraphError> {
        let value = self
            .send(Method::GET, path, None, &[])
            .await?
            .unwrap_or(Value::Null);
        decode(value, "GET", path)
    }

    /// `POST` a JSON body and decode the answer.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, GraphError> {
        let value = self
            .send(Method::POST, path, Some(body), &[])
            .await?
            .unwrap_or(Value::Null);
        decode(value, "POST", path)
    }

    /// `POST` a JSON body once, without retries: for creates that are not idempotent, where a
    /// retry after a lost answer could make a second object. The caller looks up and tries again.
    pub async fn post_once<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, GraphError> {
        let url = self.url(path)?;
        let value = self
            .send_once(Method::POST, &url, Some(body), &[])
            .await?
            .unwrap_or(Value::Null);
        decode(value, "POST", path)
    }

    /// `PATCH` a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<(), GraphError> {
        self.send(Method::PATCH, path, Some(body), &[]).await.map(drop)
    }

    /// `DELETE`; an object that is already gone counts as deleted.
    pub async fn delete(&self, path: &str) -> Result<(), GraphError> {
        match self.send(Method::DELETE, path, None, &[]).await {
            Err(err) if err.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }

    /// Pages through the collection at `path` (a delta query too: see [`Pager::delta_link`]).
    pub fn pages<T: DeserializeOwned>(&self, path: &str) -> Pager<'_, T> {
        Pager {
            client: self,
            next: Some(path.to_owned()),
            delta_link: None,
            pages: 0,
            _item: std::marker::PhantomData,
        }
    }

    /// Sends one request with the retry policy; `None` for an empty answer (204).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Option<Value>, GraphError> {
        let url = self.url(path)?;
        let what = format!("Graph {method} {}", path_only(path));
        let attempts = Attempts::of(GRAPH);
        self.retry
            .run(&what, || {
                attempts.one();
                self.send_once(method.clone(), &url, body, headers)
            })
            .await
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Option<Value>, GraphError> {
        let path = path_only(url);
        let ids = RequestIds::fresh();
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(header::AUTHORIZATION, self.bearer())
            .header(CLIENT_REQUEST_ID, &ids.client);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |reason: String| GraphError::Transport {
            method: method.to_string(),
            path: path.clone(),
            reason,
            transient: true,
        };
        crate::meter::request(GRAPH);
        let response = request
            .send()
            .await
            .map_err(|err| transport(err.without_url().to_string()))?;
        let status = response.status();
        crate::meter::answered(GRAPH, status.as_u16());
        let retry_after = crate::http::retry_after(response.headers());
        let ids = ids.answered(response.headers());
        let bytes = crate::http::read_body(response, crate::http::MAX_BODY_BYTES)
            .await
            .map_err(transport)?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| GraphError::Transport {
                    method: method.to_string(),
                    path,
                    reason: format!("HTTP {status} with a body that is not JSON"),
                    transient: false,
                });
        }
        Err(status_error(method.as_str(), &path, status.as_u16(), &bytes, retry_after).with_ids(ids))
    }

    fn bearer(&self) -> header::HeaderValue {
        let mut value = header::HeaderValue::from_str(&format!("Bearer {}", self.token.expose_secret()))
            .unwrap_or_else(|_| header::HeaderValue::from_static("Bearer invalid"));
        // Keeps the token out of any debug output of the request.
        value.set_sensitive(true);
        value
    }
}

/// The error for a non-success answer, from Graph's envelope where there is one.
pub(crate) fn status_error(
    method: &str,
    path: &str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> GraphError {
    let (code, message) = match serde_json::from_slice::<error::Envelope>(body) {
        Ok(envelope) => (
            bounded_text(&envelope.error.code, 100),
            bounded_text(&envelope.error.message, MAX_REMOTE_TEXT),
        ),
        Err(_) => (String::new(), bounded_text(&String::from_utf8_lossy(body), 200)),
    };
    GraphError::Status {
        method: verb(method),
        path: path.to_owned(),
        status,
        code,
        message,
        retry_after,
        ids: None,
    }
}

/// The static name of an HTTP method Graph is called with.
fn verb(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PATCH" => "PATCH",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        _ => "OTHER",
    }
}

fn decode<T: DeserializeOwned>(value: Value, method: &str, path: &str) -> Result<T, GraphError> {
    serde_json::from_value(value).map_err(|err| GraphError::Transport {
        method: method.to_owned(),
        path: path_only(path),
        reason: format!("answer does not have the documented shape: {err}"),
        transient: false,
    })
}

/// The path of a URL or path, without origin or query: safe for messages and logs.
fn path_only(path_or_url: &str) -> String {
    let without_origin = match path_or_url.find("://") {
        Some(scheme_end) => {
            let rest = &path_or_url[scheme_end + 3..];
            rest.find('/').map_or("/", |i| &rest[i..])
        }
        None => path_or_url,
    };
    without_origin.split('?').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> GraphClient {
        GraphClient::new(
            reqwest::Client::new(),
            "http://127.0.0.1:9/",
            SecretString::from("t"),
            RetryPolicy::quick(),
        )
    }

    /// A loopback server answering every request with `answer(port)`, one connection each.
    fn server(answer: impl Fn(u16) -> String + Send + 'static) -> u16 {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(answer(port).as_bytes());
            }
        });
        port
    }

    /// A listing whose every page holds `value` and links to itself again.
    fn endless_pages(value: &'static str) -> u16 {
        server(move |port| {
            let body = format!(
                r#"{{"value": {value}, "@odata.nextLink": "http://127.0.0.1:{port}/v1.0/users?$skiptoken=again"}}"#
            );
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        })
    }

    fn loopback_graph(port: u16) -> GraphClient {
        GraphClient::new(
            crate::http::loopback_client(),
            &format!("http://127.0.0.1:{port}"),
            SecretString::from("t"),
            RetryPolicy::quick(),
        )
    }

    #[tokio::test]
    async fn a_listing_whose_links_never_end_stops_at_the_page_cap() {
        let port = endless_pages("[]");
        let graph = loopback_graph(port);
        let err = graph
            .pages::<Value>("/users")
            .collect_all()
            .await
            .expect_err("never ends");
        assert!(
            err.to_string().contains(&format!("more than {MAX_PAGES} pages")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_pager_going_on_from_a_checkpoint_counts_the_pages_read_before() {
        let port = endless_pages("[1]");
        let graph = loopback_graph(port);
        let mut pages = graph.pages::<Value>("/users").after(MAX_PAGES - 1);
        assert_eq!(
            pages.next_page().await.expect("the last allowed page"),
            Some(vec![Value::from(1)])
        );
        assert_eq!(pages.pages_read(), MAX_PAGES);
        let link = pages.next_link().expect("a next link").to_owned();
        assert!(link.ends_with("/v1.0/users?$skiptoken=again"), "{link}");
        let err = pages.next_page().await.expect_err("over the cap");
        assert!(
            err.to_string().contains(&format!("more than {MAX_PAGES} pages")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_answer_over_the_body_limit_is_not_read() {
        let port = server(|_| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{",
                crate::http::MAX_BODY_BYTES + 1
            )
        });
        let err = loopback_graph(port)
            .get::<Value>("/users")
            .await
            .expect_err("too large");
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn graphs_error_text_is_bounded_and_escaped() {
        let message = format!("bad\n{}\u{202E}{}", "[INFO] forged ", "m".repeat(5_000));
        let body =
            serde_json::json!({"error": {"code": "Request_BadRequest", "message": message}}).to_string();
        let err = status_error("GET", "/users", 400, body.as_bytes(), None);
        let text = err.to_string();
        assert!(!text.contains('\n') && !text.contains('\u{202E}'), "{text}");
        assert!(text.chars().count() < 700, "{} characters", text.chars().count());
    }

    #[test]
    fn graphs_refusal_for_want_of_a_permission_is_told_apart() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/graph-permission-denied.json"
        );
        let body = std::fs::read(path).expect("fixture");
        let denied = status_error("POST", "/groups", 403, &body, None);
        assert!(denied.permission_denied(), "{denied}");
        // Other refusals are not a grant problem: SharePoint's own 403, or a 403 without Graph's body.
        let sharepoint = br#"{"error": {"code": "accessDenied", "message": "Access denied"}}"#;
        assert!(!status_error("GET", "/sites/root", 403, sharepoint, None).permission_denied());
        assert!(!status_error("GET", "/users", 403, b"<html>", None).permission_denied());
        assert!(!status_error("GET", "/users", 400, &body, None).permission_denied());
    }

    #[test]
    fn paths_go_under_the_version_and_links_must_stay_on_the_origin() {
        let graph = client();
        assert_eq!(
            graph.url("/users?$top=999").expect("path"),
            "http://127.0.0.1:9/v1.0/users?$top=999"
        );
        let link = "http://127.0.0.1:9/v1.0/users?$skiptoken=abc";
        assert_eq!(graph.url(link).expect("same origin"), link);
        for foreign in [
            "https://evil.example/v1.0/users",
            "http://127.0.0.1:9.evil/v1.0/users",
            "users",
        ] {
            assert!(
                matches!(graph.url(foreign), Err(GraphError::ForeignLink { .. })),
                "{foreign}"
            );
        }
    }

    #[test]
    fn paths_in_messages_drop_origin_and_query() {
        assert_eq!(
            path_only("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x"),
            "/v1.0/users/delta"
        );
        assert_eq!(path_only("/groups/1/members/$ref"), "/groups/1/members/$ref");
    }

    #[test]
    fn errors_are_read_from_the_envelope() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"date":"2026-11-22T07:00:00","request-id":"r"}}}"#;
        let err = status_error("GET", "/groups/x", 404, body, None);
        assert!(err.is_not_found());
        assert_eq!(err.code(), Some("Request_ResourceNotFound"));
        let gone = status_error(
            "GET",
            "/users/delta",
            410,
            br#"{"error":{"code":"syncStateNotFound","message":"m"}}"#,
            None,
        );
        assert!(gone.is_sync_reset());
        let refused = |message: &str| {
            let body = format!(r#"{{"error":{{"code":"Request_BadRequest","message":"{message}"}}}}"#);
            status_error("POST", "/groups", 400, body.as_bytes(), None)
        };
        for message in [
            "One or more added object references already exist for the following modified properties: 'members'.",
            "Another object with the same value for property proxyAddresses already exists.",
            "A conflicting object with one or more of the specified property values is present in the directory.",
        ] {
            assert!(refused(message).already_exists(), "{message}");
        }
        assert!(!refused("Invalid value specified for property 'mailNickname'.").already_exists());
    }
}
