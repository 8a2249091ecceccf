//! What the lifecycle's calls fail with (a Microsoft surface, the token path, the state store),
//! classified once for steps and syncs alike: whether retrying helps, whether the token was
//! refused, whether the tenant's grant is gone.

use microsoft::{
    exchange::{self, ExchangeError},
    graph::GraphError,
    identity::Resource,
};
use model::retry::{RetryHint, Retryable};
use state::store::StoreError;

use crate::tokens::TokenError;

/// A call to Microsoft, the token path or the state store failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// A Graph call failed.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An Exchange call failed.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// No token could be had (the message never holds a token).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CallError {
    /// The resource whose token Microsoft refused (expired early or revoked), if that is what
    /// failed: drop it and mint a new one.
    pub fn refused_token(&self) -> Option<Resource> {
        match self {
            Self::Graph(err) if err.is_unauthorized() => Some(Resource::Graph),
            Self::Exchange(err) if err.token_refused() => Some(Resource::Exchange),
            _ => None,
        }
    }

    /// Whether the tenant's grant is gone and its admin must consent again: Entra refuses or
    /// strips the grant, or Graph refuses a call the grant should allow. (A step whose
    /// permission is optional maps Graph's refusal to an admin action before this.)
    pub fn needs_reconsent(&self) -> bool {
        match self {
            Self::Token(err) => err.needs_reconsent(),
            Self::Graph(err) => err.permission_denied(),
            _ => false,
        }
    }

    /// Whether Exchange refuses the app for want of its role (the admin must assign it).
    pub fn role_missing(&self) -> bool {
        matches!(self, Self::Exchange(err) if err.kind() == Some(exchange::Kind::RoleMissing))
    }
}

impl Retryable for CallError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Graph(err) => err.retry_hint(),
            Self::Exchange(err) => err.retry_hint(),
            Self::Token(TokenError::Identity(err)) => err.retry_hint(),
            Self::Token(TokenError::Vault(err)) if err.is_transient() => RetryHint::Backoff,
            Self::Token(TokenError::NotIssued { .. }) => RetryHint::Backoff,
            Self::Store(err) if err.is_transient() => RetryHint::Backoff,
            _ => RetryHint::Never,
        }
    }
}

/// `From` each error a call can fail with into `$error`, through its `Call` variant, so the
/// code of steps and syncs uses `?` on any call.
macro_rules! from_calls {
    ($error:ident) => {
        impl From<microsoft::graph::GraphError> for $error {
            fn from(err: microsoft::graph::GraphError) -> Self {
                Self::Call(err.into())
            }
        }

        impl From<microsoft::exchange::ExchangeError> for $error {
            fn from(err: microsoft::exchange::ExchangeError) -> Self {
                Self::Call(err.into())
            }
        }

        impl From<$crate::tokens::TokenError> for $error {
            fn from(err: $crate::tokens::TokenError) -> Self {
                Self::Call(err.into())
            }
        }

        impl From<state::store::StoreError> for $error {
            fn from(err: state::store::StoreError) -> Self {
                Self::Call(err.into())
            }
        }
    };
}
pub(crate) use from_calls;
