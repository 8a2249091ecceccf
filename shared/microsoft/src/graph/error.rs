//! Graph's error envelope and what each error means for the caller.

use std::time::Duration;

use model::retry::{RetryHint, Retryable};
use serde::Deserialize;

use crate::http::RequestIds;

/// Graph's documented error body: `{"error": {"code", "message", "innerError"}}`.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub(super) error: Body,
}

#[derive(Debug, Deserialize)]
pub(super) struct Body {
    #[serde(default)]
    pub(super) code: String,
    #[serde(default)]
    pub(super) message: String,
}

/// A Graph call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    /// Graph answered with an error status.
    #[error("Graph {method} {path} answered {status} {code}: {message}{}", crate::http::naming(.ids.as_deref()))]
    Status {
        /// HTTP method (a static name keeps the error small).
        method: &'static str,
        /// Path of the call, without host or query (no token is ever in it).
        path: String,
        /// HTTP status.
        status: u16,
        /// Graph's error code, e.g. `Request_ResourceNotFound`.
        code: String,
        /// Graph's message.
        message: String,
        /// The server's requested delay, if any.
        retry_after: Option<Duration>,
        /// The request's ids, for a support case (none for a `$batch` sub-answer).
        ids: Option<Box<RequestIds>>,
    },
    /// Graph could not be reached, or answered something that is not the documented JSON.
    #[error("Graph {method} {path} failed: {reason}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Path of the call.
        path: String,
        /// What went wrong.
        reason: String,
        /// Whether retrying may help.
        transient: bool,
    },
    /// A paging link pointed away from the configured Graph host; it was not followed.
    #[error("Graph returned a link to {link_host:?}, not the configured Graph host; not following it")]
    ForeignLink {
        /// The host of the link.
        link_host: String,
    },
}

impl GraphError {
    /// The error naming the request it answered, for a support case.
    pub(crate) fn with_ids(mut self, request: RequestIds) -> Self {
        if let Self::Status { ids, .. } = &mut self {
            *ids = Some(Box::new(request));
        }
        self
    }

    /// The HTTP status, if Graph answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Graph's error code, if Graph answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Status { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Graph refused to make what exists already: "One or more added object references already
    /// exist" (a member), "Another object with the same value for property proxyAddresses already
    /// exists" (a group), "A conflicting object with one or more of the specified property values
    /// is present" (a role assignment). All are 400 Bad Request.
    pub fn already_exists(&self) -> bool {
        let text = self.to_string();
        self.status() == Some(400) && (text.contains("already exist") || text.contains("conflicting object"))
    }

    /// The object does not exist (deleting it again is success).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The delta token is no longer valid: start over with a full listing.
    pub fn is_sync_reset(&self) -> bool {
        self.status() == Some(410)
            || self
                .code()
                .is_some_and(|c| c.eq_ignore_ascii_case("syncStateNotFound") || c == "resyncRequired")
    }

    /// The token was refused (expired or revoked): mint a new one.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// The app lacks a permission or consent in the tenant.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// The directory refused the call for want of a permission (403
    /// `Authorization_RequestDenied`, "Insufficient privileges to complete the operation."): the
    /// token does not carry what the call needs, so the grant no longer holds it.
    pub fn permission_denied(&self) -> bool {
        self.is_forbidden() && self.code() == Some("Authorization_RequestDenied")
    }
}

impl Retryable for GraphError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Status {
                status: 429 | 503 | 504,
                retry_after: Some(delay),
                ..
            } => RetryHint::After(*delay),
            Self::Status {
                status: 429 | 500 | 502 | 503 | 504,
                ..
            } => RetryHint::Backoff,
            Self::Transport { transient: true, .. } => RetryHint::Backoff,
            _ => RetryHint::Never,
        }
    }
}
