//! The functions' metrics, in CloudWatch Embedded Metric Format: each function process records
//! through the `metrics` facade and [`flush`] writes what an event recorded to stdout, one EMF
//! document per set of dimensions, after the event (CloudWatch Logs turns them into metrics; no
//! API call, no permission). README "Operations" lists every metric.
//!
//! Every document has the `Function` dimension (the Lambda function's name) and carries
//! `timestamp`, `level` and `requestId` like every log line, so Lambda's JSON log format files it
//! as INFO and Logs Insights finds it beside the invocation's lines. Without [`init`] (tests,
//! the bench) recording does nothing.

use std::{io::Write, sync::OnceLock};

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_cloudwatch_embedded::Collector;
use model::{
    sites::Site,
    task::{TaskKind, TaskStatus},
    tenant::LifecycleState,
};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "M365Inline";

/// Tenants a sync worker synced (dimension `Site`).
pub const TENANTS_SYNCED: &str = "TenantsSynced";
/// Tenants whose sync failed (SQS delivers the message again).
pub const TENANTS_FAILED: &str = "TenantsFailed";
/// Tenants a sync skipped on purpose (paused, not active, synced already).
pub const TENANTS_SKIPPED: &str = "TenantsSkipped";
/// Objects the sync found changed or gone and put back.
pub const DRIFT_REPAIRED: &str = "DriftRepaired";
/// Domains whose MX does not route to Exchange Online.
pub const MX_WARNINGS: &str = "MxWarnings";
/// Tokens the refresh minted.
pub const TOKENS_MINTED: &str = "TokensMinted";
/// Tenants whose refresh failed (tried again next hour).
pub const REFRESH_FAILURES: &str = "RefreshFailures";
/// Tenants that entered `needs_reconsent` (no `Site`: one alarm sums it over the functions).
pub const NEEDS_RECONSENT: &str = "NeedsReconsent";
/// Invocations that failed with a caller's error ([`CALLER_ERRORS`]); an alarm subtracts them
/// from Lambda's `Errors`, which leaves the failures that are ours (timeouts and crashes too).
pub const CALLER_ERRORS_METRIC: &str = "CallerErrors";
/// The error types that are the caller's to fix, not an operator's.
pub const CALLER_ERRORS: [&str; 4] = [
    "InvalidInput",
    "NotFound",
    "WrongLifecycleState",
    "QuarantineNotAcknowledged",
];
/// Tenants of a site in each lifecycle state (dimensions `Site`, `State`), as its daily run counts
/// them: the fleet by state over time.
pub const TENANTS: &str = "Tenants";
/// Lifecycle notices that did not reach the event bus (the change is recorded; its notification
/// is missing).
pub const EVENTS_NOT_PUBLISHED: &str = "EventsNotPublished";
/// How long one run of a step took (dimension `Step`), in milliseconds.
pub const STEP_DURATION: &str = "StepDuration";
/// Tasks finished (dimensions `TaskKind`, `Outcome`: succeeded or failed).
pub const TASKS_FINISHED: &str = "TasksFinished";

/// Every metric this module records, for the documentation and its tests.
pub const NAMES: [&str; 13] = [
    TENANTS_SYNCED,
    TENANTS_FAILED,
    TENANTS_SKIPPED,
    DRIFT_REPAIRED,
    MX_WARNINGS,
    TOKENS_MINTED,
    REFRESH_FAILURES,
    NEEDS_RECONSENT,
    STEP_DURATION,
    TASKS_FINISHED,
    CALLER_ERRORS_METRIC,
    TENANTS,
    EVENTS_NOT_PUBLISHED,
];

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the EMF recorder for the whole process; call once from the function's loop. A
/// second call, or a recorder installed already, keeps the first.
pub fn init() {
    if COLLECTOR.get().is_some() {
        return;
    }
    let installed = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("Function", function_name())
        .init();
    let Ok(collector) = installed else {
        return;
    };
    collector.set_property("level", "INFO");
    for name in NAMES {
        if name == STEP_DURATION {
            describe_histogram!(name, Unit::Milliseconds, "one run of a step");
        } else if name == TENANTS {
            describe_gauge!(name, Unit::Count, name);
        } else {
            describe_counter!(name, Unit::Count, name);
        }
    }
    microsoft::meter::describe();
    let _ = COLLECTOR.set(collector);
}

/// Writes what was recorded since the last flush, as EMF lines on stdout, naming the invocation.
pub fn flush(request_id: &str) {
    let Some(collector) = COLLECTOR.get() else {
        return;
    };
    collector
        .set_property("timestamp", chrono::Utc::now().to_rfc3339())
        .set_property("requestId", request_id.to_owned());
    // Written whole, in one call: a log line of another task must not land inside a document.
    let mut documents = Vec::new();
    if collector.flush(&mut documents).is_ok() && !documents.is_empty() {
        let _ = std::io::stdout().lock().write_all(&documents);
    }
}

/// The Lambda function's name, or the program's when run outside Lambda.
fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "local".to_owned())
}

/// A tenant synced.
pub fn synced(site: Site) {
    counter!(TENANTS_SYNCED, "Site" => site.code()).increment(1);
}

/// A tenant's sync skipped on purpose.
pub fn skipped(site: Site) {
    counter!(TENANTS_SKIPPED, "Site" => site.code()).increment(1);
}

/// A tenant's sync failed.
pub fn sync_failed(site: Site) {
    counter!(TENANTS_FAILED, "Site" => site.code()).increment(1);
}

/// What a tenant's sync found: drift repaired and MX warnings.
pub fn sync_findings(site: Site, drift: usize, mx_warnings: usize) {
    if drift > 0 {
        counter!(DRIFT_REPAIRED, "Site" => site.code()).increment(drift as u64);
    }
    if mx_warnings > 0 {
        counter!(MX_WARNINGS, "Site" => site.code()).increment(mx_warnings as u64);
    }
}

/// Tokens a tenant's refresh minted.
pub fn tokens_minted(site: Site, minted: usize) {
    if minted > 0 {
        counter!(TOKENS_MINTED, "Site" => site.code()).increment(minted as u64);
    }
}

/// A tenant's refresh failed.
pub fn refresh_failed(site: Site) {
    counter!(REFRESH_FAILURES, "Site" => site.code()).increment(1);
}

/// A tenant entered `needs_reconsent`.
pub fn needs_reconsent() {
    counter!(NEEDS_RECONSENT).increment(1);
}

/// A site's tenants by state, as its daily run counted them (`by_state` leaves out the states
/// without a tenant; they are written as 0, so a chart falls back to zero).
pub fn fleet(site: Site, by_state: &std::collections::BTreeMap<String, u64>) {
    for state in LifecycleState::ALL {
        let state = state.to_string();
        let count = by_state.get(&state).copied().unwrap_or(0);
        gauge!(TENANTS, "Site" => site.code(), "State" => state).set(count as f64);
    }
}

/// A lifecycle notice did not reach the event bus.
pub fn event_not_published() {
    counter!(EVENTS_NOT_PUBLISHED).increment(1);
}

/// An invocation failed with `error_type`: counted when it is a caller's error.
pub fn invocation_failed(error_type: &str) {
    if CALLER_ERRORS.contains(&error_type) {
        counter!(CALLER_ERRORS_METRIC).increment(1);
    }
}

/// One run of a step, and how long it took.
pub fn step_ran(step: &str, took: std::time::Duration) {
    histogram!(STEP_DURATION, "Step" => step.to_owned()).record(took.as_secs_f64() * 1000.0);
}

/// A task finished.
pub fn task_finished(kind: TaskKind, status: TaskStatus) {
    let outcome = match status {
        TaskStatus::Succeeded => "succeeded",
        _ => "failed",
    };
    counter!(TASKS_FINISHED, "TaskKind" => kind.function(), "Outcome" => outcome).increment(1);
}
