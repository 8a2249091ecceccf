//! The metric documents among a function process's output, checked against CloudWatch's
//! Embedded Metric Format specification by `scripts/emf.py` (the same check `make demo` runs on
//! its functions' logs), with the sum of each metric per dimension set.

use serde_json::Value;

/// `{"documents", "problems", "metrics": {name: {"Function=…,Site=…": sum}}}` of `output`.
pub fn summarize(output: &str) -> Value {
    crate::checker::run("emf.py", output)
}

/// The sum of `metric` over the dimension sets holding every `name=value` of `dimensions`.
pub fn total(summary: &Value, metric: &str, dimensions: &[&str]) -> f64 {
    summary["metrics"][metric]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(set, _)| dimensions.iter().all(|d| set.split(',').any(|part| part == *d)))
        .filter_map(|(_, value)| value.as_f64())
        .sum()
}
