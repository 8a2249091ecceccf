//! A Lambda function URL on loopback, as AWS documents it ("Invoking Lambda function URLs"):
//! each HTTP request becomes the payload format 2.0 event (its `Cookie` header as `cookies`),
//! and the function's answer (`statusCode`, `headers`, `cookies` as `Set-Cookie`, `body`)
//! becomes the HTTP response.

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    body::{Body, to_bytes},
    http::{Request, Response, StatusCode},
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// What serves the events: the function's handler with its services.
pub type Invoke = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Value> + Send>> + Send + Sync>;

/// A function URL serving on loopback until dropped.
pub struct FunctionUrl {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FunctionUrl {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A port for a function URL, bound before the function is configured with its own address.
pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    (listener, base)
}

impl FunctionUrl {
    /// Serves `invoke` on `listener`.
    pub fn serve(listener: TcpListener, invoke: Invoke) -> Self {
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let invoke = invoke.clone();
            async move { respond(invoke(event(request).await).await) }
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the function URL serves");
        });
        Self { base, server }
    }
}

/// The request as the 2.0 payload.
async fn event(request: Request<Body>) -> Value {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.expect("a body");
    let mut headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
        .collect();
    let cookies: Vec<String> = headers
        .remove("cookie")
        .and_then(|c| c.as_str().map(|c| c.split("; ").map(str::to_owned).collect()))
        .unwrap_or_default();
    let mut event = request_event(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
    );
    event["requestContext"]["http"]["userAgent"] = headers.get("user-agent").cloned().unwrap_or(json!(""));
    event["headers"] = Value::Object(headers);
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !body.is_empty() {
        event["body"] = json!(String::from_utf8_lossy(&body));
    }
    event
}

/// The 2.0 payload of a `method` request for `path?query` with no body, as a function URL
/// hands it to the function.
pub fn request_event(method: &str, path: &str, query: &str) -> Value {
    let parameters: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let now = chrono::Utc::now();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {},
        "queryStringParameters": parameters,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "",
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%T %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    })
}

/// The function's answer as the HTTP response.
fn respond(answer: Value) -> Response<Body> {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = Response::builder().status(status);
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        response = response.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        response = response.header("set-cookie", cookie.as_str().unwrap_or_default());
    }
    let body = answer["body"].as_str().unwrap_or_default().to_owned();
    response.body(Body::from(body)).expect("a response")
}
