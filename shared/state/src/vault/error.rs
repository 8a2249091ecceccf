//! Errors of the token vault. None of them ever carries a secret value.

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

/// A vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A secret's content is not what this product writes or expects.
    #[error("secret {secret:?} is malformed: {problem}")]
    Malformed {
        /// The secret's name.
        secret: String,
        /// Which field is wrong (never its value).
        problem: String,
    },
    /// Another writer replaced the secret since it was read: re-read it (its refresh token is
    /// the newest) instead of overwriting it.
    #[error("secret {secret:?} was replaced by another writer since it was read; re-read it")]
    Conflict {
        /// The secret's name.
        secret: String,
    },
    /// The app-credentials secret does not exist.
    #[error("app-credentials secret {secret:?} does not exist: create it (see README) and set APP_SECRET_ID")]
    AppSecretMissing {
        /// The configured name or ARN.
        secret: String,
    },
    /// The deployment has no app registration for the tenant's cloud.
    #[error(
        "no app credentials for the {cloud} cloud: each national cloud has its own app registration; set APP_SECRET_ID_{} to its secret",
        cloud.to_string().to_uppercase()
    )]
    NoCloudCredentials {
        /// The cloud.
        cloud: model::cloud::Cloud,
    },
    /// Secrets Manager throttled the call beyond the SDK's retries.
    #[error("Secrets Manager throttled {operation} on {secret:?}; retry later")]
    Throttled {
        /// The API operation.
        operation: &'static str,
        /// The secret.
        secret: String,
    },
    /// Any other Secrets Manager failure.
    #[error("Secrets Manager {operation} on {secret:?} failed: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The secret.
        secret: String,
        /// The SDK's description (AWS never echoes secret values in errors).
        message: String,
    },
}

impl VaultError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Aws { .. })
    }
}

pub(super) fn from_sdk<E, R>(operation: &'static str, secret: &str, err: SdkError<E, R>) -> VaultError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let secret = secret.to_owned();
    match err.code() {
        Some("ThrottlingException" | "TooManyRequestsException") => {
            VaultError::Throttled { operation, secret }
        }
        _ => VaultError::Aws {
            operation,
            secret,
            message: crate::aws::describe(&err),
        },
    }
}

/// Describes a JSON parse failure by its path and kind only: serde's own messages may quote values.
pub(super) fn describe_json_error(err: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = err.inner();
    if inner.is_syntax() || inner.is_eof() {
        "not valid JSON".to_owned()
    } else {
        format!("field `{}` is missing, unknown or of the wrong type", err.path())
    }
}
