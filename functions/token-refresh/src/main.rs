use lambda_runtime::Error;
use lifecycle::refresh::Refresher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Refresher::from_env, token_refresh::handler).await
}
