//! `token-refresh`: hourly (EventBridge Scheduler). Refreshes every active tenant's tokens that
//! expire before the next run; `{"force": true}` re-mints all. Any other scheduler payload is
//! ignored. Output: the refresh report.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::refresh::{RefreshReport, Refresher};
use serde_json::Value;

/// Handles one event.
pub async fn handler(refresher: &Refresher, event: LambdaEvent<Value>) -> Result<RefreshReport, Diagnostic> {
    Ok(refresher.run(&event.payload).await?)
}
