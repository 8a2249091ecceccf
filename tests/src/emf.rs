//! The metric documents among a function process's output, checked against CloudWatch's
//! Embedded Metric Format specification by `scripts/emf.py` (the same check `make demo` runs on
//! its functions' logs), with the sum of each metric per dimension set.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use serde_json::Value;

/// `{"documents", "problems", "metrics": {name: {"Function=…,Site=…": sum}}}` of `output`.
pub fn summarize(output: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"))
        .join("bin/python");
    let mut child = Command::new(&python)
        .arg(root.join("scripts/emf.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{}: {err} (make venv installs it)", python.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(output.as_bytes())
        .expect("the output written");
    let done = child.wait_with_output().expect("the checker ran");
    assert!(done.status.success(), "scripts/emf.py failed");
    serde_json::from_slice(&done.stdout).expect("the checker's JSON")
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
