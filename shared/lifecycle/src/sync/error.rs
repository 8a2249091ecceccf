//! Errors of the sync functions, in words an operator can act on.

use lambda_runtime::Diagnostic;
use microsoft::{exchange::ExchangeError, graph::GraphError};
use model::{
    event::EventError,
    retry::{RetryHint, Retryable},
};
use state::{queue::QueueError, store::StoreError};

use crate::{tasks::StepError, tokens::TokenError};

/// A sync, a fan-out or a policy update failed.
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
    /// The tenant is not under management.
    #[error("tenant {0} is not under management: provision it first")]
    UnknownTenant(String),
    /// A policy target does not exist in the tenant.
    #[error("{0}")]
    AdminAction(String),
    /// The tenant is in a lifecycle state that does not allow the request.
    #[error("tenant {tenant} is {state}; {what} needs an active tenant")]
    WrongState {
        /// The tenant.
        tenant: String,
        /// Its state.
        state: String,
        /// What was asked.
        what: &'static str,
    },
    /// Provisioning left no record of an object the request needs.
    #[error("{0}")]
    NotProvisioned(String),
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
            Self::Input(_) | Self::AdminAction(_) => "InvalidInput",
            Self::WrongState { .. } => "WrongLifecycleState",
            Self::UnknownTenant(_) | Self::NotProvisioned(_) => "NotFound",
            _ => "Retryable",
        }
    }
}

impl SyncError {
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

impl From<SyncError> for Diagnostic {
    fn from(err: SyncError) -> Self {
        Self {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        }
    }
}
