//! What an operator calls a tenant, to find it in a fleet of thousands: a display name, a
//! customer reference and tags. None of it reaches Microsoft; a page shows it escaped.

use serde::{Deserialize, Serialize};

use crate::validation::{Validated, quote, validated_string_type};

/// The most characters of a display name.
pub const MAX_DISPLAY_NAME: usize = 128;
/// The most characters of a customer reference.
pub const MAX_CUSTOMER_REF: usize = 64;
/// The most characters of a tag.
pub const MAX_TAG: usize = 40;
/// The most tags on one tenant.
pub const MAX_TAGS: usize = 16;

/// A tag: lower-case letters, digits and `-`, `_`, `.`, `:`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Validated for Tag {
    const FIELD: &'static str = "tag";

    fn validate(raw: &str) -> Result<Self, String> {
        let ok = (1..=MAX_TAG).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.:".contains(c));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "expected a tag such as `tier:gold` (1-{MAX_TAG} lower-case letters, digits, `-`, `_`, `.`, `:`), got {}",
                quote(raw)
            ))
        }
    }
}
validated_string_type!(Tag);

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text an operator names a tenant with: no control characters or direction marks, bounded.
fn label_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > max {
        return Err(format!(
            "at most {max} characters, got {}",
            trimmed.chars().count()
        ));
    }
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if trimmed.chars().any(hidden) {
        return Err(format!(
            "control characters and direction marks are not allowed, got {}",
            quote(trimmed)
        ));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// An operator's change to a tenant's labels: a field given replaces it (`""` or `[]` clears
/// it), a field left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsUpdate {
    /// The name the operator knows the tenant by.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The operator's own reference (a customer or contract number).
    #[serde(default)]
    pub customer_ref: Option<String>,
    /// Tags to group tenants by.
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

/// A tenant's labels, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// The name the operator knows the tenant by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The operator's own reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// Tags, sorted, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Labels {
    /// These labels with `update` applied; an error names the field (`display_name`,
    /// `customer_ref`, `tags`) and nothing changes.
    pub fn updated(&self, update: LabelsUpdate) -> Result<Self, crate::validation::ValidationError> {
        use crate::validation::ValidationError;
        let mut next = self.clone();
        if let Some(name) = update.display_name {
            next.display_name =
                label_text(&name, MAX_DISPLAY_NAME).map_err(|r| ValidationError::new("display_name", r))?;
        }
        if let Some(reference) = update.customer_ref {
            next.customer_ref = label_text(&reference, MAX_CUSTOMER_REF)
                .map_err(|r| ValidationError::new("customer_ref", r))?;
        }
        if let Some(mut tags) = update.tags {
            tags.sort();
            tags.dedup();
            if tags.len() > MAX_TAGS {
                return Err(ValidationError::new(
                    "tags",
                    format!("at most {MAX_TAGS} tags, got {}", tags.len()),
                ));
            }
            next.tags = tags;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lower_case_words_and_anything_else_is_refused_naming_the_tag() {
        for good in ["tier:gold", "eu-north", "a", "msp_42.b"] {
            assert_eq!(good.parse::<Tag>().expect(good).as_str(), good);
        }
        for bad in [
            "",
            "Gold",
            "-x",
            "has space",
            "<script>",
            &"x".repeat(MAX_TAG + 1),
        ] {
            let err = bad.parse::<Tag>().expect_err(bad);
            assert_eq!(err.field, "tag", "{bad:?}");
        }
    }

    #[test]
    fn an_update_replaces_what_it_names_clears_with_empty_and_keeps_the_rest() {
        let labels = Labels {
            display_name: Some("Contoso".to_owned()),
            customer_ref: Some("C-1".to_owned()),
            tags: vec!["b".parse().expect("tag")],
        };
        let update: LabelsUpdate = serde_json::from_value(
            serde_json::json!({"display_name": "  <b>Fabrikam</b> ", "tags": ["z", "a", "z"]}),
        )
        .expect("update");
        let next = labels.updated(update).expect("valid");
        assert_eq!(
            next.display_name.as_deref(),
            Some("<b>Fabrikam</b>"),
            "kept as text, trimmed"
        );
        assert_eq!(next.customer_ref.as_deref(), Some("C-1"), "left out, kept");
        assert_eq!(next.tags.iter().map(Tag::as_str).collect::<Vec<_>>(), ["a", "z"]);
        let cleared = next
            .updated(LabelsUpdate {
                display_name: Some(String::new()),
                tags: Some(Vec::new()),
                ..LabelsUpdate::default()
            })
            .expect("valid");
        assert_eq!((cleared.display_name, cleared.tags.len()), (None, 0));
    }

    #[test]
    fn hidden_characters_and_long_text_are_refused_naming_the_field() {
        let labels = Labels::default();
        for (update, field) in [
            (
                LabelsUpdate {
                    display_name: Some("Conto\u{202E}so".to_owned()),
                    ..LabelsUpdate::default()
                },
                "display_name",
            ),
            (
                LabelsUpdate {
                    customer_ref: Some("x".repeat(MAX_CUSTOMER_REF + 1)),
                    ..LabelsUpdate::default()
                },
                "customer_ref",
            ),
            (
                LabelsUpdate {
                    tags: Some(
                        (0..=MAX_TAGS)
                            .map(|i| format!("t{i}").parse().expect("tag"))
                            .collect(),
                    ),
                    ..LabelsUpdate::default()
                },
                "tags",
            ),
        ] {
            assert_eq!(labels.updated(update).expect_err(field).field, field);
        }
    }
}
