//! Exchange's `$batch`: several cmdlets in one HTTP request (`POST
//! /adminapi/beta/{tenant}/$batch`, at most ten), so a sync's reads cost one round trip.
//! Sub-requests are throttled one by one: throttled ones are re-sent on their own after the
//! longest `Retry-After`, through the one retry policy. Each sub-answer's error is read like an
//! `InvokeCommand` answer's.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Cmdlet, ExchangeError, InvokeCommandClient, Kind, error};
use crate::batch::{Collected, SubAnswer};

/// Sub-requests per Exchange `$batch` (what CIPP sends).
pub const MAX_BATCH: usize = 10;

/// Names the batch itself in errors (a sub-request's errors name its cmdlet).
const BATCH: &str = "$batch";

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    responses: Vec<CmdletAnswer>,
}

#[derive(Clone, Deserialize)]
struct CmdletAnswer {
    id: String,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Value,
}

impl SubAnswer for CmdletAnswer {
    fn status(&self) -> u16 {
        self.status
    }

    fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }
}

impl CmdletAnswer {
    fn into_result(self, cmdlet: &Cmdlet) -> Result<Vec<Value>, ExchangeError> {
        if (200..300).contains(&self.status) {
            return Ok(self
                .body
                .get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default());
        }
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        Err(error::from_answer(
            cmdlet.name(),
            self.status,
            &body,
            self.retry_after(),
        ))
    }
}

impl InvokeCommandClient {
    /// Runs `cmdlets` (reads: a batch is retried) through `$batch` and answers each, in order.
    /// A cmdlet whose answer has more than one page is answered with its first page: use
    /// [`super::ExchangeAdmin::invoke`] for cmdlets that may list more than 1,000 objects.
    pub async fn invoke_batch(
        &self,
        cmdlets: &[Cmdlet],
    ) -> Result<Vec<Result<Vec<Value>, ExchangeError>>, ExchangeError> {
        let mut results = Vec::with_capacity(cmdlets.len());
        for chunk in cmdlets.chunks(MAX_BATCH) {
            let answers = self.batch_chunk(chunk).await?;
            results.extend(
                answers
                    .into_iter()
                    .zip(chunk)
                    .map(|(answer, cmdlet)| answer.into_result(cmdlet)),
            );
        }
        Ok(results)
    }

    async fn batch_chunk(&self, chunk: &[Cmdlet]) -> Result<Vec<CmdletAnswer>, ExchangeError> {
        let answers = Collected::<CmdletAnswer>::new(chunk.len());
        let url = format!("{}/adminapi/beta/{}/$batch", self.origin, self.tenant);
        let invoke = self.endpoint();
        let attempt = || async {
            let requests: Vec<Value> = answers
                .pending()
                .iter()
                .map(|i| json!({"id": i.to_string(), "method": "POST", "url": invoke, "body": chunk[*i].body(), "headers": {}}))
                .collect();
            let (status, retry_after, bytes) = self.send(&url, &json!({"requests": requests}), BATCH).await?;
            if !status.is_success() {
                return Err(error::from_answer(BATCH, status.as_u16(), &bytes, retry_after));
            }
            let answer: Answer = serde_json::from_slice(&bytes).map_err(|_| ExchangeError::Transport {
                cmdlet: BATCH.to_owned(),
                reason: format!("HTTP {status} with a body that is not the documented JSON"),
                transient: false,
            })?;
            for sub in answer.responses {
                if let Ok(index) = sub.id.parse::<usize>() {
                    answers.record(index, sub);
                }
            }
            let Some((throttled, retry_after)) = answers.throttled() else {
                return Ok(());
            };
            Err(ExchangeError::Cmdlet {
                cmdlet: BATCH.to_owned(),
                status: 429,
                message: format!("{throttled} of {} batched cmdlets throttled", chunk.len()),
                kind: Kind::Throttled,
                retry_after,
            })
        };
        match self.retry.run("Exchange $batch", attempt).await {
            Ok(()) => {}
            // Still throttled when the policy is spent: each keeps its own 429 below.
            Err(ExchangeError::Cmdlet {
                cmdlet,
                kind: Kind::Throttled,
                ..
            }) if cmdlet == BATCH => {}
            Err(err) => return Err(err),
        }
        answers.finish(|index| ExchangeError::Transport {
            cmdlet: chunk[index].name().to_owned(),
            reason: "the $batch answer has no response for it".to_owned(),
            transient: true,
        })
    }
}
