//! Sending work to SQS queues: continuations of tasks and per-tenant sync messages.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    types::SendMessageBatchRequestEntry,
};
use model::config::{ConfigError, Source};
use serde::Serialize;

use crate::config::{continuation_queue_url, sync_queue_url};

/// The longest delay SQS accepts on a message.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// Sending to a queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// SQS refused or could not be reached.
    #[error("SQS {operation} to {queue} failed: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The queue URL.
        queue: String,
        /// What SQS said.
        message: String,
    },
    /// A message body could not be encoded; nothing was sent.
    #[error("a message for {queue} cannot be encoded: {reason}")]
    Encode {
        /// The queue URL.
        queue: String,
        /// Why.
        reason: String,
    },
    /// Some messages of a batch were not accepted.
    #[error("SQS did not accept {failed} of {total} messages for {queue}; the sender will retry")]
    Partial {
        /// The queue URL.
        queue: String,
        /// How many failed.
        failed: usize,
        /// How many were sent.
        total: usize,
    },
}

/// Handle on one queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    /// A handle on the queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The task-continuation queue of `source` (`PROVISION_QUEUE_URL`).
    pub fn continuations(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self::new(Client::new(sdk), continuation_queue_url(source)?))
    }

    /// The sync queue of `source` (`SYNC_QUEUE_URL`).
    pub fn sync(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self::new(Client::new(sdk), sync_queue_url(source)?))
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn encode<T: Serialize>(&self, body: &T) -> Result<String, QueueError> {
        serde_json::to_string(body).map_err(|err| QueueError::Encode {
            queue: self.url.clone(),
            reason: err.to_string(),
        })
    }

    /// Sends one JSON message, visible after `delay` (capped at [`MAX_DELAY`]).
    pub async fn send<T: Serialize>(&self, body: &T, delay: Duration) -> Result<(), QueueError> {
        let body = self.encode(body)?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay.min(MAX_DELAY).as_secs() as i32)
            .send()
            .await
            .map_err(|err| self.failed("SendMessage", &err))?;
        Ok(())
    }

    /// Sends messages in batches of ten (SQS's limit); every message is accepted or an error says
    /// how many were not.
    pub async fn send_all<T: Serialize>(&self, bodies: &[T]) -> Result<(), QueueError> {
        for chunk in bodies.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (index, body) in chunk.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(self.encode(body)?)
                    .build()
                    .map_err(|err| QueueError::Encode {
                        queue: self.url.clone(),
                        reason: err.to_string(),
                    })?;
                entries.push(entry);
            }
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| self.failed("SendMessageBatch", &err))?;
            if !output.failed.is_empty() {
                return Err(QueueError::Partial {
                    queue: self.url.clone(),
                    failed: output.failed.len(),
                    total: chunk.len(),
                });
            }
        }
        Ok(())
    }

    /// SQS refused `operation`, in the words of the SDK's error.
    fn failed<E, R>(&self, operation: &'static str, err: &SdkError<E, R>) -> QueueError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        QueueError::Aws {
            operation,
            queue: self.url.clone(),
            message: crate::aws::describe(err),
        }
    }
}
