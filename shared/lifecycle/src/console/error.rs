//! What the operator API answers when it cannot do what was asked.

use chrono::NaiveDate;
use model::{event::EventError, sites::Site};
use state::{queue::QueueError, store::StoreError};

use crate::{onboarding::OnboardingError, sync::SyncError, tasks::TaskError};

/// A console request could not be answered; nothing was changed unless the kind says so.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The request is malformed; the message names the field.
    #[error(transparent)]
    Input(#[from] EventError),
    /// A task could not be opened or read (the same errors the task functions answer).
    #[error(transparent)]
    Task(#[from] TaskError),
    /// A consent link or Verify failed (the same errors `onboard` answers).
    #[error(transparent)]
    Onboarding(#[from] OnboardingError),
    /// A site's sync could not be started.
    #[error(transparent)]
    Sync(Box<SyncError>),
    /// The state store failed; the request can be retried.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A message could not be queued; the request can be retried.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// No run of the site on that date is kept.
    #[error(
        "no run of site {site} on {date} is recorded: runs are kept 30 days, and a site's run starts at its sync time"
    )]
    UnknownRun {
        /// The site.
        site: Site,
        /// The UTC date.
        date: NaiveDate,
    },
    /// The tenant is paused, so it is not synced; nothing changed.
    #[error("tenant {0} is paused: resume it first (POST /tenants/{0}/resume)")]
    Paused(String),
}

impl ConsoleError {
    /// A stable name for the error's kind, as the functions name theirs (`errorType`).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Input(_) => "InvalidInput",
            Self::Task(err) => err.error_type(),
            Self::Onboarding(err) => err.error_type(),
            Self::Sync(err) => err.error_type(),
            Self::Store(_) | Self::Queue(_) => "Retryable",
            Self::UnknownRun { .. } => "NotFound",
            Self::Paused(_) => "WrongLifecycleState",
        }
    }
}

impl From<SyncError> for ConsoleError {
    fn from(err: SyncError) -> Self {
        Self::Sync(Box::new(err))
    }
}

/// An invalid field of a request.
pub(super) fn invalid(field: &str, reason: impl Into<String>) -> ConsoleError {
    ConsoleError::Input(EventError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    })
}
