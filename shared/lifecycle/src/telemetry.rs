//! Tracing for Lambda: one JSON object per line on stdout, level from `RUST_LOG`.
//!
//! `RUST_LOG` wins; otherwise `AWS_LAMBDA_LOG_LEVEL` (set by the function's `LoggingConfig`);
//! otherwise `info`.
//!
//! Each line has an RFC 3339 `timestamp` and a `level`: Lambda's JSON log format files a line
//! without a valid timestamp as INFO, so a raised `ApplicationLogLevel` would drop its errors.
//! The fields of every span the line is in are put at the top level beside the event's own
//! (`requestId` from the runtime's span; `tenant_id`, `task_id`, `step`, `site`, `run_id`,
//! `message_id` from ours), so Logs Insights filters one tenant's lines with
//! `filter tenant_id = "…"`. An event must not repeat a field its spans carry: the line would
//! hold the key twice.

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter, Registry,
    fmt::{MakeWriter, time::ChronoUtc},
    layer::SubscriberExt,
};

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
    let mut lines = json_subscriber::JsonLayer::new(writer);
    lines
        .with_timer("timestamp", ChronoUtc::rfc_3339())
        .with_level("level")
        .with_target("target")
        .with_flattened_event()
        .with_top_level_flattened_span_list();
    Registry::default().with(filter).with(lines)
}

/// Installs the JSON-lines subscriber on stdout for the whole process; call once from `main`.
pub fn init() {
    // A second call (tests, local runs) keeps the first subscriber rather than failing.
    let _ = tracing::subscriber::set_global_default(subscriber(filter_from_env(), std::io::stdout));
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn a_line_has_its_time_its_level_and_every_span_field_at_the_top() {
        let lines = Lines::default();
        let subscriber = subscriber(EnvFilter::new("info"), lines.clone());
        tracing::subscriber::with_default(subscriber, || {
            let tenant = tracing::info_span!("tenant", tenant_id = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11");
            let _tenant = tenant.enter();
            let step = tracing::info_span!("step", step = "create_connectors");
            let _step = step.enter();
            tracing::warn!(attempt = 2, "retrying");
        });
        let text = String::from_utf8(lines.0.lock().expect("lock").clone()).expect("utf-8");
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["message"], "retrying", "{line}");
        assert_eq!(line["attempt"], 2, "{line}");
        assert_eq!(
            line["tenant_id"], "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11",
            "{line}"
        );
        assert_eq!(line["step"], "create_connectors", "{line}");
        let at = line["timestamp"].as_str().expect("a timestamp");
        chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339");
    }
}
