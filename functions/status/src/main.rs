use std::sync::Arc;

use lambda_runtime::{Diagnostic, Error, service_fn};
use shared::{
    config::{ConfigError, ProcessEnv, StoreConfig},
    store::Store,
};
use tokio::sync::OnceCell;

/// The state store from the environment.
async fn store_from_env() -> Result<Store, ConfigError> {
    let config = StoreConfig::from_source(&ProcessEnv)?;
    Ok(Store::from_config(&shared::aws::sdk_config().await, &config))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    // Built on the first event rather than during INIT: nothing at init that can wait (see
    // BENCHMARKS.md, cold start). A bad configuration fails every invocation as `Configuration`.
    let store = Arc::new(OnceCell::new());
    lambda_runtime::run(service_fn(move |event| {
        let store = store.clone();
        async move {
            let store = store
                .get_or_try_init(store_from_env)
                .await
                .map_err(|err| Diagnostic {
                    error_type: "Configuration".to_owned(),
                    error_message: err.to_string(),
                })?;
            status::handler(store, event).await
        }
    }))
    .await
}
