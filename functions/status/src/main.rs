use lambda_runtime::Error;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::function::serve(Store::from_env, status::handler).await
}
