use std::sync::Arc;

use lambda_runtime::{Diagnostic, Error, service_fn};
use shared::sync::Syncer;
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    // Built on the first event rather than during INIT: nothing at init that can wait (see
    // BENCHMARKS.md, cold start). A bad configuration fails every invocation as `Configuration`.
    let syncer = Arc::new(OnceCell::new());
    lambda_runtime::run(service_fn(move |event| {
        let syncer = syncer.clone();
        async move {
            let syncer = syncer
                .get_or_try_init(Syncer::from_env)
                .await
                .map_err(|err| Diagnostic {
                    error_type: "Configuration".to_owned(),
                    error_message: err.to_string(),
                })?;
            sync_worker::handler(syncer, event).await
        }
    }))
    .await
}
