use lambda_runtime::Error;
use lifecycle::onboarding::Onboarding;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Onboarding::from_env, onboard::handler).await
}
