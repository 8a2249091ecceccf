use lambda_runtime::Error;
use shared::sync::run::DailySync;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::function::serve(DailySync::from_env, daily_sync::handler).await
}
