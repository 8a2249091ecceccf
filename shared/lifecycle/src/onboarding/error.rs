//! What can go wrong while onboarding; every message says what to do.

use microsoft::identity::DiscoveryError;
use model::event::EventError;
use state::{seal::SealError, store::StoreError};

use crate::{calls::CallError, tasks::TaskError, tokens::TokenError};

/// Onboarding failed; nothing was changed unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    /// The `state` was changed, forged, or is not one of ours.
    #[error(
        "the consent link's state was changed or was not made by this deployment: ask the operator for a new link"
    )]
    StateTampered,
    /// The `state` is not a sealed state at all.
    #[error(
        "the consent answer's state is not a consent link's state ({reason}): open the link the operator sent"
    )]
    StateMalformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The link is older than its lifetime.
    #[error("the consent link expired at {expired_at}: ask the operator for a new link")]
    StateExpired {
        /// When it expired.
        expired_at: chrono::DateTime<chrono::Utc>,
    },
    /// The link's answer was already received.
    #[error(
        "this consent link was already used at {answered_at}: nothing was changed; ask the operator for a new link to consent again"
    )]
    StateReplayed {
        /// When its answer was recorded.
        answered_at: chrono::DateTime<chrono::Utc>,
    },
    /// The link's request is gone (expired from the table) or never was.
    #[error("no consent request is recorded for this link: ask the operator for a new link")]
    UnknownRequest,
    /// Microsoft's answer names another tenant than the link was made for.
    #[error(
        "the consent answer names tenant {answered}, but the link was made for {expected}: nothing was recorded; consent from the tenant the link names"
    )]
    OtherTenant {
        /// The tenant of the link.
        expected: String,
        /// The tenant the answer named.
        answered: String,
    },
    /// Microsoft's answer is neither a grant nor a documented refusal.
    #[error("the consent answer is not one Microsoft documents ({reason})")]
    Answer {
        /// What is missing or wrong.
        reason: String,
    },
    /// The event is not a link request or a verify request; the message names the field.
    #[error(transparent)]
    Input(#[from] EventError),
    /// The tenant was named by a domain no tenant of the cloud has, or discovery failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The deployment cannot make links: no redirect URI.
    #[error(
        "environment variable CONSENT_REDIRECT_URI is not set: set the stack parameter ConsentRedirectUri to the stack output ConsentCallbackUrl (and register it on the app registration)"
    )]
    NoRedirectUri,
    /// Verify could not finish (Microsoft, the token path or the store failed); nothing changed.
    #[error("Verify could not finish: {0}")]
    Verify(Box<CallError>),
    /// The app's credentials (its client id) could not be read for the link.
    #[error("the app's credentials could not be read for the consent link: {0}")]
    AppCredentials(Box<CallError>),
    /// The provisioning the operator asked for could not be opened.
    #[error(transparent)]
    Task(Box<TaskError>),
    /// KMS could not seal or open the state.
    #[error("{0}")]
    Seal(SealError),
    /// The state table could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OnboardingError {
    /// The Lambda `errorType` (README: Errors).
    pub fn error_type(&self) -> &'static str {
        use model::retry::{RetryHint, Retryable as _};
        match self {
            Self::StateTampered
            | Self::StateMalformed { .. }
            | Self::StateExpired { .. }
            | Self::StateReplayed { .. }
            | Self::OtherTenant { .. }
            | Self::Answer { .. }
            | Self::Input(_) => "InvalidInput",
            Self::UnknownRequest | Self::Discovery(DiscoveryError::UnknownDomain { .. }) => "NotFound",
            Self::Discovery(DiscoveryError::Transport { transient: false, .. }) => "MicrosoftRefused",
            Self::NoRedirectUri | Self::Seal(SealError::Kms { transient: false, .. }) => "Configuration",
            Self::Task(err) => err.error_type(),
            Self::Verify(err) | Self::AppCredentials(err) => match &**err {
                err if err.needs_reconsent() => "NeedsReconsent",
                err if err.retry_hint() != RetryHint::Never => "Retryable",
                CallError::Graph(_) | CallError::Exchange(_) | CallError::Token(TokenError::Identity(_)) => {
                    "MicrosoftRefused"
                }
                _ => "Configuration",
            },
            Self::Discovery(_) | Self::Seal(_) | Self::Store(_) => "Retryable",
        }
    }
}

impl From<CallError> for OnboardingError {
    fn from(err: CallError) -> Self {
        Self::Verify(Box::new(err))
    }
}

impl From<TaskError> for OnboardingError {
    fn from(err: TaskError) -> Self {
        Self::Task(Box::new(err))
    }
}

impl From<SealError> for OnboardingError {
    fn from(err: SealError) -> Self {
        match err {
            SealError::Tampered => Self::StateTampered,
            SealError::Malformed { reason } => Self::StateMalformed { reason },
            kms @ SealError::Kms { .. } => Self::Seal(kms),
        }
    }
}
