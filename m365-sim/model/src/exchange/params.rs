//! Cmdlet parameter binding, as the REST endpoint's PowerShell binder does it against a cmdlet's
//! documented parameters ([`CmdletSpec`]): unknown names, wrong types, values outside a type's
//! set and missing mandatory parameters are refused; multi-valued parameters take an array
//! (replace) or a `#Exchange.GenericHashTable` with `Add`/`Remove`.

use serde_json::{Map, Value};

use super::ExoError;

/// Type of a parameter, as the cmdlet reference documents it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `String`, and the types Exchange parses from text (identities, header names, sizes,
    /// `DateTime`); a number or Boolean is taken as its text, as PowerShell converts it.
    Str,
    /// `Boolean`: `true`/`false` (or 0/1).
    Bool,
    /// `SwitchParameter` (`-Confirm`, `-WhatIf`): a Boolean in REST.
    Switch,
    /// `Int32`.
    Int,
    /// An integer type with a range (`SclValue` -1..9, `RejectStatusCode` 400..500).
    Range(&'static str, i64, i64),
    /// `Guid`.
    Guid,
    /// `Unlimited` (`ResultSize`): a positive integer or `Unlimited`.
    ResultSize,
    /// `MultiValuedProperty` and arrays (`Word[]`, `Pattern[]`, `RecipientIdParameter[]`, `String[]`).
    List,
    /// `Hashtable[]`: an array of objects, taken as is.
    Tables,
    /// A .NET enumeration (its type name) with its documented values (case-insensitive).
    Enum(&'static str, &'static [&'static str]),
    /// An array of a .NET enumeration's values.
    EnumList(&'static str, &'static [&'static str]),
    /// A `String` whose documented values the cmdlet checks (e.g. `-Action Allow|Block`).
    Choice(&'static [&'static str]),
}

/// A documented parameter of a cmdlet.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Name, as the reference spells it.
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
    /// `Required: True` in the reference.
    pub required: bool,
    /// The only parameter set it belongs to, when the cmdlet has several (`None` = all sets).
    pub set: Option<&'static str>,
}

/// An optional parameter of every parameter set.
pub const fn opt(name: &'static str, kind: Kind) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        required: false,
        set: None,
    }
}

/// A mandatory parameter of every parameter set.
pub const fn req(name: &'static str, kind: Kind) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        required: true,
        set: None,
    }
}

/// An optional parameter of one parameter set only.
pub const fn only(set: &'static str, name: &'static str, kind: Kind) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        required: false,
        set: Some(set),
    }
}

/// A cmdlet's documented parameters for Exchange Online, with the reference page they come from.
#[derive(Debug)]
pub struct CmdletSpec {
    /// Cmdlet name, as the reference spells it.
    pub name: &'static str,
    /// The reference page and the commit read: `ExchangePowerShell/<Cmdlet>.md @ <commit>`.
    pub source: &'static str,
    /// The commit that last changed the page.
    pub changed: &'static str,
    /// The parameters, in parts (New-/Set-TransportRule share their conditions and actions).
    pub parts: &'static [&'static [ParamSpec]],
}

impl CmdletSpec {
    /// Every parameter.
    pub fn params(&self) -> impl Iterator<Item = &'static ParamSpec> {
        self.parts.iter().flat_map(|p| p.iter())
    }

    /// The parameter `name` (case-insensitive, as PowerShell matches names).
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params().find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

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

    /// A Boolean or switch parameter given as `true`.
    pub fn flag(&self, name: &str) -> bool {
        self.values.get(name).and_then(Value::as_bool) == Some(true)
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

fn to_type(v: &Value, ty: &str) -> String {
    format!("Cannot convert value \"{}\" to type \"{ty}\".", text(v))
}

/// Converts one value to its parameter's type, as PowerShell's argument transformation does.
fn convert(p: &ParamSpec, v: &Value) -> Result<Value, ExoError> {
    let name = p.name;
    let enum_value = |ty: &str, allowed: &[&str], s: &str| match allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(s))
    {
        Some(a) => Ok(Value::String((*a).to_owned())),
        None => Err(transform(
            name,
            format!(
                "Cannot convert value \"{s}\" to type \"{ty}\". Error: \"Unable to match the identifier name {s} to a valid enumerator name. Specify one of the following enumerator names and try again: {}\"",
                allowed.join(", ")
            ),
        )),
    };
    Ok(match (p.kind, v) {
        (_, Value::Null) => Value::Null,
        (Kind::Str, Value::String(_)) => v.clone(),
        (Kind::Str, Value::Number(_) | Value::Bool(_)) => Value::String(text(v)),
        (Kind::Str, Value::Array(_) | Value::Object(_)) => {
            return Err(binding(format!(
                "Cannot convert '{}' to the type 'System.String' required by parameter '{name}'. Specified method is not supported.",
                if v.is_array() {
                    "System.Object[]"
                } else {
                    "System.Collections.Hashtable"
                }
            )));
        }
        (Kind::Bool | Kind::Switch, Value::Bool(_)) => v.clone(),
        (Kind::Bool | Kind::Switch, Value::Number(n)) if n.as_u64().is_some_and(|x| x <= 1) => {
            Value::Bool(n.as_u64() == Some(1))
        }
        (Kind::Bool | Kind::Switch, _) => {
            return Err(transform(
                name,
                format!(
                    "Cannot convert value \"{}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
                    text(v)
                ),
            ));
        }
        (Kind::Int, _) => Value::from(integer(v).ok_or_else(|| transform(name, to_type(v, "System.Int32")))?),
        (Kind::Range(ty, lo, hi), _) => match integer(v) {
            Some(n) if (lo..=hi).contains(&n) => Value::from(n),
            _ => {
                // [inferred] the value types' own range check, surfaced by the transformation.
                return Err(transform(
                    name,
                    format!(
                        "{} Error: \"The value must be between {lo} and {hi}.\"",
                        to_type(v, ty)
                    ),
                ));
            }
        },
        (Kind::Guid, Value::String(s)) if uuid::Uuid::parse_str(s.trim()).is_ok() => v.clone(),
        (Kind::Guid, _) => return Err(transform(name, to_type(v, "System.Guid"))),
        (Kind::ResultSize, Value::String(s)) if s.trim().eq_ignore_ascii_case("Unlimited") => {
            Value::String("Unlimited".to_owned())
        }
        (Kind::ResultSize, _) => match integer(v) {
            Some(n) if n > 0 => Value::from(n),
            _ => {
                return Err(transform(
                    name,
                    to_type(v, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]"),
                ));
            }
        },
        (Kind::Enum(ty, allowed), Value::String(s)) => enum_value(ty, allowed, s)?,
        (Kind::Enum(ty, _), _) => return Err(transform(name, to_type(v, ty))),
        (Kind::EnumList(ty, allowed), _) => {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut out = Vec::new();
            for item in items {
                let Value::String(s) = item else {
                    return Err(transform(name, to_type(item, ty)));
                };
                out.push(enum_value(ty, allowed, s)?);
            }
            Value::Array(out)
        }
        (Kind::Choice(allowed), Value::String(s)) => match allowed.iter().find(|a| a.eq_ignore_ascii_case(s))
        {
            Some(a) => Value::String((*a).to_owned()),
            None => {
                // [inferred] a ValidateSet-style check: the page lists the values, not the error.
                return Err(ExoError::new(
                    400,
                    "System.Management.Automation.ParameterBindingValidationException",
                    format!(
                        "Cannot validate argument on parameter '{name}'. The argument \"{s}\" does not belong to the set \"{}\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.",
                        allowed.join(",")
                    ),
                ));
            }
        },
        (Kind::Choice(_), _) => return Err(transform(name, to_type(v, "System.String"))),
        (Kind::List, Value::Array(a)) if a.iter().all(|x| scalar_text(x).is_some()) => v.clone(),
        (Kind::List, Value::String(_) | Value::Number(_)) => Value::Array(vec![v.clone()]),
        (Kind::List, Value::Object(o)) => {
            let typed = o.get("@odata.type").and_then(Value::as_str) == Some("#Exchange.GenericHashTable");
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
        (Kind::Tables, Value::Array(a)) if a.iter().all(Value::is_object) => v.clone(),
        (Kind::Tables, Value::Object(_)) => Value::Array(vec![v.clone()]),
        (Kind::List | Kind::Tables, _) => {
            return Err(transform(
                name,
                format!("Cannot convert value \"{}\" to the parameter's type.", text(v)),
            ));
        }
    })
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().filter(|x| i32::try_from(*x).is_ok()),
        Value::String(s) => s.trim().parse::<i32>().ok().map(i64::from),
        _ => None,
    }
}

/// Binds `params` against `spec`: every name must be documented, every value of its type, the
/// parameters one parameter set's, and that set's mandatory parameters present.
pub fn bind(params: &Map<String, Value>, spec: &CmdletSpec) -> Result<Bound, ExoError> {
    let mut out = Bound::default();
    let mut sets: Vec<&str> = Vec::new();
    for (raw, v) in params {
        let Some(p) = spec.param(raw) else {
            return Err(binding(format!(
                "A parameter cannot be found that matches parameter name '{raw}'."
            )));
        };
        if let Some(s) = p.set
            && !sets.contains(&s)
        {
            sets.push(s);
        }
        out.values.insert(p.name.to_owned(), convert(p, v)?);
    }
    if sets.len() > 1 {
        return Err(binding(
            "Parameter set cannot be resolved using the specified named parameters. One or more parameters issued cannot be used together or an insufficient number of parameters were provided.".to_owned(),
        ));
    }
    let mut missing = Vec::new();
    for p in spec
        .params()
        .filter(|p| p.required && (p.set.is_none() || sets.first() == p.set.as_ref()))
    {
        match out.values.get(p.name) {
            None => missing.push(p.name),
            Some(Value::Null) => return Err(null_argument(p.name, "null")),
            Some(Value::String(s)) if s.is_empty() => return Err(null_argument(p.name, "an empty string")),
            Some(Value::Array(a)) if a.is_empty() => {
                return Err(null_argument(p.name, "an empty collection"));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Err(binding(format!(
            "Cannot process command because of one or more missing mandatory parameters: {}.",
            missing.join(" ")
        )));
    }
    Ok(out)
}

fn null_argument(name: &str, what: &str) -> ExoError {
    ExoError::new(
        400,
        "System.Management.Automation.ParameterBindingValidationException",
        format!("Cannot bind argument to parameter '{name}' because it is {what}."),
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: CmdletSpec = CmdletSpec {
        name: "Test-Thing",
        source: "test",
        changed: "test",
        parts: &[&[
            req("Name", Kind::Str),
            opt("Enabled", Kind::Bool),
            opt("List", Kind::List),
            opt("Scl", Kind::Range("Microsoft.Exchange.Data.SclValue", -1, 9)),
            opt("Mode", Kind::Enum("RuleMode", &["Audit", "Enforce"])),
            opt("Size", Kind::ResultSize),
            only("A", "InA", Kind::Str),
            only("B", "InB", Kind::Str),
        ]],
    };

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn refused(v: Value) -> String {
        bind(&map(v), &SPEC).expect_err("refused").message
    }

    #[test]
    fn binds_and_refuses() {
        let b = bind(
            &map(json!({"name": "x", "enabled": true, "list": "a", "scl": "-1", "mode": "audit", "size": "unlimited"})),
            &SPEC,
        )
        .expect("bind");
        assert_eq!(b.str("Name"), Some("x"));
        assert_eq!(b.list("List"), Some(ListValue::Replace(vec!["a".into()])));
        assert_eq!(b.values["Scl"], json!(-1));
        assert_eq!(b.str("Mode"), Some("Audit"));
        assert_eq!(b.str("Size"), Some("Unlimited"));
        assert!(refused(json!({"Name": "x", "Bogus": 1})).contains("matches parameter name 'Bogus'"));
        assert!(refused(json!({"Name": "x", "Enabled": "yes"})).contains("System.Boolean"));
        assert!(refused(json!({})).contains("missing mandatory parameters: Name."));
        assert!(refused(json!({"Name": ""})).contains("because it is an empty string"));
        assert!(refused(json!({"Name": ["a"]})).contains("System.Object[]"));
        assert!(refused(json!({"Name": "x", "Scl": 10})).contains("between -1 and 9"));
        assert!(refused(json!({"Name": "x", "Mode": "Loud"})).contains("enumerator names"));
        assert!(refused(json!({"Name": "x", "Size": 0})).contains("Unlimited"));
        assert!(
            refused(json!({"Name": "x", "InA": "1", "InB": "2"}))
                .contains("Parameter set cannot be resolved")
        );
        assert!(refused(json!({"Name": "x", "List": {"Add": ["a"]}})).contains("GenericHashTable"));
        let b = bind(
            &map(
                json!({"Name": "x", "List": {"@odata.type": "#Exchange.GenericHashTable", "Add": ["b"], "Remove": ["a"]}}),
            ),
            &SPEC,
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
