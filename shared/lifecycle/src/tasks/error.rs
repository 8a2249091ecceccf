//! Errors of tasks: a step that could not finish, and a task function that could not do what was
//! asked (bad request, wrong lifecycle state, store or queue failure).

use microsoft::identity::Resource;
use model::{
    event::EventError,
    retry::{RetryHint, Retryable},
    task::StepErrorKind,
    tenant::LifecycleState,
};
use state::{queue::QueueError, store::StoreError};

use crate::calls::{CallError, from_calls};

/// A step could not finish.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A call to Microsoft, the token path or the store failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The tenant's admin must do something first; the message says what.
    #[error("{0}")]
    AdminAction(String),
    /// The app is not (or no longer) consented in the tenant; the message says what to do.
    #[error("{0}")]
    Reconsent(String),
    /// Something Microsoft answered makes the step impossible; the message says what.
    #[error("{0}")]
    Failed(String),
}

from_calls!(StepError);

impl StepError {
    /// Whether the tenant's grant is gone and its admin must consent again.
    pub fn needs_reconsent(&self) -> bool {
        match self {
            Self::Call(err) => err.needs_reconsent(),
            Self::Reconsent(_) => true,
            _ => false,
        }
    }

    /// The resource whose token was refused, if that is what failed.
    pub fn refused_token(&self) -> Option<Resource> {
        match self {
            Self::Call(err) => err.refused_token(),
            _ => None,
        }
    }

    /// The kind recorded on the step.
    pub fn kind(&self) -> StepErrorKind {
        match (self.needs_reconsent(), self, self.retry_hint()) {
            (true, _, _) => StepErrorKind::NeedsReconsent,
            (_, Self::AdminAction(_), _) => StepErrorKind::AdminAction,
            (_, Self::Call(err), _) if err.role_missing() => StepErrorKind::AdminAction,
            (_, _, RetryHint::After(_)) => StepErrorKind::Throttled,
            (_, _, RetryHint::Backoff) => StepErrorKind::Transient,
            _ => StepErrorKind::Failed,
        }
    }
}

impl Retryable for StepError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            // The runner drops the refused token; the next attempt mints a new one.
            Self::Call(err) if err.refused_token().is_some() => RetryHint::Backoff,
            Self::Call(err) => err.retry_hint(),
            _ => RetryHint::Never,
        }
    }
}

/// A task function (`provision`, `deprovision`, `policy-targets`) or `status` could not do what
/// was asked.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The event is malformed; nothing was changed.
    #[error(transparent)]
    Input(#[from] EventError),
    /// The tenant is in a state that does not allow this request; nothing was changed.
    #[error("invalid `tenant_id`: tenant {tenant} is {state}; {hint}")]
    WrongState {
        /// The tenant.
        tenant: String,
        /// Its state.
        state: LifecycleState,
        /// What to do instead.
        hint: &'static str,
    },
    /// Messages are held in quarantine and the request did not acknowledge them; nothing changed.
    #[error(
        "invalid `acknowledge_quarantine`: tenant {tenant} has {count} quarantined message(s); review or release \
         them, then deprovision with \"acknowledge_quarantine\": true"
    )]
    Quarantine {
        /// The tenant.
        tenant: String,
        /// Messages in quarantine.
        count: u64,
    },
    /// No such task.
    #[error("invalid `task_id`: no task {0} exists (finished tasks expire after 30 days)")]
    UnknownTask(String),
    /// The task is of a kind this function does not run; nothing was changed.
    #[error(
        "invalid `task_id`: task {task} is a {kind:?} task, which `{called}` does not run; continue it with `{owner}`"
    )]
    WrongKind {
        /// The task.
        task: String,
        /// Its kind.
        kind: model::task::TaskKind,
        /// The function that was invoked.
        called: &'static str,
        /// The function that runs it.
        owner: &'static str,
    },
    /// No such tenant.
    #[error("invalid `tenant_id`: tenant {0} is not under management")]
    UnknownTenant(String),
    /// The configuration of the function is incomplete.
    #[error("configuration: {0}")]
    Config(String),
    /// The state store failed; the event can be retried.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A continuation could not be queued; the event can be retried.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A sync of the tenant is running; nothing changed.
    #[error(
        "tenant {tenant} is being synced (until {until} at the latest); nothing was changed: send the request again after it"
    )]
    Syncing {
        /// The tenant.
        tenant: String,
        /// When the sync's claim lapses.
        until: String,
    },
    /// The request could not be checked against the tenant's directory; nothing changed.
    #[error("the request could not be checked against the tenant's directory ({0}); nothing was changed")]
    Lookup(#[source] Box<CallError>),
    /// Other writers kept changing the tenant while its task was being opened; nothing changed.
    #[error("tenant {0} kept changing while its task was being opened; retry the request")]
    Contended(String),
}

impl TaskError {
    /// A stable name for the error's kind (the Lambda error type).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Input(_) | Self::WrongKind { .. } => "InvalidInput",
            Self::WrongState { .. } => "WrongLifecycleState",
            Self::Quarantine { .. } => "QuarantineNotAcknowledged",
            Self::UnknownTask(_) | Self::UnknownTenant(_) => "NotFound",
            Self::Config(_) => "Configuration",
            Self::Store(_) | Self::Queue(_) | Self::Contended(_) | Self::Syncing { .. } => "Retryable",
            Self::Lookup(err) if err.needs_reconsent() => "NeedsReconsent",
            Self::Lookup(err) if err.retry_hint() != RetryHint::Never => "Retryable",
            Self::Lookup(_) => "MicrosoftRefused",
        }
    }
}
