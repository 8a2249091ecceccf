//! `provision`: starts or continues the provisioning of a tenant, and continues tasks of every
//! kind from the continuation queue.
//!
//! Input: a `ProvisionRequest`, `{"task_id"}` to continue a task, either one inside an
//! EventBridge envelope, or an SQS batch of continuations. Output: the task view, the dry-run
//! plan, or the SQS batch's item failures.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::{Answer, Lifecycle};
use serde_json::Value;

/// Handles one event.
pub async fn handler(lifecycle: &Lifecycle, event: LambdaEvent<Value>) -> Result<Answer, Diagnostic> {
    let deadline = Some(event.context.deadline());
    let answer = Box::pin(lifecycle.provision(event.payload, deadline))
        .await
        .inspect_err(
            |err| tracing::error!(error = %err, error_type = err.error_type(), "provision failed"),
        )?;
    Ok(answer)
}
