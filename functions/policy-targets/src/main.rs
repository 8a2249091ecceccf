use std::sync::Arc;

use lambda_runtime::{Error, service_fn};
use shared::provisioning::Provisioner;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let provisioner = Arc::new(Provisioner::from_env().await?);
    lambda_runtime::run(service_fn(move |event| {
        let provisioner = provisioner.clone();
        async move { policy_targets::handler(&provisioner, event).await }
    }))
    .await
}
