//! `deprovision`: `{"tenant_id", "mode": "standard"|"full", "acknowledge_quarantine", "adopt_existing"}`
//! removes what provisioning added (DESIGN §2); `{"task_id"}` continues a task now. Output: the
//! task view, ending with the manual-cleanup list in standard mode.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::{provisioning::Provisioner, view::TaskView};
use serde_json::Value;

/// Handles one event.
pub async fn handler(provisioner: &Provisioner, event: LambdaEvent<Value>) -> Result<TaskView, Diagnostic> {
    let deadline = Some(event.context.deadline());
    Box::pin(provisioner.deprovision(event.payload, deadline))
        .await
        .map_err(|err| Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        })
}
