use lambda_runtime::Error;
use lifecycle::provisioning::Provisioner;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lifecycle::function::serve(Provisioner::from_env, policy_targets::handler).await
}
