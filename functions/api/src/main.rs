use lambda_runtime::Error;
use lifecycle::console::Console;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Console::from_env, api::handler).await
}
