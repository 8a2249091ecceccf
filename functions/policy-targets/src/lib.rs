//! `policy-targets`: `{"tenant_id", "policy_targets": {"domains", "users", "groups"}}` makes the
//! virtual groups hold exactly the targeted users and the domain rules cover the targeted domains;
//! `{"task_id"}` continues a task now. Output: the task view.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::{provisioning::Provisioner, view::TaskView};
use serde_json::Value;

/// Handles one event.
pub async fn handler(provisioner: &Provisioner, event: LambdaEvent<Value>) -> Result<TaskView, Diagnostic> {
    let deadline = Some(event.context.deadline());
    Box::pin(provisioner.update_policy_targets(event.payload, deadline))
        .await
        .map_err(|err| Diagnostic {
            error_type: err.error_type().to_owned(),
            error_message: err.to_string(),
        })
}
