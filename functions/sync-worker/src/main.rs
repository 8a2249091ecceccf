use lambda_runtime::Error;
use shared::sync::Syncer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::function::serve(Syncer::from_env, sync_worker::handler).await
}
