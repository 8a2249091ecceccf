//! A local Lambda Runtime API: hands a function process its events one by one, as Lambda does,
//! and keeps what the process posted back. With no event left, `next` is held open, as Lambda
//! holds an idle environment.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;

/// What the process posted for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response`: the handler's answer.
    Answer(Value),
    /// `POST .../error` (or `/init/error`): `{"errorType", "errorMessage"}`.
    Error(Value),
}

#[derive(Default)]
struct Inbox {
    events: VecDeque<Value>,
    outcomes: Vec<Outcome>,
}

type Shared = Arc<Mutex<Inbox>>;

/// A Runtime API on a free loopback port; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    inbox: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(inbox): State<Shared>) -> Response {
    let event = inbox.lock().expect("inbox").events.pop_front();
    let Some(event) = event else {
        std::future::pending::<()>().await;
        unreachable!("pending never completes");
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        + Duration::from_secs(900);
    (
        StatusCode::OK,
        [
            ("lambda-runtime-aws-request-id", uuid::Uuid::new_v4().to_string()),
            ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:test".to_owned(),
            ),
        ],
        event.to_string(),
    )
        .into_response()
}

// The runtime posts JSON without a content type, so the bodies are read as text.
async fn answer(State(inbox): State<Shared>, body: String) -> StatusCode {
    let answer = serde_json::from_str(&body).expect("the answer is JSON");
    inbox
        .lock()
        .expect("inbox")
        .outcomes
        .push(Outcome::Answer(answer));
    StatusCode::ACCEPTED
}

async fn error(State(inbox): State<Shared>, body: String) -> StatusCode {
    let error = serde_json::from_str(&body).expect("the error is JSON");
    inbox.lock().expect("inbox").outcomes.push(Outcome::Error(error));
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// Starts with `events` to hand out, in order.
    pub async fn start(events: impl IntoIterator<Item = Value>) -> Self {
        let inbox = Shared::default();
        inbox.lock().expect("inbox").events = events.into_iter().collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error))
            .with_state(inbox.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inbox, server }
    }

    /// `HOST:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// What was posted so far; a runtime handles one event at a time, so in the events' order.
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.inbox.lock().expect("inbox").outcomes.clone()
    }
}
