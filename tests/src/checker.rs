//! One of the repository's Python checkers (`scripts/*.py`, run in `.venv` with the pinned
//! `jsonschema`): text on its stdin, its JSON answer read back.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use serde_json::Value;

/// The answer of `scripts/{script}` to `input`.
pub fn run(script: &str, input: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"))
        .join("bin/python");
    let mut child = Command::new(&python)
        .arg(root.join("scripts").join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{}: {err} (make venv installs it)", python.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("the input written");
    let done = child.wait_with_output().expect("the checker ran");
    assert!(done.status.success(), "scripts/{script} failed");
    serde_json::from_slice(&done.stdout).expect("the checker's JSON")
}
