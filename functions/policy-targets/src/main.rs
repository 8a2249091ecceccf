use lambda_runtime::Error;
use shared::provisioning::Provisioner;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::function::serve(Provisioner::from_env, policy_targets::handler).await
}
