//! `deprovision`: `{"tenant_id", "mode": "standard"|"full", "acknowledge_quarantine", "adopt_existing"}`
//! removes what provisioning added; `{"task_id"}` continues a task now. Output: the task view,
//! ending with the manual-cleanup list in standard mode.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::{Lifecycle, tasks::TaskView};
use serde_json::Value;

/// Handles one event.
pub async fn handler(lifecycle: &Lifecycle, event: LambdaEvent<Value>) -> Result<TaskView, Diagnostic> {
    let deadline = Some(event.context.deadline());
    Ok(Box::pin(lifecycle.deprovision(event.payload, deadline)).await?)
}
