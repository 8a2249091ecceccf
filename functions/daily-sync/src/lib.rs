//! `daily-sync`: per site at its UTC time (EventBridge Scheduler, Input `{"site": "eu"}`, plus an
//! optional `run_date` for a re-run or backfill). Queues one sync message per active tenant of
//! the site, once per site and UTC date. Output: the run summary.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::sync::{DailySync, RunSummary};
use serde_json::Value;

/// Handles one event.
pub async fn handler(daily: &DailySync, event: LambdaEvent<Value>) -> Result<RunSummary, Diagnostic> {
    Ok(daily.handle(event.payload).await?)
}
