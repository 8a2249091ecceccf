//! Cmdlet parameter binding, as the REST endpoint's PowerShell binder does it: unknown names,
//! wrong types and missing mandatory parameters are refused; multi-valued parameters take an
//! array (replace) or a `#Exchange.GenericHashTable` with `Add`/`Remove`.

use serde_json::{Map, Value};

use super::ExoError;

/// Type of a parameter.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text.
    Str,
    /// `$true`/`$false` (or 0/1).
    Bool,
    /// Integer.
    Int,
    /// Multi-valued property.
    List,
    /// One of these values (case-insensitive).
    Enum(&'static [&'static str]),
    /// Anything (e.g. `ResultSize`).
    Any,
}

/// A parameter of a cmdlet.
pub type Param = (&'static str, Kind);

/// A multi-valued parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ListValue {
    /// Replace the list.
    Replace(Vec<String>),
    /// Add and remove entries, keeping the others.
    Modify {
        /// Entries to add.
        add: Vec<String>,
        /// Entries to remove.
        remove: Vec<String>,
    },
}

/// Bound parameters: canonical names to JSON values.
#[derive(Debug, Default)]
pub struct Bound {
    /// Values by canonical name.
    pub values: Map<String, Value>,
}

impl Bound {
    /// A string parameter.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    /// A multi-valued parameter.
    pub fn list(&self, name: &str) -> Option<ListValue> {
        let v = self.values.get(name)?;
        Some(match v {
            Value::Object(o) => ListValue::Modify {
                add: strings(o.get("Add")),
                remove: strings(o.get("Remove")),
            },
            other => ListValue::Replace(strings(Some(other))),
        })
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(scalar_text).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => scalar_text(other).into_iter().collect(),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Applies a list change to a current list (case-insensitive de-duplication, order kept).
pub fn apply_list(current: &[String], change: &ListValue) -> Vec<String> {
    match change {
        ListValue::Replace(v) => {
            let mut out: Vec<String> = Vec::new();
            for x in v {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(x)) {
                    out.push(x.clone());
                }
            }
            out
        }
        ListValue::Modify { add, remove } => {
            let mut out: Vec<String> = Vec::new();
            for c in current
                .iter()
                .filter(|c| !remove.iter().any(|r| r.eq_ignore_ascii_case(c)))
            {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(c)) {
                    out.push(c.clone());
                }
            }
            for a in add {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
                    out.push(a.clone());
                }
            }
            out
        }
    }
}

fn binding(msg: String) -> ExoError {
    ExoError::new(400, "System.Management.Automation.ParameterBindingException", msg)
}

fn transform(name: &str, detail: String) -> ExoError {
    binding(format!(
        "Cannot process argument transformation on parameter '{name}'. {detail}"
    ))
}

/// Binds `params` against a cmdlet's parameter list; `mandatory` must be present.
pub fn bind(params: &Map<String, Value>, spec: &[Param], mandatory: &[&str]) -> Result<Bound, ExoError> {
    let mut out = Bound::default();
    for (raw, v) in params {
        let Some((name, kind)) = spec.iter().find(|(n, _)| n.eq_ignore_ascii_case(raw)).copied() else {
            return Err(binding(format!(
                "A parameter cannot be found that matches parameter name '{raw}'."
            )));
        };
        let value = match (kind, v) {
            (_, Value::Null) => Value::Null,
            (Kind::Str, Value::String(_)) => v.clone(),
            (Kind::Str, Value::Number(n)) => Value::String(n.to_string()),
            (Kind::Bool, Value::Bool(_)) => v.clone(),
            (Kind::Bool, Value::Number(n)) if n.as_u64().is_some_and(|x| x <= 1) => {
                Value::Bool(n.as_u64() == Some(1))
            }
            (Kind::Bool, _) => {
                return Err(transform(
                    name,
                    format!(
                        "Cannot convert value \"{}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
                        text(v)
                    ),
                ));
            }
            (Kind::Int, Value::Number(n)) if n.is_i64() => v.clone(),
            (Kind::Int, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Value::from(s.trim().parse::<i64>().unwrap_or_default())
            }
            (Kind::Int, _) => {
                return Err(transform(
                    name,
                    format!("Cannot convert value \"{}\" to type \"System.Int32\".", text(v)),
                ));
            }
            (Kind::Enum(allowed), Value::String(s)) => {
                match allowed.iter().find(|a| a.eq_ignore_ascii_case(s)) {
                    Some(a) => Value::String((*a).to_owned()),
                    None => {
                        return Err(transform(
                            name,
                            format!(
                                "Cannot convert value \"{s}\" to an enumeration. Unable to match the identifier name {s} to a valid enumerator name. Specify one of the following enumerator names and try again: {}",
                                allowed.join(", ")
                            ),
                        ));
                    }
                }
            }
            (Kind::List, Value::Array(a)) if a.iter().all(|x| scalar_text(x).is_some()) => v.clone(),
            (Kind::List, Value::String(_) | Value::Number(_)) => Value::Array(vec![v.clone()]),
            (Kind::List, Value::Object(o)) => {
                let typed =
                    o.get("@odata.type").and_then(Value::as_str) == Some("#Exchange.GenericHashTable");
                let keys_ok = o
                    .keys()
                    .all(|k| matches!(k.as_str(), "@odata.type" | "Add" | "Remove"));
                if !typed || !keys_ok {
                    return Err(transform(
                        name,
                        "Cannot convert the \"System.Collections.Hashtable\" value of type \"System.Collections.Hashtable\" to type \"Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]\". Send multi-valued changes as {\"@odata.type\":\"#Exchange.GenericHashTable\",\"Add\":[...],\"Remove\":[...]}.".to_owned(),
                    ));
                }
                v.clone()
            }
            (Kind::Any, _) => v.clone(),
            _ => {
                return Err(transform(
                    name,
                    format!("Cannot convert value \"{}\" to the parameter's type.", text(v)),
                ));
            }
        };
        out.values.insert(name.to_owned(), value);
    }
    let missing: Vec<&str> = mandatory
        .iter()
        .copied()
        .filter(|m| out.values.get(*m).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(binding(format!(
            "Cannot process command because of one or more missing mandatory parameters: {}.",
            missing.join(" ")
        )));
    }
    Ok(out)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: &[Param] = &[("Name", Kind::Str), ("Enabled", Kind::Bool), ("List", Kind::List)];

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn binds_and_refuses() {
        let b = bind(
            &map(json!({"name": "x", "enabled": true, "list": "a"})),
            SPEC,
            &["Name"],
        )
        .expect("bind");
        assert_eq!(b.str("Name"), Some("x"));
        assert_eq!(b.list("List"), Some(ListValue::Replace(vec!["a".into()])));
        let e = bind(&map(json!({"Bogus": 1})), SPEC, &[]).unwrap_err();
        assert!(e.message.contains("matches parameter name 'Bogus'"));
        assert!(bind(&map(json!({"Enabled": "yes"})), SPEC, &[]).is_err());
        assert!(
            bind(&map(json!({})), SPEC, &["Name"])
                .unwrap_err()
                .message
                .contains("mandatory")
        );
        assert!(bind(&map(json!({"List": {"Add": ["a"]}})), SPEC, &[]).is_err());
        let b = bind(
            &map(
                json!({"List": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["b"], "Remove": ["a"]}}),
            ),
            SPEC,
            &[],
        )
        .expect("hashtable");
        let l = b.list("List").expect("list");
        assert_eq!(
            apply_list(&["a".into(), "c".into()], &l),
            vec!["c".to_owned(), "b".to_owned()]
        );
    }

    proptest::proptest! {
        #[test]
        fn add_remove_never_duplicates_or_keeps_removed(
            current in proptest::collection::vec("[a-c]{1,2}", 0..8),
            add in proptest::collection::vec("[a-cA-C]{1,2}", 0..8),
            remove in proptest::collection::vec("[a-c]{1,2}", 0..8),
        ) {
            let out = apply_list(&current, &ListValue::Modify { add: add.clone(), remove: remove.clone() });
            for (i, x) in out.iter().enumerate() {
                proptest::prop_assert!(!out[i + 1..].iter().any(|y| y.eq_ignore_ascii_case(x)));
                let re_added = add.iter().any(|a| a.eq_ignore_ascii_case(x));
                proptest::prop_assert!(re_added || !remove.iter().any(|r| r.eq_ignore_ascii_case(x)));
            }
            for a in &add {
                proptest::prop_assert!(out.iter().any(|x| x.eq_ignore_ascii_case(a)));
            }
        }
    }
}
