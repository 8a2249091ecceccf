use lambda_runtime::Error;
use lifecycle::sync::DailySync;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(DailySync::from_env, daily_sync::handler).await
}
