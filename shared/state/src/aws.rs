//! The AWS SDK: configuration from the environment and error descriptions for operators.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Loads the AWS SDK configuration from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// KMS errors that pass: trying again may help.
const KMS_TRANSIENT: [&str; 4] = [
    "ThrottlingException",
    "KMSInternalException",
    "DependencyTimeoutException",
    "LimitExceededException",
];

/// Whether a KMS call's error may pass: a throttle or KMS's own fault, or a call that may not
/// have reached KMS (a timeout, a refused connection).
pub fn kms_error_is_transient<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(_) => err.code().is_some_and(|code| KMS_TRANSIENT.contains(&code)),
        _ => true,
    }
}

/// A one-line description of an SDK error: `Code: message` for service errors, the full cause
/// chain for transport failures (timeouts, refused connections).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {}", collapse_whitespace(message)),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(err).to_string(),
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
