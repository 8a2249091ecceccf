//! `-Filter` as the simulator evaluates it: one OPATH comparison, `Property -eq 'Value'` (or
//! `-ne`), over the records a `Get-*` cmdlet returns. Anything else is refused rather than
//! ignored, so a caller never mistakes an unfiltered list for a filtered one.

use serde_json::Value;

use super::{Answer, ExoError};

/// Keeps the records `filter` matches (all of them when there is no filter).
pub(super) fn apply(records: Vec<Value>, filter: Option<&str>) -> Answer {
    let Some(filter) = filter else {
        return Ok(records);
    };
    let (property, equal, value) = parse(filter).ok_or_else(|| unsupported(filter))?;
    Ok(records
        .into_iter()
        .filter(|r| matches(&r[property.as_str()], &value) == equal)
        .collect())
}

/// `Property -eq 'Value'`, braces or quotes around it allowed, `$true`/`$false`/`$null` as values.
fn parse(filter: &str) -> Option<(String, bool, Value)> {
    let f = filter.trim().trim_start_matches('{').trim_end_matches('}').trim();
    let f = f
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(f)
        .trim();
    let mut words = f.splitn(3, char::is_whitespace);
    let property = words.next()?.to_owned();
    let equal = match words.next()?.to_ascii_lowercase().as_str() {
        "-eq" => true,
        "-ne" => false,
        _ => return None,
    };
    let raw = words.next()?.trim();
    let value = match raw.to_ascii_lowercase().as_str() {
        "$true" => Value::Bool(true),
        "$false" => Value::Bool(false),
        "$null" => Value::Null,
        _ => {
            let quoted = ['\'', '"'].iter().find_map(|q| {
                raw.strip_prefix(*q)
                    .and_then(|x| x.strip_suffix(*q))
                    .filter(|x| !x.contains(*q))
            })?;
            Value::String(quoted.to_owned())
        }
    };
    let plain = property.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then_some((property, equal, value))
}

/// Whether a record's field equals the value (text case-insensitively; a list when it holds it).
fn matches(field: &Value, value: &Value) -> bool {
    match (field, value) {
        (Value::Array(a), v) => a.iter().any(|x| matches(x, v)),
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

fn unsupported(filter: &str) -> ExoError {
    ExoError::new(
        400,
        "Microsoft.Exchange.Management.Tasks.ValidationException",
        format!(
            "[m365-sim] The filter '{filter}' isn't supported: the simulator evaluates only \"Property -eq 'Value'\" and \"Property -ne 'Value'\"."
        ),
    )
    .target("Filter")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_comparison_or_a_refusal() {
        let rows = vec![json!({"A": "x", "L": ["Team"]}), json!({"A": "y", "L": []})];
        let kept = |f: &str| apply(rows.clone(), Some(f)).expect("filter").len();
        assert_eq!(kept("{ResourceProvisioningOptions -eq \"Team\"}"), 0);
        assert_eq!(kept("{L -eq \"team\"}"), 1);
        assert_eq!(kept("\"A -ne 'x'\""), 1);
        assert_eq!(kept("A -eq $null"), 0);
        assert!(apply(rows.clone(), Some("A -like 'x*'")).is_err());
        assert!(apply(rows, Some("A -eq 'x' -and B -eq 'y'")).is_err());
    }
}
