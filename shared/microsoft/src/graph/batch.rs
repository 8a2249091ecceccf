//! JSON `$batch`: up to 20 requests per call. Sub-requests are throttled one by one (a 429
//! inside a 200), so throttled ones are re-sent on their own after the longest `Retry-After`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{GraphClient, GraphError, status_error};
use crate::{
    batch::{Collected, SubAnswer},
    meter::{Attempts, GRAPH},
};

/// The most requests Graph accepts in one batch.
pub const MAX_BATCH: usize = 20;

/// One request of a batch; `url` is relative to the version (`/groups/{id}/members/$ref`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRequest {
    /// Unique within the batch; answers are matched to requests by it.
    pub id: String,
    /// HTTP method.
    pub method: String,
    /// Relative URL.
    pub url: String,
    /// JSON body, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Headers; `Content-Type` is set when there is a body.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl BatchRequest {
    /// A request without a body.
    pub fn new(id: impl Into<String>, method: &str, url: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            method: method.to_owned(),
            url: url.into(),
            body: None,
            headers: BTreeMap::new(),
        }
    }

    /// The same request with a JSON body.
    pub fn with_body(mut self, body: Value) -> Self {
        self.headers
            .insert("Content-Type".to_owned(), "application/json".to_owned());
        self.body = Some(body);
        self
    }
}

/// One answer of a batch.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchResponse {
    /// The id of the request it answers.
    pub id: String,
    /// HTTP status of the sub-request.
    pub status: u16,
    /// Its headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Its body.
    #[serde(default)]
    pub body: Option<Value>,
}

impl BatchResponse {
    /// The objects of a collection answer (its body's `value`; none for other answers).
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.body
            .as_ref()
            .and_then(|b| b.get("value"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    /// The sub-request's error, if it failed.
    pub fn error(&self, method: &str, url: &str) -> Option<GraphError> {
        if (200..300).contains(&self.status) {
            return None;
        }
        let body = self.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
        Some(status_error(
            method,
            url,
            self.status,
            body.as_bytes(),
            self.retry_after(),
        ))
    }
}

impl SubAnswer for BatchResponse {
    fn status(&self) -> u16 {
        self.status
    }

    fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }
}

#[derive(Deserialize)]
struct BatchAnswer {
    responses: Vec<BatchResponse>,
}

impl GraphClient {
    /// Runs `requests` in batches of [`MAX_BATCH`]; every request gets an answer, in request
    /// order. Sub-requests still throttled when the retry policy is spent keep their 429.
    pub async fn batch(&self, requests: &[BatchRequest]) -> Result<Vec<BatchResponse>, GraphError> {
        let mut answers = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_BATCH) {
            answers.extend(self.batch_chunk(chunk).await?);
        }
        Ok(answers)
    }

    async fn batch_chunk(&self, chunk: &[BatchRequest]) -> Result<Vec<BatchResponse>, GraphError> {
        let answers = Collected::<BatchResponse>::new(chunk.len());
        let attempts = Attempts::of(GRAPH);
        let attempt = || async {
            attempts.one();
            let pending = answers.pending();
            let body = json!({"requests": pending.iter().map(|i| &chunk[*i]).collect::<Vec<_>>()});
            let answer = self
                .send_once(Method::POST, &self.url("/$batch")?, Some(&body), &[])
                .await?;
            let answer: BatchAnswer = super::decode(answer.unwrap_or(Value::Null), "POST", "/$batch")?;
            for response in answer.responses {
                crate::meter::answered(GRAPH, response.status);
                if let Some(index) = chunk.iter().position(|r| r.id == response.id) {
                    answers.record(index, response);
                }
            }
            let Some((throttled, delay)) = answers.throttled() else {
                return Ok(());
            };
            Err(GraphError::Status {
                method: "POST",
                path: "/$batch".to_owned(),
                status: 429,
                code: "TooManyRequests".to_owned(),
                message: format!("{throttled} of {} batch sub-requests throttled", chunk.len()),
                retry_after: delay,
                ids: None,
            })
        };
        match self.retry.run("Graph $batch", attempt).await {
            Ok(()) => {}
            // Whatever is still throttled is answered with its 429 below; the caller re-queues.
            Err(GraphError::Status {
                status: 429, path, ..
            }) if path == "/$batch" => {}
            Err(err) => return Err(err),
        }
        answers.finish(|index| GraphError::Transport {
            method: "POST".to_owned(),
            path: "/$batch".to_owned(),
            reason: format!("no answer for batch request {:?}", chunk[index].id),
            transient: true,
        })
    }
}
