//! The spans work runs in. Their fields reach every line logged inside them (see
//! [`telemetry`](crate::telemetry)), so one Logs Insights query finds a tenant's, a task's, a
//! run's or a message's lines. They are `ERROR`-level spans so that no log level turns them off:
//! a warning logged while `ApplicationLogLevel` is `WARN` still names its tenant.

use model::{sites::Site, task::TaskKind, tenant::TenantId};
use tracing::Span;

/// One tenant's work: an onboarding answer, a refresh, a task being opened.
pub fn tenant(tenant_id: TenantId) -> Span {
    tracing::error_span!("tenant", tenant_id = %tenant_id)
}

/// One task being run, and the tenant it works on.
pub fn task(tenant_id: TenantId, task_id: model::task::TaskId, kind: TaskKind) -> Span {
    tracing::error_span!("task", tenant_id = %tenant_id, task_id = %task_id, task_kind = kind.function())
}

/// One step of the task being run.
pub fn step(name: &str) -> Span {
    tracing::error_span!("step", step = name)
}

/// One SQS message of a batch.
pub fn message(message_id: &str) -> Span {
    tracing::error_span!("message", message_id = message_id)
}

/// One tenant's sync in a site's run.
pub fn sync(tenant_id: TenantId, site: Site, run_id: &str) -> Span {
    tracing::error_span!("sync", tenant_id = %tenant_id, site = site.code(), run_id = run_id)
}

/// A site's daily run being queued.
pub fn run(site: Site, run_id: &str) -> Span {
    tracing::error_span!("run", site = site.code(), run_id = run_id)
}
