//! Validation of values that come from outside (events, environment, secrets).

use serde::{Deserialize, Deserializer, de};

/// A value failed validation; names the field so the sender can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {reason}")]
pub struct ValidationError {
    /// The field, as the sender named it (`tenant_id`, `policy_targets.users[2]`).
    pub field: String,
    /// What is wrong and what is expected instead.
    pub reason: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A type that can only be built from a string that passes its checks.
pub trait Validated: Sized {
    /// The field name used when the value is parsed on its own.
    const FIELD: &'static str;

    /// Checks `raw`; the error is the reason alone, without the field name.
    fn validate(raw: &str) -> Result<Self, String>;

    /// Parses `raw`, naming [`Self::FIELD`] in the error.
    fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::validate(raw).map_err(|reason| ValidationError::new(Self::FIELD, reason))
    }
}

/// Deserializes a [`Validated`] type from a JSON string; the event parser adds the field path.
pub fn deserialize_validated<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Validated,
{
    let raw = String::deserialize(deserializer)?;
    T::validate(&raw).map_err(de::Error::custom)
}

/// Quotes a rejected value for an error message, shortened and with control characters escaped,
/// so hostile input cannot flood or forge log lines.
pub fn quote(raw: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut quoted: String = raw.chars().take(MAX_CHARS).flat_map(char::escape_debug).collect();
    if raw.chars().count() > MAX_CHARS {
        quoted.push('…');
    }
    format!("\"{quoted}\"")
}

/// The most characters of a remote party's text (Microsoft's error messages, tenant-chosen
/// names) that an error, a record or an answer repeats.
pub const MAX_REMOTE_TEXT: usize = 500;

/// Text from a remote party made safe to store and show: at most `max` characters, control
/// characters escaped, and the invisible direction marks and overrides (U+200E, U+200F,
/// U+202A-U+202E, U+2066-U+2069) that can make a line read differently from what it says shown
/// as escapes.
pub fn bounded_text(raw: &str, max: usize) -> String {
    let mut safe: String = raw
        .chars()
        .take(max)
        .flat_map(|c| {
            let bidi =
                matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if raw.chars().count() > max {
        safe.push('…');
    }
    safe
}

/// Implements `FromStr`, `Deserialize` and `TryFrom<String>` for a [`Validated`] type.
macro_rules! validated_string_type {
    ($ty:ty) => {
        impl std::str::FromStr for $ty {
            type Err = $crate::validation::ValidationError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                <Self as $crate::validation::Validated>::parse(raw)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::validation::deserialize_validated(deserializer)
            }
        }
    };
}
pub(crate) use validated_string_type;

/// Implements `Display` (the hyphenated GUID), `Debug` (`Name(guid)`) and `Serialize` (as text)
/// for a newtype over a `Uuid`.
macro_rules! guid_type {
    ($ty:ident) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}
pub(crate) use guid_type;

/// A [`Validated`] type named by a code (`eu`, `exchange_online`): `validated_string_type!`,
/// and `Display` as its `code()`.
macro_rules! code_type {
    ($ty:ty) => {
        $crate::validation::validated_string_type!($ty);

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use code_type;

#[cfg(test)]
mod tests {
    use super::{MAX_REMOTE_TEXT, bounded_text, quote};

    #[test]
    fn remote_text_is_bounded_and_its_controls_and_direction_marks_escaped() {
        let hostile = format!("ok\n[ERROR] forged\u{202E}txt.exe{}", "x".repeat(2_000));
        let safe = bounded_text(&hostile, MAX_REMOTE_TEXT);
        assert!(!safe.contains('\n') && !safe.contains('\u{202E}'), "{safe}");
        assert!(safe.contains("\\u{a}") && safe.contains("\\u{202e}"), "{safe}");
        assert!(safe.chars().count() <= MAX_REMOTE_TEXT + 20, "{}", safe.len());
        assert!(safe.ends_with('…'));
        assert_eq!(bounded_text("plain café", 50), "plain café");
    }

    #[test]
    fn quote_escapes_control_characters_and_truncates() {
        assert_eq!(quote("a\nb"), r#""a\nb""#);
        let long = "x".repeat(100);
        let quoted = quote(&long);
        assert!(quoted.ends_with("…\""), "{quoted}");
        assert_eq!(quoted.chars().filter(|c| *c == 'x').count(), 64);
    }
}
