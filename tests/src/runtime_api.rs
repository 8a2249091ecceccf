//! A local Lambda Runtime API: hands a function process its events one by one, as Lambda does,
//! and keeps what the process posted back and when. With no event left, `next` is held open, as
//! Lambda holds an idle environment. It records the instant of the first `next` (the end of
//! INIT) for the bench's cold-start figures.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
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
    outcomes: Vec<(Instant, Outcome)>,
    first_next: Option<Instant>,
}

struct Shared {
    inbox: Mutex<Inbox>,
    function_arn: String,
}

/// A Runtime API on a free loopback port; it stops when dropped.
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

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let event = {
        let mut inbox = shared.inbox.lock().unwrap_or_else(|p| p.into_inner());
        inbox.first_next.get_or_insert_with(Instant::now);
        inbox.events.pop_front()
    };
    let Some(event) = event else {
        std::future::pending::<()>().await;
        unreachable!("pending never completes");
    };
    let deadline =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(900);
    (
        StatusCode::OK,
        [
            ("lambda-runtime-aws-request-id", uuid::Uuid::new_v4().to_string()),
            ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
            ("lambda-runtime-invoked-function-arn", shared.function_arn.clone()),
            (
                "lambda-runtime-trace-id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_owned(),
            ),
        ],
        event.to_string(),
    )
        .into_response()
}

/// The runtime posts JSON without a content type, so bodies are read as text; one that is not
/// JSON is kept as a string.
fn posted(shared: &Shared, body: String, outcome: fn(Value) -> Outcome) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let mut inbox = shared.inbox.lock().unwrap_or_else(|p| p.into_inner());
    inbox.outcomes.push((Instant::now(), outcome(value)));
    StatusCode::ACCEPTED
}

async fn answer(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    posted(&shared, body, Outcome::Answer)
}

async fn error(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    posted(&shared, body, Outcome::Error)
}

impl RuntimeApi {
    /// Starts for `function` (its name goes into the function ARN) with `events` to hand out,
    /// in order.
    pub async fn start(function: &str, events: impl IntoIterator<Item = Value>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox {
                events: events.into_iter().collect(),
                ..Inbox::default()
            }),
            function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error))
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

    /// The variables Lambda gives a process of `function` served by this API (256 MB, `$LATEST`).
    pub fn lambda_env(&self, function: &str) -> [(&'static str, String); 4] {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.host_port()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ]
    }

    /// What was posted so far; a runtime handles one event at a time, so in the events' order.
    pub fn outcomes(&self) -> Vec<Outcome> {
        let inbox = self.shared.inbox.lock().unwrap_or_else(|p| p.into_inner());
        inbox
            .outcomes
            .iter()
            .map(|(_, outcome)| outcome.clone())
            .collect()
    }

    /// The instant of the first `next` request (the end of INIT), waiting for it at most `limit`.
    pub async fn init_done(&self, limit: Duration) -> Option<Instant> {
        self.wait(limit, |inbox| inbox.first_next).await
    }

    /// The first event's outcome and when it was posted, waiting for it at most `limit`.
    pub async fn first_outcome(&self, limit: Duration) -> Option<(Instant, Outcome)> {
        self.wait(limit, |inbox| inbox.outcomes.first().cloned()).await
    }

    async fn wait<T>(&self, limit: Duration, probe: impl Fn(&Inbox) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            let found = probe(&self.shared.inbox.lock().unwrap_or_else(|p| p.into_inner()));
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
}
