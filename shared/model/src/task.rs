//! Tasks: the long-running jobs an operator starts and checks on (provision, deprovision, policy update).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::{Validated, guid_type, quote, validated_string_type};

/// The id of a task: a GUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(Uuid);

impl TaskId {
    /// A fresh random task id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for TaskId {
    fn default() -> Self {
        Self::new()
    }
}

impl Validated for TaskId {
    const FIELD: &'static str = "task_id";

    fn validate(raw: &str) -> Result<Self, String> {
        match Uuid::try_parse(raw) {
            Ok(id) if raw.len() == 36 => Ok(Self(id)),
            _ => Err(format!("expected a task id (a GUID), got {}", quote(raw))),
        }
    }
}

validated_string_type!(TaskId);
guid_type!(TaskId);

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Provisioning of a tenant.
    Provision,
    /// Deprovisioning (standard or full) of a tenant.
    Deprovision,
    /// An update of the policy targets (virtual groups and rule conditions).
    PolicyTargets,
}

impl TaskKind {
    /// The function that starts tasks of this kind (and continues them when asked directly).
    pub fn function(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::Deprovision => "deprovision",
            Self::PolicyTargets => "policy-targets",
        }
    }
}

/// The overall state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created, not started.
    Pending,
    /// A function is working on it.
    Running,
    /// Waiting for Microsoft's propagation; a continuation message is queued.
    Waiting,
    /// Finished; everything asked for was done.
    Succeeded,
    /// Finished; at least one step failed permanently.
    Failed,
}

impl TaskStatus {
    /// Whether the task has finished (and so may expire).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// The state of one step of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// Started by a function that has not recorded its outcome yet.
    Running,
    /// Waiting for Microsoft's propagation until `not_before`.
    Waiting,
    /// Done; what it created is recorded.
    Succeeded,
    /// Failed permanently; `last_error` says why.
    Failed,
    /// Not needed (nothing to do, or its service was not requested).
    Skipped,
}

impl StepStatus {
    /// Whether the step has reached an outcome.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Skipped)
    }
}

/// What kind of problem stopped a step, so views and lifecycle rules need not read messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepErrorKind {
    /// A passing fault; the step is tried again.
    Transient,
    /// Microsoft throttled; the step is tried again after its delay.
    Throttled,
    /// The tenant's admin must do something (assign a role, grant a permission).
    AdminAction,
    /// The grant is missing or revoked: the tenant's admin must consent again.
    NeedsReconsent,
    /// Anything else; the message says what.
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_id_round_trips_and_rejects_non_guids() {
        let id = TaskId::new();
        assert_eq!(id.to_string().parse::<TaskId>(), Ok(id));
        for raw in ["", "42", "{00000000-0000-0000-0000-000000000001}", "task-1"] {
            let err = raw.parse::<TaskId>().expect_err(raw);
            assert_eq!(err.field, "task_id", "{raw}");
        }
    }
}
