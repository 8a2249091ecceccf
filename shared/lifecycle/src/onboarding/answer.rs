//! Microsoft's answer at the redirect URI ("Admin consent on the Microsoft identity platform"):
//! a grant (`admin_consent=True`, `tenant`, `scope`) or a refusal (`error`, `error_description`).

use std::collections::HashMap;

use model::validation::{MAX_REMOTE_TEXT, bounded_text};

use super::OnboardingError;

/// The most characters of Microsoft's `error` code kept.
const MAX_ERROR_CODE: usize = 64;

/// What the admin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentAnswer {
    /// An administrator granted the permissions.
    Granted {
        /// The tenant Microsoft names (never believed alone: it must be the link's).
        tenant: String,
        /// The scope granted.
        scope: String,
    },
    /// Refused, cancelled or failed.
    Refused {
        /// Microsoft's `error`, e.g. `access_denied` (bounded, made safe).
        error: String,
        /// The first line of `error_description`, e.g. `AADSTS65004: User declined ...`
        /// (bounded, made safe).
        description: String,
    },
}

impl ConsentAnswer {
    /// Reads the redirect's query parameters (`state` is read apart).
    pub fn parse(query: &HashMap<String, String>) -> Result<Self, OnboardingError> {
        if let Some(error) = query.get("error") {
            let description = query
                .get("error_description")
                .map(String::as_str)
                .unwrap_or_default();
            return Ok(Self::Refused {
                error: bounded_text(error, MAX_ERROR_CODE),
                description: bounded_text(
                    description.lines().next().unwrap_or_default().trim(),
                    MAX_REMOTE_TEXT,
                ),
            });
        }
        let granted = query
            .get("admin_consent")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        match (granted, query.get("tenant")) {
            (true, Some(tenant)) => Ok(Self::Granted {
                tenant: bounded_text(tenant, MAX_ERROR_CODE),
                scope: bounded_text(
                    query.get("scope").map(String::as_str).unwrap_or_default(),
                    MAX_REMOTE_TEXT,
                ),
            }),
            _ => Err(OnboardingError::Answer {
                reason: "neither admin_consent=True with a tenant nor an error".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn grants_and_refusals_read_as_documented_and_microsofts_text_is_bounded() {
        let granted = ConsentAnswer::parse(&query(&[
            ("admin_consent", "True"),
            ("tenant", "aaaabbbb-0000-cccc-1111-dddd2222eeee"),
            ("scope", "https://graph.microsoft.com/.default"),
        ]));
        assert!(
            matches!(granted, Ok(ConsentAnswer::Granted { ref tenant, .. }) if tenant == "aaaabbbb-0000-cccc-1111-dddd2222eeee")
        );
        let long = format!("AADSTS65004: User declined.\r\nTrace ID: x{}", "y".repeat(2000));
        let Ok(ConsentAnswer::Refused { error, description }) = ConsentAnswer::parse(&query(&[
            ("admin_consent", "True"),
            ("error", "access_denied"),
            ("error_description", &long),
        ])) else {
            panic!("a refusal")
        };
        assert_eq!(error, "access_denied");
        assert_eq!(description, "AADSTS65004: User declined.", "the first line only");
        let hostile = "<script>\u{202e}".repeat(200);
        let Ok(ConsentAnswer::Refused { description, .. }) =
            ConsentAnswer::parse(&query(&[("error", "x"), ("error_description", &hostile)]))
        else {
            panic!("a refusal")
        };
        // Cut to its first characters, the direction override shown as an escape (the page
        // escapes the HTML).
        assert!(
            description.ends_with('…') && !description.contains('\u{202e}'),
            "{description}"
        );
        assert!(description.contains("\\u{202e}"), "{description}");
        assert!(
            ConsentAnswer::parse(&query(&[("admin_consent", "True")])).is_err(),
            "no tenant"
        );
        assert!(ConsentAnswer::parse(&query(&[])).is_err());
    }
}
