use lambda_runtime::Error;
use lifecycle::Lifecycle;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Lifecycle::from_env, deprovision::handler).await
}
