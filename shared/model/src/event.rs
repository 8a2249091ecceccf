//! Parsing of incoming events into typed requests, with errors that name the offending field.

use serde::de::DeserializeOwned;

/// An event could not be parsed into the function's request type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The payload is not JSON, or is truncated.
    #[error("malformed event: {reason} (line {line}, column {column})")]
    Malformed {
        /// What the JSON parser found.
        reason: String,
        /// Line of the error in the payload.
        line: usize,
        /// Column of the error in the payload.
        column: usize,
    },
    /// A field is missing, unknown, of the wrong type, or fails validation.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// Path of the field, e.g. `policy_targets.users[2]` (`.` for the event itself).
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

impl EventError {
    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Malformed { .. } => None,
            Self::Invalid { field, .. } => Some(field),
        }
    }
}

/// The most bytes an event may have; real events are a few hundred bytes.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Parses a JSON event into `T`, naming the field path on failure.
pub fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, EventError> {
    if payload.len() > MAX_EVENT_BYTES {
        return Err(EventError::Invalid {
            field: ".".to_owned(),
            reason: format!(
                "event is {} bytes; at most {MAX_EVENT_BYTES} are accepted",
                payload.len()
            ),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(into_event_error)?;
    deserializer.end().map_err(|err| EventError::Malformed {
        reason: "trailing characters after the JSON object".to_owned(),
        line: err.line(),
        column: err.column(),
    })?;
    Ok(value)
}

/// Parses an already-decoded JSON value (what the Lambda runtime hands over) into `T`.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, EventError> {
    let bytes = serde_json::to_vec(&value).map_err(|err| EventError::Malformed {
        reason: err.to_string(),
        line: 0,
        column: 0,
    })?;
    parse(&bytes)
}

/// Decodes an envelope of messages (an SQS batch) without the size bound: a batch of ten small
/// messages may exceed it, and one large message must fail alone. Each message inside is
/// parsed with [`parse`], which bounds it.
pub fn envelope<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(into_event_error)
}

/// The most characters of sender-controlled text an error repeats.
const MAX_ECHO: usize = 200;

/// Sender-controlled text made safe for an error or a log line: control characters escaped,
/// length bounded. Serde repeats unknown field names and wrong values verbatim.
fn defang(text: &str) -> String {
    let mut safe: String = text
        .chars()
        .take(MAX_ECHO)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_debug().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if text.chars().count() > MAX_ECHO {
        safe.push('…');
    }
    safe
}

fn into_event_error(err: serde_path_to_error::Error<serde_json::Error>) -> EventError {
    let path = defang(&err.path().to_string());
    let inner = err.into_inner();
    let (line, column) = (inner.line(), inner.column());
    // serde_json appends the position to its message; it is reported in its own fields instead.
    let message = inner.to_string();
    let reason = defang(
        message
            .strip_suffix(&format!(" at line {line} column {column}"))
            .unwrap_or(&message),
    );
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        EventError::Malformed { reason, line, column }
    } else {
        EventError::Invalid { field: path, reason }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::{sites::Site, tenant::TenantId};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Request {
        tenant_id: TenantId,
        site: Site,
        targets: Option<Targets>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Targets {
        sites: Vec<Site>,
    }

    const TENANT: &str = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11";

    #[test]
    fn errors_name_the_field_path() {
        let cases = [
            (
                r#"{"tenant_id":"nope","site":"eu"}"#.to_owned(),
                "tenant_id",
                "expected a tenant GUID",
            ),
            (
                format!(r#"{{"tenant_id":"{TENANT}","site":"mars"}}"#),
                "site",
                "unknown site",
            ),
            (
                format!(r#"{{"tenant_id":"{TENANT}"}}"#),
                ".",
                "missing field `site`",
            ),
            (
                format!(r#"{{"tenant_id":"{TENANT}","site":"eu","x":1}}"#),
                "x",
                "unknown field `x`",
            ),
            (
                r#"{"tenant_id":42,"site":"eu"}"#.to_owned(),
                "tenant_id",
                "invalid type",
            ),
            (
                format!(r#"{{"tenant_id":"{TENANT}","site":"eu","targets":{{"sites":["eu","zz"]}}}}"#),
                "targets.sites[1]",
                "unknown site",
            ),
        ];
        for (payload, field, reason) in cases {
            let err = parse::<Request>(payload.as_bytes()).expect_err(&payload);
            assert_eq!(err.field(), Some(field), "{payload}: {err}");
            assert!(err.to_string().contains(reason), "{payload}: {err}");
        }
    }

    #[test]
    fn malformed_and_oversized_payloads_are_rejected() {
        let trailing = format!(r#"{{"tenant_id":"{TENANT}","site":"eu"}} trailing"#);
        for payload in [
            &b"{"[..],
            b"",
            b"not json",
            b"{\"tenant_id\": ",
            trailing.as_bytes(),
        ] {
            let err = parse::<Request>(payload).expect_err("malformed");
            assert!(matches!(err, EventError::Malformed { .. }), "{err}");
        }
        let huge = format!(r#"{{"tenant_id":"{}"}}"#, "a".repeat(MAX_EVENT_BYTES));
        assert!(
            parse::<Request>(huge.as_bytes())
                .expect_err("huge")
                .to_string()
                .contains("at most")
        );
    }

    #[test]
    fn hostile_text_is_escaped_and_bounded_in_errors() {
        let payload = format!(
            r#"{{"tenant_id":"{TENANT}","site":"eu","\u0000x":1,"y":"{}"}}"#,
            "z".repeat(5_000)
        );
        let err = parse::<Request>(payload.as_bytes()).expect_err("unknown field");
        let text = err.to_string();
        assert!(!text.contains('\0'), "{text:?}");
        assert!(text.contains("\\0x"), "{text:?}");
        let long = format!(r#"{{"tenant_id":{{"a":"{}"}},"site":"eu"}}"#, "q".repeat(5_000));
        let err = parse::<Request>(long.as_bytes()).expect_err("wrong type");
        assert!(err.to_string().len() < 600, "{}", err.to_string().len());
    }

    #[test]
    fn valid_event_parses() {
        let payload = format!(r#"{{"tenant_id":"{TENANT}","site":"jp"}}"#);
        let request: Request = parse(payload.as_bytes()).expect("valid");
        assert_eq!(
            (request.tenant_id.to_string(), request.site),
            (TENANT.to_owned(), Site::Jp)
        );
    }
}
