//! The task engine: a resumable step machine that knows no task kind.
//!
//! A kind of task ([`TaskPlan`]: provisioning, deprovisioning, policy targets) declares its
//! request and its steps ([`Step`], each declared once). [`Engine::open_or_join`] opens a task
//! for a request (or joins the one standing for it) together with the tenant's move, in one
//! transaction; [`Engine::run`] works through its steps, recording each outcome before the next
//! starts. A step waiting on Microsoft queues a delayed [`Continue`] instead of idling; a crash at
//! any point, followed by a re-invoke or the queued continuation, finishes with the same tenant
//! state, because every step is an idempotent "ensure".

mod context;
mod error;
mod opening;
mod outcome;
mod plan;
mod runner;
mod view;

use model::{task::TaskId, vendor::VendorConfig};
use serde::{Deserialize, Serialize};
use state::{queue::Queue, store::Store};

pub use self::{
    context::StepContext,
    error::{StepError, TaskError},
    opening::{attention_of, service_states},
    outcome::Outcome,
    plan::{Admission, Calls, Declaration, PlannedCall, Run, RunAlone, RunWith, Step, StepFuture, TaskPlan},
    runner::RunOptions,
    view::{ServiceView, StepView, TaskView, TenantView, scope_name, status_of},
};
use crate::clients::Microsoft;

/// Everything the engine works with.
pub struct Engine {
    /// The state store.
    pub store: Store,
    /// Clients for the tenants' Microsoft services.
    pub ms: Microsoft,
    /// The vendor's facts.
    pub vendor: VendorConfig,
    /// The queue of task continuations (consumed by `provision`, for every kind).
    pub continuations: Queue,
}

/// A continuation of an existing task: the body of the continuation queue's messages, and the
/// `{"task_id"}` event that continues a task now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Continue {
    /// The task to continue.
    pub task_id: TaskId,
}
