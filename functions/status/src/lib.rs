//! `status`: `{"task_id"}` -> the task view; `{"tenant_id"}` -> the tenant view (lifecycle
//! state, services, last task, managed resources).

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::status::{StatusAnswer, status};
use serde_json::Value;
use state::store::Store;

/// Handles one event.
pub async fn handler(store: &Store, event: LambdaEvent<Value>) -> Result<StatusAnswer, Diagnostic> {
    Ok(status(store, event.payload).await?)
}
