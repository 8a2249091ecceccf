use lambda_runtime::Error;
use state::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Store::from_env, status::handler).await
}
