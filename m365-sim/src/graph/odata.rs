//! OData query options as Graph reads them: `$select`, `$top`, `$filter` (the equality subset
//! the product uses), skip tokens, and link building.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::{GraphReply, bad_request};

/// Parsed query string; `$`-option names are matched case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Decoded key/value pairs in order.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: &str) -> Self {
        // Graph decodes `+` as a space (a literal plus must be sent as %2B), as form decoding does.
        Self {
            pairs: form_urlencoded::parse(raw.as_bytes()).into_owned().collect(),
        }
    }

    /// Value of an option.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Re-encodes the query with `$skiptoken`/`$deltatoken` replaced, for next and delta links.
    pub fn link(&self, base: &str, path: &str, token_name: &str, token: &str) -> String {
        let mut parts: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken") && !k.eq_ignore_ascii_case("$deltatoken"))
            .map(|(k, v)| format!("{}={}", k, encode(v)))
            .collect();
        parts.push(format!("{token_name}={token}"));
        format!("{base}/v1.0/{path}?{}", parts.join("&"))
    }
}

/// Percent-encodes a query value, keeping characters Graph leaves readable in its links.
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~,$():".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `$select`: validated against the entity's properties. None when absent.
pub fn select(q: &Query, allowed: &[&str], entity: &str) -> Result<Option<Vec<String>>, GraphReply> {
    let Some(raw) = q.get("$select") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for p in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(canon) = allowed.iter().find(|a| a.eq_ignore_ascii_case(p)) else {
            return Err(bad_request(format!(
                "Parsing OData Select and Expand failed: Could not find a property named '{p}' on type 'microsoft.graph.{entity}'."
            )));
        };
        if !out.iter().any(|x: &String| x == canon) {
            out.push((*canon).to_owned());
        }
    }
    Ok(Some(out))
}

/// `$top` within 1..=max, default `default`.
pub fn top(q: &Query, default: usize, max: usize) -> Result<usize, GraphReply> {
    match q.get("$top") {
        None => Ok(default),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(bad_request(format!(
                "Invalid page size specified: '{t}'. Must be between 1 and {max} inclusive."
            ))),
        },
    }
}

/// One condition of a supported `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `prop eq 'value'` (or a bare true/false/number).
    Eq(String, String),
    /// `prop/any(x:x eq 'value')`.
    AnyEq(String, String),
    /// `startswith(prop,'value')`.
    StartsWith(String, String),
}

/// Parses `a eq 'x' and b eq 'y'`, `groupTypes/any(c:c eq 'Unified')` and `startswith(p,'x')`.
pub fn filter(q: &Query) -> Result<Vec<Cond>, GraphReply> {
    let Some(raw) = q.get("$filter") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for clause in split_and(raw) {
        let c = clause.trim();
        let cond = if let Some(rest) = c.strip_prefix("startswith(").and_then(|r| r.strip_suffix(')')) {
            let (p, v) = rest.split_once(',').ok_or_else(|| invalid_filter(raw))?;
            Cond::StartsWith(
                p.trim().to_owned(),
                unquote(v.trim()).ok_or_else(|| invalid_filter(raw))?,
            )
        } else if let Some((prop, rest)) = c.split_once("/any(") {
            let inner = rest.strip_suffix(')').ok_or_else(|| invalid_filter(raw))?;
            let (_, expr) = inner.split_once(':').ok_or_else(|| invalid_filter(raw))?;
            let (_, v) = expr.split_once(" eq ").ok_or_else(|| invalid_filter(raw))?;
            Cond::AnyEq(
                prop.trim().to_owned(),
                unquote(v.trim()).ok_or_else(|| invalid_filter(raw))?,
            )
        } else if let Some((p, v)) = c.split_once(" eq ") {
            let v = v.trim();
            let value = unquote(v).unwrap_or_else(|| v.to_owned());
            Cond::Eq(p.trim().to_owned(), value)
        } else {
            return Err(invalid_filter(raw));
        };
        out.push(cond);
    }
    Ok(out)
}

/// Whether a JSON object satisfies every condition of `filter`.
pub fn matches_object(filter: &[Cond], object: &Map<String, Value>) -> bool {
    filter
        .iter()
        .all(|c| matches(c, &|p| object.get(p).cloned().unwrap_or(Value::Null)))
}

fn split_and(s: &str) -> Vec<String> {
    // Split on " and " outside quotes.
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            in_q = !in_q;
        }
        if !in_q
            && chars[i..]
                .iter()
                .take(5)
                .collect::<String>()
                .eq_ignore_ascii_case(" and ")
        {
            parts.push(std::mem::take(&mut cur));
            i += 5;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
}

fn unquote(v: &str) -> Option<String> {
    let inner = v.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

fn invalid_filter(raw: &str) -> GraphReply {
    bad_request(format!(
        "Invalid filter clause: the simulator does not support '{raw}'."
    ))
}

/// Checks a property value against a condition (string compare case-insensitive like Entra).
pub fn matches(cond: &Cond, get: &dyn Fn(&str) -> Value) -> bool {
    match cond {
        Cond::Eq(p, v) => match get(p) {
            Value::String(s) => s.eq_ignore_ascii_case(v),
            Value::Bool(b) => b.to_string() == *v,
            Value::Null => v == "null",
            other => v == &other.to_string(),
        },
        Cond::AnyEq(p, v) => match get(p) {
            Value::Array(a) => a
                .iter()
                .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(v))),
            _ => false,
        },
        Cond::StartsWith(p, v) => get(p)
            .as_str()
            .is_some_and(|s| s.to_ascii_lowercase().starts_with(&v.to_ascii_lowercase())),
    }
}

/// Builds an object from a property getter: the selected properties, or the defaults.
pub fn project(props: &[String], get: &dyn Fn(&str) -> Value) -> Map<String, Value> {
    let mut m = Map::new();
    for p in props {
        m.insert(p.clone(), get(p));
    }
    m
}

/// Encodes an opaque paging/delta token.
pub fn encode_token(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default())
}

/// Decodes a token made by [`encode_token`].
pub fn decode_token(s: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s.trim()).ok()?).ok()
}

/// `@odata.context` of a collection, with the selected properties as Graph shows them.
pub fn context(entity_set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) if !s.is_empty() => format!(
            "https://graph.microsoft.com/v1.0/$metadata#{entity_set}({})",
            s.join(",")
        ),
        _ => format!("https://graph.microsoft.com/v1.0/$metadata#{entity_set}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters() {
        let q =
            Query::parse("$filter=mailNickname%20eq%20'a''b'%20and%20groupTypes/any(c:c%20eq%20'Unified')");
        let f = filter(&q).expect("filter");
        assert_eq!(
            f,
            vec![
                Cond::Eq("mailNickname".into(), "a'b".into()),
                Cond::AnyEq("groupTypes".into(), "Unified".into())
            ]
        );
        assert!(filter(&Query::parse("$filter=foo%20gt%201")).is_err());
    }

    #[test]
    fn plus_is_a_space_like_form_encoding() {
        let q = Query::parse("%24filter=mailNickname+eq+%27a%2Bb%27");
        assert_eq!(
            filter(&q).expect("filter"),
            vec![Cond::Eq("mailNickname".into(), "a+b".into())]
        );
    }

    #[test]
    fn top_bounds() {
        assert_eq!(top(&Query::parse(""), 100, 999).ok(), Some(100));
        assert_eq!(top(&Query::parse("$top=999"), 100, 999).ok(), Some(999));
        assert!(top(&Query::parse("$top=1000"), 100, 999).is_err());
        assert!(top(&Query::parse("$top=0"), 100, 999).is_err());
    }

    #[test]
    fn links_keep_options() {
        let q = Query::parse("$select=id,displayName&$top=5&$skiptoken=old");
        assert_eq!(
            q.link("http://h", "users", "$skiptoken", "NEW"),
            "http://h/v1.0/users?$select=id,displayName&$top=5&$skiptoken=NEW"
        );
    }
}
