//! The lifecycle events a rule on the stack's bus delivered to its queue, checked against the
//! documented schema (`docs/events.schema.json`) by `scripts/events.py`, as `make demo` checks
//! its own.

use serde_json::Value;

/// `{"events", "problems", "changes": {detail-type: count}}` of `events`.
pub fn summarize(events: &[Value]) -> Value {
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    crate::checker::run("events.py", &lines.join("\n"))
}

/// The events of `detail_type` about `tenant`.
pub fn of<'a>(events: &'a [Value], detail_type: &str, tenant: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type && e["detail"]["tenant_id"] == tenant)
        .collect()
}
