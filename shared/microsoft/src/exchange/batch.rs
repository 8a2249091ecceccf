//! Exchange's `$batch`: several cmdlets in one HTTP request (`POST
//! /adminapi/beta/{tenant}/$batch`, at most ten), so a sync's reads cost one round trip.
//!
//! Sent as production callers send it (CIPP's `New-ExoBulkRequest`): the batch prefers
//! `odata.continue-on-error`, so one failed read does not cost the others their answers, and
//! every sub-request carries the whole header set (token, page size, anchor, cmdlet name), since
//! whether sub-requests inherit the outer headers is not documented. Sub-requests are throttled
//! one by one: throttled ones are re-sent in a batch of their own after the longest
//! `Retry-After`, through the one retry policy. An answer that is missing or still failing for a
//! passing reason is asked for again alone, and an answer with more pages is followed to the end.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use model::retry::{RetryHint, Retryable};

use super::{Cmdlet, ExchangeAdmin, ExchangeError, InvokeCommandClient, Kind, PAGE_SIZE, Page, Sent, error};
use crate::{
    batch::{Collected, SubAnswer},
    meter::{Attempts, EXCHANGE},
};

/// Sub-requests per Exchange `$batch` (what CIPP sends).
pub const MAX_BATCH: usize = 10;

/// Names the batch itself in errors (a sub-request's errors name its cmdlet).
const BATCH: &str = "$batch";

/// The batch's preference: every sub-request runs even when one fails.
const BATCH_PREFER: &str = "odata.maxpagesize=1000;odata.continue-on-error";

/// Whether asking again alone may answer what the batch did not: a missing answer, a server
/// error, throttling that outlived the batch's retries, or a sub-request the service did not
/// run because another failed (424 Failed Dependency).
fn alone_may_help(err: &ExchangeError) -> bool {
    err.retry_hint() != RetryHint::Never || matches!(err, ExchangeError::Cmdlet { status: 424, .. })
}

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
    fn into_page(self, cmdlet: &Cmdlet) -> Result<Page, ExchangeError> {
        if (200..300).contains(&self.status) {
            return Ok(Page {
                value: self.body.get("value").and_then(Value::as_array).cloned(),
                next_link: self
                    .body
                    .get("@odata.nextLink")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
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
    /// The headers of one sub-request: all of the outer request's, as CIPP copies them. The
    /// token travels in the body here, which is never logged.
    fn sub_request_headers(&self, cmdlet: &Cmdlet) -> Value {
        json!({
            "Authorization": self.bearer(),
            "Prefer": PAGE_SIZE,
            "X-AnchorMailbox": self.anchor(),
            "X-CmdletName": cmdlet.name(),
            "Content-Type": "application/json",
            "Accept": "application/json; odata.metadata=minimal",
        })
    }

    /// Runs `cmdlets` (reads: a batch is retried) through `$batch` and answers each, in order,
    /// with every page.
    pub async fn invoke_batch(
        &self,
        cmdlets: &[Cmdlet],
    ) -> Result<Vec<Result<Vec<Value>, ExchangeError>>, ExchangeError> {
        let mut results = Vec::with_capacity(cmdlets.len());
        for chunk in cmdlets.chunks(MAX_BATCH) {
            let answers = self.batch_chunk(chunk).await?;
            for (answer, cmdlet) in answers.into_iter().zip(chunk) {
                results.push(self.complete(cmdlet, answer.into_page(cmdlet)).await);
            }
        }
        Ok(results)
    }

    /// One cmdlet's whole answer from its batch answer: later pages followed, and a passing
    /// failure (a missing answer, a server error, a sub-request the batch did not run) asked
    /// again on its own.
    async fn complete(
        &self,
        cmdlet: &Cmdlet,
        page: Result<Page, ExchangeError>,
    ) -> Result<Vec<Value>, ExchangeError> {
        match page {
            Ok(Page {
                value,
                next_link: Some(next),
            }) => {
                let url = self.own_link(cmdlet, next)?;
                self.follow(cmdlet, url, value.unwrap_or_default()).await
            }
            Ok(page) => Ok(page.value.unwrap_or_default()),
            Err(err) if alone_may_help(&err) => self.invoke(cmdlet).await,
            Err(err) => Err(err),
        }
    }

    async fn batch_chunk(&self, chunk: &[Cmdlet]) -> Result<Vec<CmdletAnswer>, ExchangeError> {
        let answers = Collected::<CmdletAnswer>::new(chunk.len());
        let url = format!("{}/adminapi/beta/{}/$batch", self.origin, self.tenant);
        let invoke = self.endpoint();
        let attempts = Attempts::of(EXCHANGE);
        let attempt = || async {
            attempts.one();
            let requests: Vec<Value> = answers
                .pending()
                .iter()
                .map(|i| {
                    let cmdlet = &chunk[*i];
                    json!({"id": i.to_string(), "method": "POST", "url": invoke, "body": cmdlet.body(),
                        "headers": self.sub_request_headers(cmdlet)})
                })
                .collect();
            let body = json!({"requests": requests});
            let Sent {
                status,
                retry_after,
                bytes,
                ids,
            } = self.send(&url, &body, BATCH, BATCH_PREFER).await?;
            if !status.is_success() {
                return Err(error::from_answer(BATCH, status.as_u16(), &bytes, retry_after).with_ids(ids));
            }
            let answer: Answer = serde_json::from_slice(&bytes).map_err(|_| ExchangeError::Transport {
                cmdlet: BATCH.to_owned(),
                reason: format!("HTTP {status} with a body that is not the documented JSON"),
                transient: false,
            })?;
            for sub in answer.responses {
                crate::meter::answered(EXCHANGE, sub.status);
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
                ids: None,
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn sub_requests_carry_the_headers_a_production_caller_sends() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/exchange-batch-request.json"
        );
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        let client = InvokeCommandClient::new(
            reqwest::Client::new(),
            "https://outlook.office365.com",
            "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".parse().expect("tenant"),
            secrecy::SecretString::from("t0ken"),
            model::retry::RetryPolicy::default(),
        );
        let ours = client.sub_request_headers(&Cmdlet::new("Get-AcceptedDomain"));
        // CIPP's routing and compression hints are optional; every other header it copies we send.
        for (name, _) in fixture["sub_request_headers"].as_object().expect("headers") {
            if matches!(name.as_str(), "parameter-based-routing" | "Accept-Encoding") {
                continue;
            }
            assert!(ours.get(name).is_some(), "{name} missing from {ours}");
        }
        assert_eq!(ours["X-CmdletName"], "Get-AcceptedDomain");
        assert_eq!(ours["Authorization"], "Bearer t0ken");
        let outer = fixture["outer_headers"]["Prefer"].as_str().expect("prefer");
        assert!(
            outer.contains("odata.continue-on-error") && BATCH_PREFER.contains("odata.continue-on-error")
        );
    }
}
