//! Reading the JSON objects Graph and Exchange answer with: a string field, a list of strings, an
//! object by name. Exchange compares names and multi-valued parameters without regard to case.

use serde_json::Value;

/// A string field of a JSON object.
pub fn text<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object.get(field).and_then(Value::as_str)
}

/// The strings of a list field (empty when absent).
pub fn strings(object: &Value, field: &str) -> Vec<String> {
    object
        .get(field)
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The object whose `Name` is `name`, ignoring ASCII case.
pub fn named<'v>(objects: &'v [Value], name: &str) -> Option<&'v Value> {
    objects
        .iter()
        .find(|o| text(o, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// Whether two lists hold the same entries, ignoring order and ASCII case.
pub fn same_set(current: &[String], desired: &[String]) -> bool {
    let normal = |list: &[String]| {
        let mut list: Vec<String> = list.iter().map(|d| d.to_ascii_lowercase()).collect();
        list.sort();
        list.dedup();
        list
    };
    normal(current) == normal(desired)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_names_and_sets_read_as_exchange_compares_them() {
        let rules = [json!({"Name": "TMCAS Rule", "Domains": ["A.com", "b.com"], "State": 1})];
        assert_eq!(
            named(&rules, "tmcas rule").and_then(|r| text(r, "Name")),
            Some("TMCAS Rule")
        );
        assert_eq!(text(&rules[0], "State"), None);
        let domains = strings(&rules[0], "Domains");
        assert!(same_set(
            &domains,
            &["B.COM".to_owned(), "a.com".to_owned(), "a.com".to_owned()]
        ));
        assert!(!same_set(&domains, &["a.com".to_owned()]));
        assert!(strings(&rules[0], "Missing").is_empty());
    }
}
