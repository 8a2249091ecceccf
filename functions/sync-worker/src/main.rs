use lambda_runtime::Error;
use lifecycle::sync::Syncer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Syncer::from_env, sync_worker::handler).await
}
