use std::sync::Arc;

use lambda_runtime::{Error, service_fn};
use shared::refresh::Refresher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let refresher = Arc::new(Refresher::from_env().await?);
    lambda_runtime::run(service_fn(move |event| {
        let refresher = refresher.clone();
        async move { token_refresh::handler(&refresher, event).await }
    }))
    .await
}
