//! Exchange Online administration through the admin REST endpoint `InvokeCommand`.
//!
//! The endpoint is unofficial, so callers depend on the [`ExchangeAdmin`] trait, and
//! [`InvokeCommandClient`] is one implementation of it that can be swapped.

mod allow_list;
mod batch;
mod cmdlet;
mod ensure;
mod error;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use model::{retry::RetryPolicy, tenant::TenantId};
use reqwest::header;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    http::{CLIENT_REQUEST_ID, RequestIds},
    meter::{Attempts, EXCHANGE},
};

pub use self::{
    allow_list::{allow_list_entries, allowed_ips, get_filter_policy, set_allowed_ips},
    batch::MAX_BATCH,
    cmdlet::{Cmdlet, add_remove},
    ensure::{ensure, find, remove},
    error::{ExchangeError, Kind},
};

/// Runs Exchange cmdlets in one tenant.
pub trait ExchangeAdmin {
    /// Runs `cmdlet` and returns every object it answered with, all pages followed.
    fn invoke(&self, cmdlet: &Cmdlet) -> impl Future<Output = Result<Vec<Value>, ExchangeError>> + Send;

    /// Runs `cmdlet` once, without retries: for creates of objects without a name, where a
    /// retry after a lost answer could make a second object. Returns the first page.
    fn invoke_once(&self, cmdlet: &Cmdlet) -> impl Future<Output = Result<Vec<Value>, ExchangeError>> + Send;
}

/// The page size asked for: Exchange's largest.
const PAGE_SIZE: &str = "odata.maxpagesize=1000";

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
    // Shared by clones, so a caller can tell what a piece of work cost in HTTP requests.
    http_requests: Arc<AtomicUsize>,
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
            http_requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/adminapi/beta/{}/InvokeCommand", self.origin, self.tenant)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token.expose_secret())
    }

    fn anchor(&self) -> String {
        format!("APP:{ANCHOR_MAILBOX}@{}", self.tenant)
    }

    /// HTTP requests this client (and its clones) has sent, retries and pages included.
    pub fn http_requests(&self) -> usize {
        self.http_requests.load(Ordering::Relaxed)
    }

    /// POSTs `body` to `url` with the tenant's token and anchor, named by a fresh
    /// `client-request-id`. `what` names the call in errors.
    async fn send(&self, url: &str, body: &Value, what: &str, prefer: &str) -> Result<Sent, ExchangeError> {
        let transport = |reason: String, transient: bool| ExchangeError::Transport {
            cmdlet: what.to_owned(),
            reason,
            transient,
        };
        let mut bearer = header::HeaderValue::from_str(&self.bearer())
            .map_err(|_| transport("the token is not a valid header value".to_owned(), false))?;
        // Keeps the token out of any debug output of the request.
        bearer.set_sensitive(true);
        self.http_requests.fetch_add(1, Ordering::Relaxed);
        crate::meter::request(EXCHANGE);
        let ids = RequestIds::fresh();
        let response = self
            .http
            .post(url)
            .header(header::AUTHORIZATION, bearer)
            .header(CLIENT_REQUEST_ID, &ids.client)
            .header("Prefer", prefer)
            .header("X-AnchorMailbox", self.anchor())
            .json(body)
            .send()
            .await
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        let status = response.status();
        crate::meter::answered(EXCHANGE, status.as_u16());
        let retry_after = crate::http::retry_after(response.headers());
        let ids = ids.answered(response.headers());
        let bytes = crate::http::read_body(response, crate::http::MAX_BODY_BYTES)
            .await
            .map_err(|reason| transport(reason, true))?;
        Ok(Sent {
            status,
            retry_after,
            bytes,
            ids,
        })
    }

    async fn post_once(&self, url: &str, cmdlet: &Cmdlet) -> Result<Page, ExchangeError> {
        let Sent {
            status,
            retry_after,
            bytes,
            ids,
        } = self.send(url, &cmdlet.body(), cmdlet.name(), PAGE_SIZE).await?;
        if !status.is_success() {
            return Err(
                error::from_answer(cmdlet.name(), status.as_u16(), &bytes, retry_after).with_ids(ids),
            );
        }
        if bytes.is_empty() {
            return Ok(Page {
                value: None,
                next_link: None,
            });
        }
        serde_json::from_slice(&bytes).map_err(|_| ExchangeError::Transport {
            cmdlet: cmdlet.name().to_owned(),
            reason: format!("HTTP {status} with a body that is not the documented JSON"),
            transient: false,
        })
    }
}

/// One answer as it came: its status, the server's delay, its body and the request's ids.
struct Sent {
    status: reqwest::StatusCode,
    retry_after: Option<std::time::Duration>,
    bytes: Vec<u8>,
    ids: RequestIds,
}

/// The most pages one cmdlet's answer follows (at 1,000 objects a page, a million objects).
pub const MAX_PAGES: usize = 1_000;

impl InvokeCommandClient {
    /// Adds the pages of `cmdlet` from `url` on to `objects`, each page retried on its own.
    async fn follow(
        &self,
        cmdlet: &Cmdlet,
        mut url: String,
        mut objects: Vec<Value>,
    ) -> Result<Vec<Value>, ExchangeError> {
        let what = format!("Exchange {}", cmdlet.name());
        for _ in 0..MAX_PAGES {
            let attempts = Attempts::of(EXCHANGE);
            let page = self
                .retry
                .run(&what, || {
                    attempts.one();
                    self.post_once(&url, cmdlet)
                })
                .await?;
            objects.extend(page.value.unwrap_or_default());
            match page.next_link {
                Some(next) => url = self.own_link(cmdlet, next)?,
                None => return Ok(objects),
            }
        }
        // A link that never ends (a broken or hostile answer) stops here, not at the deadline.
        Err(ExchangeError::Transport {
            cmdlet: cmdlet.name().to_owned(),
            reason: format!("more than {MAX_PAGES} pages; the links were not followed further"),
            transient: false,
        })
    }

    /// A paging link, which is followed only when it stays on our origin (paging re-POSTs the
    /// same body to it, token included).
    fn own_link(&self, cmdlet: &Cmdlet, next: String) -> Result<String, ExchangeError> {
        if next
            .strip_prefix(&self.origin)
            .is_some_and(|rest| rest.starts_with('/'))
        {
            Ok(next)
        } else {
            Err(ExchangeError::ForeignLink {
                cmdlet: cmdlet.name().to_owned(),
            })
        }
    }
}

impl ExchangeAdmin for InvokeCommandClient {
    async fn invoke(&self, cmdlet: &Cmdlet) -> Result<Vec<Value>, ExchangeError> {
        self.follow(cmdlet, self.endpoint(), Vec::new()).await
    }

    async fn invoke_once(&self, cmdlet: &Cmdlet) -> Result<Vec<Value>, ExchangeError> {
        Ok(self
            .post_once(&self.endpoint(), cmdlet)
            .await?
            .value
            .unwrap_or_default())
    }
}
