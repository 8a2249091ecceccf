//! Errors of the sync functions, in words an operator can act on.

use microsoft::{exchange::ExchangeError, graph::GraphError};
use model::{
    event::EventError,
    retry::{RetryHint, Retryable},
};
use state::{queue::QueueError, store::StoreError};

use crate::{tasks::StepError, tokens::TokenError};

/// A tenant's sync or a site's fan-out failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The event is malformed; the message names the field.
    #[error(transparent)]
    Input(#[from] EventError),
    /// A Graph call failed.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An Exchange call failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// No token could be had (the message never holds a token).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The state table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

impl SyncError {
    /// The Lambda `errorType` (README: Errors).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Input(_) => "InvalidInput",
            _ => "Retryable",
        }
    }

    /// Microsoft refused the token (expired early or revoked): mint a new one.
    pub fn is_unauthorized(&self) -> bool {
        match self {
            Self::Graph(err) => err.is_unauthorized(),
            Self::Exchange(err) => err.token_refused(),
            _ => false,
        }
    }
}

impl Retryable for SyncError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Snapshot {
                unprocessed: true, ..
            } => RetryHint::Backoff,
            Self::Graph(err) => err.retry_hint(),
            Self::Exchange(err) => err.retry_hint(),
            _ => RetryHint::Never,
        }
    }
}
