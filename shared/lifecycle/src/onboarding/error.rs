//! What can go wrong while onboarding; every message says what to do.

use state::{seal::SealError, store::StoreError};

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
    /// KMS could not seal or open the state.
    #[error("{0}")]
    Seal(SealError),
    /// The state table could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
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
