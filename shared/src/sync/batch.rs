//! Exchange's `$batch`: several read cmdlets in one HTTP request (`POST
//! /adminapi/beta/{tenant}/$batch`, at most ten), so a sync's drift check costs one round trip.
//! Sub-requests are throttled one by one: throttled ones are re-sent on their own after the
//! longest `Retry-After`, through the one retry policy.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use reqwest::header;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    exchange::{Cmdlet, ExchangeError, Kind},
    retry::{RetryPolicy, parse_retry_after},
    tenant::TenantId,
};

/// Sub-requests per Exchange `$batch` (what CIPP sends).
pub const MAX_EXCHANGE_BATCH: usize = 10;

/// Runs read cmdlets of one tenant through Exchange's `$batch`.
pub struct ExchangeBatch {
    http: reqwest::Client,
    origin: String,
    tenant: TenantId,
    token: SecretString,
    retry: RetryPolicy,
    http_requests: AtomicUsize,
}

impl std::fmt::Debug for ExchangeBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeBatch")
            .field("origin", &self.origin)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

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
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Value,
}

impl SubAnswer {
    fn retryable(&self) -> bool {
        matches!(self.status, 429 | 503 | 504)
    }

    fn retry_after(&self) -> Option<Duration> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| parse_retry_after(v, Utc::now()))
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
        let message = self
            .body
            .pointer("/error/details/0/message")
            .and_then(Value::as_str)
            .or_else(|| self.body.pointer("/error/message").and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned();
        let kind = match self.status {
            404 => Kind::NotFound,
            401 => Kind::Unauthorized,
            429 | 503 | 504 => Kind::Throttled,
            _ => Kind::Rejected,
        };
        let retry_after = self.retry_after();
        Err(ExchangeError::Cmdlet {
            cmdlet: cmdlet.name().to_owned(),
            status: self.status,
            message,
            kind,
            retry_after,
        })
    }
}

impl ExchangeBatch {
    /// A batch client of `tenant`'s Exchange at `origin`.
    pub fn new(
        http: reqwest::Client,
        origin: &str,
        tenant: TenantId,
        token: SecretString,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            origin: origin.trim_end_matches('/').to_owned(),
            tenant,
            token,
            retry,
            http_requests: AtomicUsize::new(0),
        }
    }

    /// HTTP requests sent so far (each `$batch` envelope once).
    pub fn http_requests(&self) -> usize {
        self.http_requests.load(Ordering::Relaxed)
    }

    /// Runs `cmdlets` (read cmdlets: a batch is retried) and answers each, in order. A cmdlet
    /// whose answer has more pages than one is answered with its first page only; the read
    /// cmdlets used here answer far fewer than the 1,000 objects of a page.
    pub async fn run(
        &self,
        cmdlets: &[Cmdlet],
    ) -> Result<Vec<Result<Vec<Value>, ExchangeError>>, ExchangeError> {
        let mut results = Vec::with_capacity(cmdlets.len());
        for chunk in cmdlets.chunks(MAX_EXCHANGE_BATCH) {
            let answers = self.run_chunk(chunk).await?;
            results.extend(answers.into_iter().zip(chunk).map(|(a, c)| a.into_result(c)));
        }
        Ok(results)
    }

    async fn run_chunk(&self, chunk: &[Cmdlet]) -> Result<Vec<SubAnswer>, ExchangeError> {
        let answers: Mutex<Vec<Option<SubAnswer>>> = Mutex::new(vec![None; chunk.len()]);
        let url = format!("{}/adminapi/beta/{}/$batch", self.origin, self.tenant);
        let invoke = format!("{}/adminapi/beta/{}/InvokeCommand", self.origin, self.tenant);
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
            let answer = self.post(&url, &json!({"requests": requests})).await?;
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
                cmdlet: "$batch".to_owned(),
                status: 429,
                message: format!("{} of {} batched cmdlets throttled", throttled.len(), chunk.len()),
                kind: Kind::Throttled,
                retry_after: throttled.iter().filter_map(|a| a.retry_after()).max(),
            })
        };
        match self.retry.run("Exchange $batch", attempt).await {
            Ok(()) => {}
            // Still throttled when the policy is spent: each keeps its own 429 below.
            Err(ExchangeError::Cmdlet { cmdlet, .. }) if cmdlet == "$batch" => {}
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

    async fn post(&self, url: &str, body: &Value) -> Result<Answer, ExchangeError> {
        let transport = |reason: String, transient: bool| ExchangeError::Transport {
            cmdlet: "$batch".to_owned(),
            reason,
            transient,
        };
        let mut bearer = header::HeaderValue::from_str(&format!("Bearer {}", self.token.expose_secret()))
            .map_err(|_| transport("the token is not a valid header value".to_owned(), false))?;
        bearer.set_sensitive(true);
        self.http_requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(url)
            .header(header::AUTHORIZATION, bearer)
            .header("Prefer", "odata.maxpagesize=1000")
            .json(body)
            .send()
            .await
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        if !status.is_success() {
            let message: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            let kind = match status.as_u16() {
                401 => Kind::Unauthorized,
                429 | 503 | 504 => Kind::Throttled,
                _ => Kind::Rejected,
            };
            return Err(ExchangeError::Cmdlet {
                cmdlet: "$batch".to_owned(),
                status: status.as_u16(),
                message,
                kind,
                retry_after: None,
            });
        }
        serde_json::from_slice(&bytes).map_err(|_| {
            transport(
                format!("HTTP {status} with a body that is not the documented JSON"),
                false,
            )
        })
    }
}
