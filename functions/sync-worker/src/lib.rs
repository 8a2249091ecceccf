//! `sync-worker`: consumes the sync queue; each message `{"tenant_id", "site", "run_id"}` syncs
//! one tenant. Output: `{"batchItemFailures": [...]}` naming the messages to deliver again.

use lambda_runtime::{Diagnostic, LambdaEvent};
use lifecycle::{provisioning::BatchAnswer, sync::Syncer};
use serde_json::Value;

/// Handles one SQS batch.
pub async fn handler(syncer: &Syncer, event: LambdaEvent<Value>) -> Result<BatchAnswer, Diagnostic> {
    syncer.handle_sqs(event.payload).await.map_err(|err| Diagnostic {
        error_type: err.error_type().to_owned(),
        error_message: err.to_string(),
    })
}
