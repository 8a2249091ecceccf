//! `provision`: starts or continues the provisioning of a tenant (DESIGN §2, §6).
//!
//! Input: a `ProvisionRequest`, `{"task_id"}` to continue a task, either one inside an
//! EventBridge envelope, or an SQS batch of continuations. Output: the task view, the dry-run
//! plan, or the SQS batch's item failures.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::provisioning::{Answer, Provisioner};
use serde_json::Value;

/// Handles one event.
pub async fn handler(provisioner: &Provisioner, event: LambdaEvent<Value>) -> Result<Answer, Diagnostic> {
    let deadline = Some(event.context.deadline());
    Box::pin(provisioner.handle(event.payload, deadline))
        .await
        .map_err(|err| {
            tracing::error!(error = %err, error_type = err.error_type(), "provision failed");
            Diagnostic {
                error_type: err.error_type().to_owned(),
                error_message: err.to_string(),
            }
        })
}
