//! A minimal local Lambda Runtime API for one function process. It records the instant of the
//! first `GET /2018-06-01/runtime/invocation/next` (the end of INIT), answers it with one event,
//! records the instant the function posts that event's response or error, and then holds every
//! later `next` open, as Lambda does while no event is waiting, so the function sits idle where
//! a warm instance would.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;

use crate::error::{BenchError, Result};

/// The path a runtime polls for its next event.
pub const NEXT_INVOCATION: &str = "/2018-06-01/runtime/invocation/next";
/// The request id of the one event served.
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

#[derive(Default)]
struct Marks {
    /// The first `next` request.
    init_done: Option<Instant>,
    /// The first event's response or error.
    first_done: Option<Instant>,
    /// Whether the first event ended in an error (`/error`), and the runtime's body.
    error: Option<String>,
}

struct Shared {
    marks: Mutex<Marks>,
    event: Value,
    function_arn: String,
}

/// One Runtime API endpoint for one function process; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What the function did with its first event.
#[derive(Debug, Clone)]
pub struct FirstInvocation {
    /// When it posted the response or error.
    pub done: Instant,
    /// The error body, if it posted to `/error`.
    pub error: Option<String>,
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    let first = {
        let Ok(mut marks) = shared.marks.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let first = marks.init_done.is_none();
        if first {
            marks.init_done = Some(Instant::now());
        }
        first
    };
    if !first {
        // No second event will come: hold the request open like an idle Lambda environment.
        std::future::pending::<()>().await;
    }
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() + 60_000)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", REQUEST_ID.to_owned());
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set("lambda-runtime-invoked-function-arn", shared.function_arn.clone());
    set(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_owned(),
    );
    (StatusCode::OK, headers, shared.event.to_string()).into_response()
}

fn finish(shared: &Shared, error: Option<String>) -> StatusCode {
    if let Ok(mut marks) = shared.marks.lock()
        && marks.first_done.is_none()
    {
        marks.first_done = Some(Instant::now());
        marks.error = error;
    }
    StatusCode::ACCEPTED
}

async fn response(State(shared): State<Arc<Shared>>) -> StatusCode {
    finish(&shared, None)
}

async fn error(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    finish(&shared, Some(body))
}

impl RuntimeApi {
    /// Starts on a free loopback port, with `event` as the one event to serve to `function`.
    pub async fn start(function: &str, event: Value) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(BenchError::io("bind the Runtime API"))?;
        let addr = listener
            .local_addr()
            .map_err(BenchError::io("Runtime API address"))?;
        let shared = Arc::new(Shared {
            marks: Mutex::default(),
            event,
            function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
        });
        let app = Router::new()
            .route(NEXT_INVOCATION, get(next_invocation))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, server })
    }

    /// `HOST:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The instant of the first `next` request, waiting for it at most `limit`.
    pub async fn init_done(&self, limit: Duration) -> Option<Instant> {
        self.wait(limit, |m| m.init_done).await
    }

    /// The first event's outcome, waiting for it at most `limit`.
    pub async fn first_invocation(&self, limit: Duration) -> Option<FirstInvocation> {
        self.wait(limit, |m| {
            m.first_done.map(|done| FirstInvocation {
                done,
                error: m.error.clone(),
            })
        })
        .await
    }

    async fn wait<T>(&self, limit: Duration, probe: impl Fn(&Marks) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(found) = self.shared.marks.lock().ok().and_then(|m| probe(&m)) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
}
