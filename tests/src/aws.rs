//! The AWS SDK configuration for the local endpoint (moto).

use std::collections::{BTreeMap, BTreeSet};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The local endpoint from `AWS_ENDPOINT_URL`, which `make test` and `make local-up` set.
pub fn endpoint_from_env() -> Result<String, String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            "AWS_ENDPOINT_URL is not set: run the tests with `make test` (it starts moto), or start moto \
         yourself with `make local-up` and `set -a; . ./.env.local`"
                .to_owned()
        })
}

/// SDK configuration for the local endpoint at `endpoint`, with dummy credentials.
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region))
        .test_credentials()
        .load()
        .await
}

/// The same configuration signing as `access_key`, so moto's record names what it called.
pub fn as_key(sdk: &SdkConfig, access_key: &str) -> SdkConfig {
    sdk.to_builder()
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new(access_key, "testing", None, None, "test"),
        ))
        .build()
}

/// The actions moto saw, by access key id (`scripts/moto_server.py` records them).
pub async fn recorded_actions() -> BTreeMap<String, BTreeSet<String>> {
    recorded("actions").await
}

/// How many requests of each AWS API operation (`service:Operation`) each access key id made on
/// moto (`scripts/moto_server.py`'s recorder).
pub async fn recorded_calls() -> BTreeMap<String, BTreeMap<String, u64>> {
    recorded("calls").await
}

async fn recorded<T: serde::de::DeserializeOwned>(what: &str) -> T {
    let endpoint = endpoint_from_env().expect("moto");
    reqwest::get(format!("{endpoint}/_m365/{what}"))
        .await
        .expect("moto's action record")
        .json()
        .await
        .expect("JSON")
}
