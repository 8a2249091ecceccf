use std::sync::Arc;

use lambda_runtime::{Error, service_fn};
use shared::{
    config::{ProcessEnv, StoreConfig},
    store::Store,
};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let config = StoreConfig::from_source(&ProcessEnv)?;
    let store = Arc::new(Store::from_config(&shared::aws::sdk_config().await, &config));
    lambda_runtime::run(service_fn(move |event| {
        let store = store.clone();
        async move { status::handler(&store, event).await }
    }))
    .await
}
