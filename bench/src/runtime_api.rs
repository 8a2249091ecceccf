//! A minimal local Lambda Runtime API: it records the instant of the first
//! `GET /2018-06-01/runtime/invocation/next` and then holds that request open, as Lambda does
//! while no event is waiting, so the function sits idle where a warm instance would.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, routing::get};
use tokio::sync::Notify;

use crate::error::{BenchError, Result};

/// The path a runtime polls for its next event.
pub const NEXT_INVOCATION: &str = "/2018-06-01/runtime/invocation/next";

#[derive(Default)]
struct Seen {
    first: Mutex<Option<Instant>>,
    notify: Notify,
}

/// One Runtime API endpoint for one function process; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    seen: Arc<Seen>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next_invocation(State(seen): State<Arc<Seen>>) -> &'static str {
    let now = Instant::now();
    if let Ok(mut first) = seen.first.lock()
        && first.is_none()
    {
        *first = Some(now);
    }
    seen.notify.notify_waiters();
    seen.notify.notify_one();
    // No event will come: hold the request open like an idle Lambda environment.
    std::future::pending::<()>().await;
    ""
}

impl RuntimeApi {
    /// Starts on a free loopback port.
    pub async fn start() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(BenchError::io("bind the Runtime API"))?;
        let addr = listener
            .local_addr()
            .map_err(BenchError::io("Runtime API address"))?;
        let seen = Arc::new(Seen::default());
        let app = Router::new()
            .route(NEXT_INVOCATION, get(next_invocation))
            .with_state(seen.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, seen, server })
    }

    /// `HOST:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// The instant of the first `next` request, waiting for it at most `limit`.
    pub async fn first_request(&self, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.seen.notify.notified();
            if let Some(first) = self.seen.first.lock().ok().and_then(|f| *f) {
                return Some(first);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if tokio::time::timeout(left.min(Duration::from_millis(50)), notified)
                .await
                .is_err()
                && Instant::now() >= deadline
            {
                return None;
            }
        }
    }
}
