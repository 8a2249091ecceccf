use std::sync::Arc;

use lambda_runtime::{Diagnostic, Error, service_fn};
use shared::provisioning::Provisioner;
use tokio::sync::OnceCell;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    // Built on the first event rather than during INIT: nothing at init that can wait (see
    // BENCHMARKS.md, cold start). A bad configuration fails every invocation as `Configuration`.
    let provisioner = Arc::new(OnceCell::new());
    lambda_runtime::run(service_fn(move |event| {
        let provisioner = provisioner.clone();
        async move {
            let provisioner = provisioner
                .get_or_try_init(Provisioner::from_env)
                .await
                .map_err(|err| Diagnostic {
                    error_type: "Configuration".to_owned(),
                    error_message: err.to_string(),
                })?;
            policy_targets::handler(provisioner, event).await
        }
    }))
    .await
}
