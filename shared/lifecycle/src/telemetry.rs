//! Tracing for Lambda: one JSON object per line on stdout, level from `RUST_LOG`.
//!
//! `RUST_LOG` wins; otherwise `AWS_LAMBDA_LOG_LEVEL` (set by the function's `LoggingConfig`);
//! otherwise `info`. No timestamp: CloudWatch stamps every line itself.

use tracing::Subscriber;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

/// The log filter from the environment, as described in the module docs.
pub fn filter_from_env() -> EnvFilter {
    let directive = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .map(|v| v.to_lowercase())
        })
        .unwrap_or_else(|| "info".to_owned());
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A JSON-lines subscriber writing to `writer` (tests pass a capture buffer).
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .without_time()
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON-lines subscriber on stdout for the whole process; call once from `main`.
pub fn init() {
    // A second call (tests, local runs) keeps the first subscriber rather than failing.
    let _ = tracing::subscriber::set_global_default(subscriber(filter_from_env(), std::io::stdout));
}
