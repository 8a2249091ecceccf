//! Errors of the sync functions, in words an operator can act on.

use model::{
    event::EventError,
    retry::{RetryHint, Retryable},
};
use state::queue::QueueError;

use crate::{
    calls::{CallError, from_calls},
    tasks::StepError,
};

/// A tenant's sync or a site's fan-out failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The event is malformed; the message names the field.
    #[error(transparent)]
    Input(#[from] EventError),
    /// A call to Microsoft, the token path or the state table failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The sync queue refused messages.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A repair through a provisioning step failed.
    #[error("repairing drift failed: {0}")]
    Repair(#[from] StepError),
    /// DynamoDB refused a batched snapshot write.
    #[error("writing the directory snapshot to table {table:?} failed: {message}")]
    Snapshot {
        /// The table.
        table: String,
        /// What DynamoDB said.
        message: String,
        /// Whether some items were only left unprocessed (throttling): retrying helps.
        unprocessed: bool,
    },
    /// Another worker is syncing the tenant; the message is delivered again later.
    #[error(
        "tenant {tenant} is being synced by run {run} until {until}; the message will be delivered again"
    )]
    Busy {
        /// The tenant.
        tenant: String,
        /// The run whose worker holds the tenant.
        run: String,
        /// When its claim lapses.
        until: String,
    },
}

from_calls!(SyncError);

impl SyncError {
    /// The Lambda `errorType` (README: Errors).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Input(_) => "InvalidInput",
            _ => "Retryable",
        }
    }

    /// Whether the tenant's grant is gone and its admin must consent again.
    pub fn needs_reconsent(&self) -> bool {
        match self {
            Self::Call(err) => err.needs_reconsent(),
            Self::Repair(err) => err.needs_reconsent(),
            _ => false,
        }
    }

    /// Microsoft refused the token (expired early or revoked): mint a new one.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Call(err) if err.refused_token().is_some())
    }
}

impl Retryable for SyncError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Snapshot {
                unprocessed: true, ..
            } => RetryHint::Backoff,
            Self::Call(err) => err.retry_hint(),
            _ => RetryHint::Never,
        }
    }
}
