//! Exchange's error envelope and what each error means for the caller.

use std::time::Duration;

use model::retry::{RetryHint, Retryable};
use serde::Deserialize;

use crate::http::RequestIds;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Envelope {
    #[serde(default)]
    pub(super) error: Body,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Body {
    #[serde(default)]
    pub(super) code: String,
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) details: Vec<Detail>,
    #[serde(default)]
    pub(super) innererror: Option<Inner>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Detail {
    #[serde(default)]
    pub(super) message: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Inner {
    #[serde(default)]
    pub(super) message: String,
    #[serde(default, rename = "internalException")]
    pub(super) internal_exception: Option<Box<Inner>>,
}

impl Body {
    /// The most specific message: `details[].message`, then `innererror` (its internal
    /// exception first), then `message`.
    pub(super) fn best_message(&self) -> String {
        let detail = self
            .details
            .iter()
            .map(|d| d.message.trim())
            .find(|m| !m.is_empty());
        let inner = self.innererror.as_ref().and_then(|inner| {
            let internal = inner
                .internal_exception
                .as_ref()
                .map(|e| e.message.trim())
                .filter(|m| !m.is_empty());
            internal.or(Some(inner.message.trim()).filter(|m| !m.is_empty()))
        });
        detail.or(inner).unwrap_or(self.message.trim()).to_owned()
    }
}

/// What an Exchange error means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The object is not there (removing it again is success).
    NotFound,
    /// An object of that name already exists.
    AlreadyExists,
    /// The app has no Exchange role (or its token predates the role assignment).
    RoleMissing,
    /// The token was refused (expired or revoked): mint a new one.
    Unauthorized,
    /// Throttled or unavailable.
    Throttled,
    /// Anything else the cmdlet refused.
    Rejected,
}

/// An Exchange call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    /// The cmdlet failed.
    #[error("Exchange {cmdlet} answered {status}: {message}{}", crate::http::naming(.ids.as_deref()))]
    Cmdlet {
        /// The cmdlet.
        cmdlet: String,
        /// HTTP status.
        status: u16,
        /// The most specific message Exchange gave.
        message: String,
        /// What it means.
        kind: Kind,
        /// The server's requested delay.
        retry_after: Option<Duration>,
        /// The request's ids, for a support case (none for a `$batch` sub-answer).
        ids: Option<Box<RequestIds>>,
    },
    /// Exchange could not be reached, or answered something undocumented.
    #[error("Exchange {cmdlet} failed: {reason}")]
    Transport {
        /// The cmdlet.
        cmdlet: String,
        /// What went wrong.
        reason: String,
        /// Whether retrying may help.
        transient: bool,
    },
    /// A paging link pointed away from the configured Exchange host; it was not followed.
    #[error("Exchange returned a link to another host for {cmdlet}; not following it")]
    ForeignLink {
        /// The cmdlet.
        cmdlet: String,
    },
}

impl ExchangeError {
    /// The error naming the request it answered, for a support case.
    pub(crate) fn with_ids(mut self, request: RequestIds) -> Self {
        if let Self::Cmdlet { ids, .. } = &mut self {
            *ids = Some(Box::new(request));
        }
        self
    }

    /// What the error means, if Exchange answered.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Self::Cmdlet { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether a newly minted token may succeed where this one failed: it was refused, or it
    /// lacks a role that was assigned after it was minted (a process's cached copy can).
    pub fn token_refused(&self) -> bool {
        matches!(self.kind(), Some(Kind::Unauthorized | Kind::RoleMissing))
    }
}

/// The error for a non-success answer to `cmdlet`, from Exchange's envelope where there is one
/// (an `InvokeCommand` answer or one `$batch` sub-answer alike).
pub(super) fn from_answer(
    cmdlet: &str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ExchangeError {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let mut message = envelope.error.best_message();
    if message.is_empty() {
        message = String::from_utf8_lossy(body).into_owned();
    }
    // Classified on the whole text; kept bounded and escaped (Exchange echoes names and values).
    let kind = classify(status, &envelope.error.code, &message);
    ExchangeError::Cmdlet {
        cmdlet: cmdlet.to_owned(),
        status,
        message: model::validation::bounded_text(&message, model::validation::MAX_REMOTE_TEXT),
        kind,
        retry_after,
        ids: None,
    }
}

/// Classifies an error by status and message (Exchange has few stable codes).
pub(super) fn classify(status: u16, code: &str, message: &str) -> Kind {
    let lower = message.to_ascii_lowercase();
    // ExoHelper retries 408 as well, and the concurrency refusal whatever its status (its body
    // is plain text, not the JSON envelope).
    if matches!(status, 408 | 429 | 503 | 504)
        || code.contains("Throttl")
        || lower.contains("maximum number of concurrent requests")
    {
        Kind::Throttled
    } else if lower.contains("isn't assigned to any management roles")
        || lower.contains("not assigned to any management roles")
        // The REST endpoint's wording when the app's role does not allow the cmdlet.
        || (status == 401 || status == 403)
            && (lower.contains("role") || lower.contains("is not allowed to call"))
    {
        Kind::RoleMissing
    } else if status == 401 {
        Kind::Unauthorized
    } else if lower.contains("couldn't be found") || lower.contains("could not be found") || status == 404 {
        Kind::NotFound
    } else if lower.contains("already exists") || lower.contains("already being used") {
        Kind::AlreadyExists
    } else {
        Kind::Rejected
    }
}

impl Retryable for ExchangeError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Cmdlet {
                kind: Kind::Throttled,
                retry_after: Some(delay),
                ..
            } => RetryHint::After(*delay),
            Self::Cmdlet {
                kind: Kind::Throttled,
                ..
            } => RetryHint::Backoff,
            Self::Cmdlet {
                status: 500 | 502, ..
            } => RetryHint::Backoff,
            Self::Transport { transient: true, .. } => RetryHint::Backoff,
            _ => RetryHint::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_error_text_is_classified_whole_and_kept_bounded() {
        let long = format!(
            "{}\r\nforged line The user is not allowed to call Get-InboundConnector",
            "x".repeat(3_000)
        );
        let body = serde_json::json!({"error": {"code": "x", "message": long}}).to_string();
        let err = from_answer("Get-InboundConnector", 403, body.as_bytes(), None);
        assert_eq!(
            err.kind(),
            Some(Kind::RoleMissing),
            "classified on the whole text"
        );
        let text = err.to_string();
        assert!(!text.contains('\r') && !text.contains('\n'), "{text}");
        assert!(text.chars().count() < 700, "{}", text.chars().count());
    }

    fn body(json: &str) -> Body {
        serde_json::from_str::<Envelope>(json).expect("envelope").error
    }

    #[test]
    fn the_most_specific_message_wins() {
        let all = body(
            r#"{"error":{"code":"InternalServerError","message":"outer","details":[{"message":"detail","target":""}],
                "innererror":{"message":"inner","internalException":{"message":"internal"}}}}"#,
        );
        assert_eq!(all.best_message(), "detail");
        let inner = body(
            r#"{"error":{"message":"outer","details":[],"innererror":{"message":"inner","internalException":{"message":"internal"}}}}"#,
        );
        assert_eq!(inner.best_message(), "internal");
        let plain = body(r#"{"error":{"message":"outer"}}"#);
        assert_eq!(plain.best_message(), "outer");
    }

    #[test]
    fn what_production_callers_retry_is_throttling_here() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/exchange-retryable-answers.json"
        );
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        for answer in fixture["answers"].as_array().expect("answers") {
            let status = answer["status"].as_u64().expect("status") as u16;
            let body = answer["body"].as_str().expect("body");
            let err = from_answer("Get-AcceptedDomain", status, body.as_bytes(), None);
            assert_eq!(err.kind(), Some(Kind::Throttled), "{status} {body}");
            assert_ne!(err.retry_hint(), RetryHint::Never, "{status} {body}");
        }
    }

    #[test]
    fn errors_are_classified_by_status_and_message() {
        assert_eq!(
            classify(
                400,
                "",
                "The operation couldn't be performed because object 'x' couldn't be found on 'y'."
            ),
            Kind::NotFound
        );
        assert_eq!(
            classify(400, "", "A transport rule with the name 'x' already exists."),
            Kind::AlreadyExists
        );
        assert_eq!(
            classify(
                401,
                "",
                "The role assigned to application x isn't assigned to any management roles"
            ),
            Kind::RoleMissing
        );
        assert_eq!(
            classify(401, "Unauthorized", "User is not allowed to call Get-Mailbox"),
            Kind::RoleMissing,
            "the REST wording of a missing role (office-docs-powershell#7970)"
        );
        assert_eq!(classify(401, "", "Token expired"), Kind::Unauthorized);
        assert_eq!(classify(429, "", "Too many requests"), Kind::Throttled);
        assert_eq!(classify(408, "", "Request timeout"), Kind::Throttled);
        assert_eq!(
            classify(
                400,
                "",
                "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
            ),
            Kind::Throttled,
            "ExoHelper retries this body whatever the status"
        );
        assert_eq!(
            classify(400, "", "All rules have to include at least one action."),
            Kind::Rejected
        );
    }
}
