//! `sync-worker`: consumes the sync queue; each message `{"tenant_id", "site", "run_id"}` syncs
//! one tenant. Output: `{"batchItemFailures": [...]}` naming the messages to deliver again.

use aws_lambda_events::sqs::SqsBatchResponse;
use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::sync::Syncer;
use serde_json::Value;

/// Handles one SQS batch.
pub async fn handler(syncer: &Syncer, event: LambdaEvent<Value>) -> Result<SqsBatchResponse, Diagnostic> {
    Ok(syncer.handle_sqs(event.payload).await?)
}
