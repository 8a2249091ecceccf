//! `sync-worker`: consumes the sync queue; each message `{"tenant_id", "site", "run_id"}` syncs
//! one tenant. Output: `{"batchItemFailures": [...]}` naming the messages to deliver again.

use aws_lambda_events::sqs::SqsBatchResponse;
use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::sync::Syncer;
use serde_json::Value;

/// Handles one SQS batch within the invocation's deadline.
pub async fn handler(syncer: &Syncer, event: LambdaEvent<Value>) -> Result<SqsBatchResponse, Diagnostic> {
    let deadline = Some(event.context.deadline());
    Ok(syncer.handle_sqs(event.payload, deadline).await?)
}
