use std::sync::Arc;

use lambda_runtime::{Error, service_fn};
use shared::sync::run::DailySync;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let daily = Arc::new(DailySync::from_env().await?);
    lambda_runtime::run(service_fn(move |event| {
        let daily = daily.clone();
        async move { daily_sync::handler(&daily, event).await }
    }))
    .await
}
