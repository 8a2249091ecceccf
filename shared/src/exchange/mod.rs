//! Exchange Online administration through the admin REST endpoint `InvokeCommand`.
//!
//! The endpoint is unofficial, so callers depend on the [`ExchangeAdmin`] trait, and
//! [`InvokeCommandClient`] is one implementation of it that can be swapped.

mod cmdlet;
mod error;

use chrono::Utc;
use reqwest::header;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

pub use self::{
    cmdlet::{Cmdlet, add_remove},
    error::{ExchangeError, Kind},
};
use crate::{
    retry::{RetryPolicy, parse_retry_after},
    tenant::TenantId,
};

/// Runs Exchange cmdlets in one tenant.
pub trait ExchangeAdmin {
    /// Runs `cmdlet` and returns every object it answered with, all pages followed.
    fn invoke(&self, cmdlet: &Cmdlet) -> impl Future<Output = Result<Vec<Value>, ExchangeError>> + Send;

    /// Runs `cmdlet` once, without retries: for creates of objects without a name, where a
    /// retry after a lost answer could make a second object. Returns the first page.
    fn invoke_once(&self, cmdlet: &Cmdlet) -> impl Future<Output = Result<Vec<Value>, ExchangeError>> + Send;
}

/// The system mailbox CIPP and the EXO module anchor organization-level cmdlets on.
const ANCHOR_MAILBOX: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

/// [`ExchangeAdmin`] over `POST {origin}/adminapi/beta/{tenant}/InvokeCommand`.
#[derive(Clone)]
pub struct InvokeCommandClient {
    http: reqwest::Client,
    origin: String,
    tenant: TenantId,
    token: SecretString,
    retry: RetryPolicy,
}

impl std::fmt::Debug for InvokeCommandClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvokeCommandClient")
            .field("origin", &self.origin)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    value: Option<Vec<Value>>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

impl InvokeCommandClient {
    /// A client of `tenant`'s Exchange at `origin` (e.g. `https://outlook.office365.com`).
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
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/adminapi/beta/{}/InvokeCommand", self.origin, self.tenant)
    }

    async fn post_once(&self, url: &str, cmdlet: &Cmdlet) -> Result<Page, ExchangeError> {
        let name = cmdlet.name().to_owned();
        let transport = |reason: String, transient: bool| ExchangeError::Transport {
            cmdlet: name.clone(),
            reason,
            transient,
        };
        let mut bearer = header::HeaderValue::from_str(&format!("Bearer {}", self.token.expose_secret()))
            .map_err(|_| transport("the token is not a valid header value".to_owned(), false))?;
        bearer.set_sensitive(true);
        let response = self
            .http
            .post(url)
            .header(header::AUTHORIZATION, bearer)
            .header("Prefer", "odata.maxpagesize=1000")
            .header("X-AnchorMailbox", format!("APP:{ANCHOR_MAILBOX}@{}", self.tenant))
            .json(&cmdlet.body())
            .send()
            .await
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let bytes = response
            .bytes()
            .await
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Page {
                    value: None,
                    next_link: None,
                });
            }
            return serde_json::from_slice(&bytes).map_err(|_| {
                transport(
                    format!("HTTP {status} with a body that is not the documented JSON"),
                    false,
                )
            });
        }
        let envelope: error::Envelope = serde_json::from_slice(&bytes).unwrap_or_default();
        let mut message = envelope.error.best_message();
        if message.is_empty() {
            message = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        }
        let kind = error::classify(status.as_u16(), &envelope.error.code, &message);
        Err(ExchangeError::Cmdlet {
            cmdlet: cmdlet.name().to_owned(),
            status: status.as_u16(),
            message,
            kind,
            retry_after,
        })
    }
}

impl ExchangeAdmin for InvokeCommandClient {
    async fn invoke(&self, cmdlet: &Cmdlet) -> Result<Vec<Value>, ExchangeError> {
        let what = format!("Exchange {}", cmdlet.name());
        let mut url = self.endpoint();
        let mut objects = Vec::new();
        loop {
            let page = self.retry.run(&what, || self.post_once(&url, cmdlet)).await?;
            objects.extend(page.value.unwrap_or_default());
            match page.next_link {
                // Paging re-POSTs the same body to the link, which must stay on our origin.
                Some(next)
                    if next
                        .strip_prefix(&self.origin)
                        .is_some_and(|rest| rest.starts_with('/')) =>
                {
                    url = next
                }
                Some(_) => {
                    return Err(ExchangeError::ForeignLink {
                        cmdlet: cmdlet.name().to_owned(),
                    });
                }
                None => return Ok(objects),
            }
        }
    }

    async fn invoke_once(&self, cmdlet: &Cmdlet) -> Result<Vec<Value>, ExchangeError> {
        Ok(self
            .post_once(&self.endpoint(), cmdlet)
            .await?
            .value
            .unwrap_or_default())
    }
}
