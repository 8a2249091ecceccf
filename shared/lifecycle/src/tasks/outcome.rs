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

impl Outcome {
    /// How soon a step looks again at something Microsoft has not caught up with yet (a new
    /// object not listed, a role not reaching Exchange): replication takes seconds to minutes.
    pub const RECHECK: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

    /// Waiting for `reason`, looked at again after [`Self::RECHECK`].
    pub fn recheck(reason: impl Into<String>) -> Self {
        Self::after(Self::RECHECK, reason)
    }

    /// Waiting for `reason`, looked at again after `delay`.
    pub fn after(delay: chrono::TimeDelta, reason: impl Into<String>) -> Self {
        Self::Wait {
            until: Utc::now() + delay,
            reason: reason.into(),
        }
    }
}
