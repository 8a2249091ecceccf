//! Exchange's `$batch`: several cmdlets in one HTTP request (`POST
//! /adminapi/beta/{tenant}/$batch`, at most ten), so a sync's reads cost one round trip.
//! Sub-requests are throttled one by one: throttled ones are re-sent on their own after the
//! longest `Retry-After`, through the one retry policy. Each sub-answer's error is read like an
//! `InvokeCommand` answer's.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use chrono::Utc;
use model::retry::parse_retry_after;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Cmdlet, ExchangeError, InvokeCommandClient, Kind, error};

/// Sub-requests per Exchange `$batch` (what CIPP sends).
pub const MAX_BATCH: usize = 10;

/// Names the batch itself in errors (a sub-request's errors name its cmdlet).
const BATCH: &str = "$batch";

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    responses: Vec<SubAnswer>,
}

#[derive(Clone, Deserialize)]
struct SubAnswer {
    id: String,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Value,
}

impl SubAnswer {
    fn retryable(&self) -> bool {
        matches!(self.status, 429 | 503 | 504)
    }

    fn retry_after(&self) -> Option<Duration> {
        let value = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .map(|(_, v)| v)?;
        parse_retry_after(value, Utc::now())
    }

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

    async fn batch_chunk(&self, chunk: &[Cmdlet]) -> Result<Vec<SubAnswer>, ExchangeError> {
        // Answers so far by index; the retry loop re-sends only what is still throttled.
        let answers: Mutex<Vec<Option<SubAnswer>>> = Mutex::new(vec![None; chunk.len()]);
        let url = format!("{}/adminapi/beta/{}/$batch", self.origin, self.tenant);
        let invoke = self.endpoint();
        let attempt = || async {
            let pending: Vec<usize> = {
                let done = answers.lock().unwrap_or_else(|p| p.into_inner());
                (0..chunk.len())
                    .filter(|i| done[*i].as_ref().is_none_or(SubAnswer::retryable))
                    .collect()
            };
            let requests: Vec<Value> = pending
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
            let mut done = answers.lock().unwrap_or_else(|p| p.into_inner());
            for sub in answer.responses {
                if let Ok(index) = sub.id.parse::<usize>()
                    && index < chunk.len()
                {
                    done[index] = Some(sub);
                }
            }
            let throttled: Vec<&SubAnswer> = done.iter().flatten().filter(|a| a.retryable()).collect();
            if throttled.is_empty() {
                return Ok(());
            }
            Err(ExchangeError::Cmdlet {
                cmdlet: BATCH.to_owned(),
                status: 429,
                message: format!("{} of {} batched cmdlets throttled", throttled.len(), chunk.len()),
                kind: Kind::Throttled,
                retry_after: throttled.iter().filter_map(|a| a.retry_after()).max(),
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
        let done = answers.into_inner().unwrap_or_else(|p| p.into_inner());
        done.into_iter()
            .zip(chunk)
            .map(|(answer, cmdlet)| {
                answer.ok_or_else(|| ExchangeError::Transport {
                    cmdlet: cmdlet.name().to_owned(),
                    reason: "the $batch answer has no response for it".to_owned(),
                    transient: true,
                })
            })
            .collect()
    }
}
