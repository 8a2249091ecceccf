//! Errors of the state store.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// A state-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A create found the item already there.
    #[error("{entity} {key} already exists; read it instead of creating it again")]
    AlreadyExists {
        /// The kind of record.
        entity: &'static str,
        /// Its key.
        key: String,
    },
    /// A versioned write lost to another writer: the stored version is not the one read.
    #[error(
        "{entity} {key} was changed by another writer since version {expected_version} was read; re-read it and retry"
    )]
    Conflict {
        /// The kind of record.
        entity: &'static str,
        /// Its key.
        key: String,
        /// The version the writer expected to replace.
        expected_version: u64,
    },
    /// An update targeted an item that does not exist.
    #[error("{entity} {key} does not exist")]
    NotFound {
        /// The kind of record.
        entity: &'static str,
        /// Its key.
        key: String,
    },
    /// The table is missing.
    #[error(
        "DynamoDB table {table:?} does not exist: deploy the stack (or run `make local-up`) and check TABLE_NAME"
    )]
    TableMissing {
        /// The table name from configuration.
        table: String,
    },
    /// DynamoDB throttled the request beyond the SDK's own retries.
    #[error("DynamoDB throttled {operation} on table {table:?}; the event will be retried")]
    Throttled {
        /// The API operation.
        operation: &'static str,
        /// The table.
        table: String,
    },
    /// A stored item does not match the record type (a schema change or a hand-edited item).
    #[error("stored {entity} {key} cannot be read: {reason}")]
    Decode {
        /// The kind of record.
        entity: &'static str,
        /// Its key.
        key: String,
        /// What did not match.
        reason: String,
    },
    /// A record could not be turned into an item.
    #[error("{entity} cannot be stored: {reason}")]
    Encode {
        /// The kind of record.
        entity: &'static str,
        /// Why.
        reason: String,
    },
    /// Any other DynamoDB failure.
    #[error("DynamoDB {operation} on table {table:?} failed: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// The SDK's description, with its causes.
        message: String,
    },
}

impl StoreError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Aws { .. })
    }
}

/// Maps an SDK error that is not a condition failure to a [`StoreError`].
pub(crate) fn from_sdk<E, R>(operation: &'static str, table: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let table = table.to_owned();
    match err.code() {
        Some("ResourceNotFoundException") => StoreError::TableMissing { table },
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
            StoreError::Throttled { operation, table }
        }
        _ => StoreError::Aws {
            operation,
            table,
            message: crate::aws::describe(&err),
        },
    }
}
