//! What a kind of task tells the engine: its request, its steps (each declared once, in the order
//! they run), how a request meets the tenant as it stands, and how a finished task moves it.

use std::{fmt::Debug, future::Future};

use futures_util::future::BoxFuture;
use model::{event::EventError, service::Service, task::TaskKind, tenant::TenantId, vendor::ManagedNames};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use state::store::{StepRecord, TenantRecord};
use strum::IntoEnumIterator;

use super::{Engine, Outcome, StepContext, StepError, TaskError, TaskId};

/// A running step.
pub type StepFuture<'a> = BoxFuture<'a, Result<Outcome, StepError>>;

/// A step that needs the tenant and the services only: it can also run outside a task (drift
/// repair).
pub type RunAlone = for<'a> fn(&'a StepContext<'a>) -> StepFuture<'a>;

/// A step that also reads the request that started its task.
pub type RunWith<R> = for<'a> fn(&'a StepContext<'a>, &'a R) -> StepFuture<'a>;

/// How a step runs.
#[derive(Clone, Copy)]
pub enum Run<R: 'static> {
    /// With the tenant and the services alone.
    Alone(RunAlone),
    /// With the task's request too.
    WithRequest(RunWith<R>),
}

/// One call a step makes, for a dry run's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCall {
    /// `graph`, `exchange` or `token`.
    pub surface: &'static str,
    /// HTTP method and path, or the cmdlet.
    pub call: String,
    /// The object it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether it changes the tenant (only when the object is missing).
    pub writes: bool,
}

impl PlannedCall {
    /// A call on `surface`.
    pub fn new(surface: &'static str, call: &str, target: Option<&str>, writes: bool) -> Self {
        Self {
            surface,
            call: call.to_owned(),
            target: target.map(str::to_owned),
            writes,
        }
    }

    /// For each target: the look-up, then the write made only when the look-up finds nothing.
    pub fn look_then_write(surface: &'static str, look: &str, write: &str, targets: &[&str]) -> Vec<Self> {
        targets
            .iter()
            .flat_map(|target| {
                [
                    Self::new(surface, look, Some(target), false),
                    Self::new(surface, write, Some(target), true),
                ]
            })
            .collect()
    }
}

/// The calls a step says it makes, for a dry run.
pub type Calls<R> = fn(&R, &ManagedNames) -> Vec<PlannedCall>;

/// Everything about one step, in one place: its service, whether a request wants it, how it
/// runs, and the calls it makes.
pub struct Declaration<R: 'static> {
    /// The service it belongs to; `None` for tenant-wide steps, which gate every service.
    pub service: Option<Service>,
    /// Whether a request wants the step (options can leave steps out).
    pub wanted: fn(&R) -> bool,
    /// How it runs.
    pub run: Run<R>,
    /// The calls it makes, for a dry run.
    pub calls: Calls<R>,
}

impl<R> Declaration<R> {
    /// A tenant-wide step every request wants, that needs no request and declares no calls.
    pub fn alone(run: RunAlone) -> Self {
        Self::new(Run::Alone(run))
    }

    /// A tenant-wide step every request wants, that reads its request and declares no calls.
    pub fn with_request(run: RunWith<R>) -> Self {
        Self::new(Run::WithRequest(run))
    }

    fn new(run: Run<R>) -> Self {
        Self {
            service: None,
            wanted: |_| true,
            run,
            calls: |_, _| Vec::new(),
        }
    }

    /// The same step, belonging to `service`.
    pub fn service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// The same step, wanted only when `wanted` says so.
    pub fn when(mut self, wanted: fn(&R) -> bool) -> Self {
        self.wanted = wanted;
        self
    }

    /// The same step, declaring the calls it makes.
    pub fn calls(mut self, calls: Calls<R>) -> Self {
        self.calls = calls;
        self
    }
}

/// The steps of one kind of task: an enum whose variants are declared in the order they run,
/// whose names (in records and views) are derived from the variants.
pub trait Step: Copy + Eq + Debug + Send + Sync + IntoEnumIterator + Into<&'static str> + 'static {
    /// The request of the task the steps belong to.
    type Request: Sync + 'static;

    /// The step's declaration.
    fn declaration(self) -> Declaration<Self::Request>;

    /// The step's name in records and views.
    fn name(self) -> &'static str {
        self.into()
    }

    /// The service the step belongs to; `None` for tenant-wide steps.
    fn service(self) -> Option<Service> {
        self.declaration().service
    }

    /// The step recorded as `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::iter().find(|step| step.name() == name)
    }

    /// Every step `request` wants, in the order they run.
    fn wanted_by(request: &Self::Request) -> Vec<Self> {
        Self::iter()
            .filter(|step| (step.declaration().wanted)(request))
            .collect()
    }

    /// Runs the step of a task.
    fn run<'a>(self, ctx: &'a StepContext<'a>, request: &'a Self::Request) -> StepFuture<'a> {
        match self.declaration().run {
            Run::Alone(run) => run(ctx),
            Run::WithRequest(run) => run(ctx, request),
        }
    }

    /// Runs the step outside a task; `None` if it needs its task's request.
    fn run_alone<'a>(self, ctx: &'a StepContext<'a>) -> Option<StepFuture<'a>> {
        match self.declaration().run {
            Run::Alone(run) => Some(run(ctx)),
            Run::WithRequest(_) => None,
        }
    }
}

/// What a request does with the tenant as it stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// The standing task already does what is asked: the request joins it.
    Join(TaskId),
    /// A new task opens, and the tenant's record is written as `tenant` in the same transaction
    /// (created if its version is 0). With `current`, the task becomes the tenant's current task.
    Open {
        /// The tenant as the task leaves it when it opens (boxed: a record is large beside an id).
        tenant: Box<TenantRecord>,
        /// Whether the task moves the tenant's lifecycle (it becomes `current_task_id`).
        current: bool,
    },
}

impl Admission {
    /// A new task that becomes the tenant's current task, leaving the tenant as `tenant`.
    pub fn lead(tenant: TenantRecord) -> Self {
        Self::Open {
            tenant: Box::new(tenant),
            current: true,
        }
    }
}

/// A kind of task: provisioning, deprovisioning and policy-target updates implement it as peers.
pub trait TaskPlan {
    /// The kind recorded on its tasks.
    const KIND: TaskKind;
    /// The request that starts it; stored on the task, so a continuation needs only the task id.
    type Request: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// Its steps.
    type Step: Step<Request = Self::Request>;

    /// Parses and checks a request; errors name the field.
    fn parse(value: Value) -> Result<Self::Request, EventError>;

    /// The tenant a request is about.
    fn tenant_id(request: &Self::Request) -> TenantId;

    /// The steps of `request`, in the order they run.
    fn steps(request: &Self::Request) -> Vec<Self::Step> {
        Self::Step::wanted_by(request)
    }

    /// What `request` does with the tenant as it stands (`None`: not under management). Called
    /// again if another writer changed the tenant meanwhile; refusing changes nothing.
    fn admit(
        engine: &Engine,
        request: &Self::Request,
        tenant: Option<TenantRecord>,
    ) -> impl Future<Output = Result<Admission, TaskError>> + Send;

    /// Moves the tenant when its task has ended; returns what is left for a human to remove.
    fn finish(
        engine: &Engine,
        tenant: &TenantRecord,
        steps: &[StepRecord],
        request: &Self::Request,
    ) -> impl Future<Output = Result<Vec<String>, TaskError>> + Send;
}
