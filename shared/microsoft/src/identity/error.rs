//! Errors of the Entra ID token endpoint, classified by their AADSTS code.

use std::time::Duration;

use model::retry::{RetryHint, Retryable};

use crate::http::RequestIds;

/// What an Entra error means for the tenant's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Throttled: try again after the delay.
    Throttled(Option<Duration>),
    /// A passing fault: try again with backoff.
    Transient,
    /// The grant is missing, revoked or expired: the tenant's admin must consent again.
    NeedsReconsent,
    /// Our request or credentials are wrong: an operator must fix configuration.
    Permanent,
}

/// Classifies an AADSTS code (see Microsoft's "Microsoft Entra authentication and authorization
/// error codes"); `None` for a code this table does not know.
pub fn verdict_for_code(code: u32, delegated: bool) -> Option<Verdict> {
    Some(match code {
        // "A transient error has occurred. Try again" (90024 RequestBudgetExceeded), temporarily
        // unavailable, a transient key or replication delay.
        90024 | 90033 => Verdict::Transient,
        // 90036 is "an unexpected, non-retryable error"; 50196 is a loop Entra cut off: retrying
        // makes it worse.
        90036 | 50196 => Verdict::Permanent,
        // Consent missing or declined; app or resource principal missing in the tenant; refresh
        // token revoked, expired or cut off by policy; an admin interaction is required.
        65001 | 65004 | 65005 | 700016 | 500011 | 50173 | 700082 | 70043 | 70008 | 50076 | 50079 | 53003
        | 50097 | 54005 | 700084 | 70000 => Verdict::NeedsReconsent,
        // The admin whose refresh token we hold was deleted or disabled: a new admin session.
        50034 | 50057 if delegated => Verdict::NeedsReconsent,
        // Bad secret or certificate, unknown client, bad request: configuration.
        7000215 | 7000222 | 90002 | 70011 | 9002313 | 700024 => Verdict::Permanent,
        _ => return None,
    })
}

/// A token request failed. Messages never contain a secret, assertion or token.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Entra answered with an error.
    #[error(
        "Entra ID refused the token request for tenant {tenant} ({error}): {description}{} ({ids})",
        advice(*verdict)
    )]
    Rejected {
        /// The tenant.
        tenant: String,
        /// HTTP status.
        status: u16,
        /// OAuth error code, e.g. `invalid_client`.
        error: String,
        /// The first AADSTS code, if any.
        code: Option<u32>,
        /// Entra's description, first line only (trace ids dropped).
        description: String,
        /// What it means.
        verdict: Verdict,
        /// Our `client-request-id` and Entra's `trace_id`, for a support case.
        ids: Box<RequestIds>,
    },
    /// The token endpoint could not be reached or answered nonsense.
    #[error("token endpoint for tenant {tenant} failed: {reason}")]
    Transport {
        /// The tenant.
        tenant: String,
        /// What went wrong.
        reason: String,
        /// Whether retrying may help.
        transient: bool,
    },
    /// A client assertion could not be built from the app's certificate.
    #[error("cannot sign a client assertion with the app's certificate: {reason}")]
    Assertion {
        /// Which part of the credential is wrong, or why its key could not sign (never its content).
        reason: String,
        /// Whether trying again may help (a key service throttled or passing fault).
        transient: bool,
    },
}

impl IdentityError {
    /// What the error means for the tenant.
    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Rejected { verdict, .. } => *verdict,
            Self::Transport { transient: true, .. } | Self::Assertion { transient: true, .. } => {
                Verdict::Transient
            }
            Self::Transport { .. } | Self::Assertion { .. } => Verdict::Permanent,
        }
    }

    /// Entra refused the grant itself (`invalid_grant`): an expired, revoked or rotated-out
    /// refresh token, among others.
    pub fn is_grant_refusal(&self) -> bool {
        matches!(self, Self::Rejected { error, .. } if error == "invalid_grant")
    }

    /// The AADSTS code, where Entra gave one.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            Self::Rejected { code, .. } => *code,
            _ => None,
        }
    }
}

impl Retryable for IdentityError {
    fn retry_hint(&self) -> RetryHint {
        match self.verdict() {
            Verdict::Throttled(Some(delay)) => RetryHint::After(delay),
            Verdict::Throttled(None) | Verdict::Transient => RetryHint::Backoff,
            Verdict::NeedsReconsent | Verdict::Permanent => RetryHint::Never,
        }
    }
}

/// The operator-facing advice for a verdict.
pub(super) fn advice(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::NeedsReconsent => {
            "; the tenant's admin must grant admin consent to the app again (the tenant is marked needs_reconsent)"
        }
        Verdict::Permanent => "; check the app registration and the app-credentials secret",
        Verdict::Throttled(_) | Verdict::Transient => "; retrying",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_mean_what_microsofts_reference_says() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/entra-error-codes.json"
        );
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        for entry in fixture["codes"].as_array().expect("codes") {
            let code = entry["code"].as_u64().expect("code") as u32;
            let delegated = entry["delegated"].as_bool().unwrap_or(false);
            let want = match entry["verdict"].as_str().expect("verdict") {
                "Transient" => Verdict::Transient,
                "Permanent" => Verdict::Permanent,
                "NeedsReconsent" => Verdict::NeedsReconsent,
                other => panic!("unknown verdict {other}"),
            };
            assert_eq!(
                verdict_for_code(code, delegated),
                Some(want),
                "{code} {}",
                entry["name"]
            );
        }
    }

    #[test]
    fn codes_are_classified() {
        for code in [65001, 700016, 50173, 700082, 70043, 500011, 70000] {
            assert_eq!(
                verdict_for_code(code, false),
                Some(Verdict::NeedsReconsent),
                "{code}"
            );
        }
        for code in [7000215, 7000222, 90002, 70011, 9002313, 90036, 50196] {
            assert_eq!(verdict_for_code(code, false), Some(Verdict::Permanent), "{code}");
        }
        for code in [90024, 90033] {
            assert_eq!(verdict_for_code(code, false), Some(Verdict::Transient), "{code}");
        }
        // A deleted or disabled user only matters when we hold that user's refresh token.
        for code in [50034, 50057] {
            assert_eq!(
                verdict_for_code(code, true),
                Some(Verdict::NeedsReconsent),
                "{code}"
            );
            assert_eq!(verdict_for_code(code, false), None, "{code}");
        }
        assert_eq!(verdict_for_code(1, false), None);
    }
}
