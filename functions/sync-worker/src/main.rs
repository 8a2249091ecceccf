use std::sync::Arc;

use lambda_runtime::{Error, service_fn};
use shared::sync::Syncer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let syncer = Arc::new(Syncer::from_env().await?);
    lambda_runtime::run(service_fn(move |event| {
        let syncer = syncer.clone();
        async move { sync_worker::handler(&syncer, event).await }
    }))
    .await
}
