//! How a step ended: done (with a note for the operator), or waiting for Microsoft.

use chrono::{DateTime, Utc};

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; an optional note for the operator (e.g. what was already there).
    Done(Option<String>),
    /// Microsoft has not caught up yet: look again at `until`.
    Wait {
        /// When to look again.
        until: DateTime<Utc>,
        /// What is awaited.
        reason: String,
    },
}
