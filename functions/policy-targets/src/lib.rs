//! `policy-targets`: `{"tenant_id", "policy_targets": {"domains", "users", "groups"}}` makes the
//! virtual groups hold exactly the targeted users and the domain rules cover the targeted domains;
//! `{"task_id"}` continues a task now. Output: the task view.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::{Lifecycle, tasks::TaskView};
use serde_json::Value;

/// Handles one event.
pub async fn handler(lifecycle: &Lifecycle, event: LambdaEvent<Value>) -> Result<TaskView, Diagnostic> {
    let deadline = Some(event.context.deadline());
    Ok(Box::pin(lifecycle.update_policy_targets(event.payload, deadline)).await?)
}
