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

use aws_config::SdkConfig;
use model::{
    config::{ConfigError, Source},
    task::TaskId,
    vendor::VendorConfig,
};
use serde::{Deserialize, Serialize};
use state::{bus::EventBus, queue::Queue, store::Store};

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
    /// The bus a tenant's lifecycle changes and failed tasks are announced on; none in the
    /// functions that only open tasks (`onboard`, `api`), which never run one.
    pub bus: Option<EventBus>,
}

impl Engine {
    /// The engine of a function that runs tasks (`EVENT_BUS_NAME` included), from `source`.
    pub fn from_source(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            bus: Some(EventBus::from_source(sdk, source)?),
            ..Self::opener(sdk, source)?
        })
    }

    /// The engine of a function that only opens tasks and queues them for `provision`.
    pub fn opener(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_source(sdk, source)?,
            vendor: VendorConfig::from_source(source)?,
            continuations: Queue::continuations(sdk, source)?,
            ms: Microsoft::from_source(sdk, source)?,
            bus: None,
        })
    }
}

/// A continuation of an existing task: the body of the continuation queue's messages, and the
/// `{"task_id"}` event that continues a task now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Continue {
    /// The task to continue.
    pub task_id: TaskId,
}
