use lambda_runtime::Error;
use shared::refresh::Refresher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::function::serve(Refresher::from_env, token_refresh::handler).await
}
