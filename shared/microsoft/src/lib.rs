//! Thin clients of the three Microsoft surfaces m365-inline calls, each with errors that say
//! whether retrying can help ([`model::retry::Retryable`]) and never hold a token:
//!
//! - [`identity`]: the Entra ID token endpoint (client secret, certificate, refresh token) and
//!   the token and credential types;
//! - [`graph`]: Microsoft Graph v1.0 (paging, `$batch`, delta links, `Retry-After`);
//! - [`exchange`]: the Exchange Online admin API (`InvokeCommand` and its `$batch`), behind the
//!   [`exchange::ExchangeAdmin`] trait because the endpoint is unofficial;
//! - [`endpoints`]: where each surface is reached, per cloud or overridden;
//! - [`fields`]: reading the JSON objects both surfaces answer with (what their `$batch` answers
//!   share is kept inside, in `batch`);
//! - [`http`]: the one HTTP client every call goes through; [`meter`]: what the clients count
//!   (requests, throttles, retries by surface).

mod batch;
pub mod endpoints;
pub mod exchange;
pub mod fields;
pub mod graph;
pub mod http;
pub mod identity;
pub mod meter;
