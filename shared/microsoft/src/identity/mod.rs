//! The Entra ID token endpoint: client credentials (secret or certificate) and the refresh-token
//! grant, one resource per token (`scope=<resource>/.default`); and which tenant a domain names
//! (the OpenID discovery document).

mod assertion;
pub mod certificate;
mod credentials;
mod discovery;
mod error;
mod pem;
mod signer;
mod token;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use model::{retry::RetryPolicy, tenant::TenantId};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    http::{CLIENT_REQUEST_ID, RequestIds},
    meter::{Attempts, IDENTITY},
};

pub use self::{
    credentials::{AppCredential, AppCredentials},
    discovery::DiscoveryError,
    error::{IdentityError, Verdict, verdict_for_code},
    signer::{AssertionSigner, PemKey, SignerError, Signing},
    token::{AccessToken, Resource},
};

/// How to ask for a token.
#[derive(Debug, Clone, Copy)]
pub enum Grant<'a> {
    /// App-only: the app's own credential.
    ClientCredentials,
    /// Delegated: a refresh token (it rotates; persist the one returned).
    RefreshToken(&'a SecretString),
}

/// A token as issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The access token and its expiry.
    pub access: AccessToken,
    /// The new refresh token, if the grant returned one.
    pub refresh_token: Option<SecretString>,
}

/// Client of the token endpoint.
#[derive(Debug, Clone)]
pub struct IdentityClient {
    http: reqwest::Client,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: Seconds,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

/// `expires_in` is a number in v2.0 answers and a string in some older ones.
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(i64),
    Text(String),
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u32>,
    /// Entra's own id of the request (its `correlation_id` is our `client-request-id`).
    #[serde(default)]
    trace_id: String,
}

impl IdentityClient {
    /// A client on `http` with `retry`.
    pub fn new(http: reqwest::Client, retry: RetryPolicy) -> Self {
        Self { http, retry }
    }

    /// Mints a token for `scope` (e.g. `https://graph.microsoft.com/.default`) in `tenant`.
    pub async fn token(
        &self,
        login_base: &str,
        tenant: TenantId,
        scope: &str,
        app: &AppCredentials,
        grant: Grant<'_>,
    ) -> Result<IssuedToken, IdentityError> {
        let url = format!("{login_base}/{tenant}/oauth2/v2.0/token");
        let attempts = Attempts::of(IDENTITY);
        self.retry
            .run("token request", || {
                attempts.one();
                self.request_once(&url, tenant, scope, app, grant)
            })
            .await
    }

    async fn request_once(
        &self,
        url: &str,
        tenant: TenantId,
        scope: &str,
        app: &AppCredentials,
        grant: Grant<'_>,
    ) -> Result<IssuedToken, IdentityError> {
        let now = Utc::now();
        // The form holds secrets: it lives only in this function and in the request body.
        let mut form: Vec<(&str, SecretString)> = vec![
            ("client_id", SecretString::from(app.client_id.clone())),
            ("scope", SecretString::from(scope.to_owned())),
        ];
        match grant {
            Grant::ClientCredentials => form.push(("grant_type", SecretString::from("client_credentials"))),
            Grant::RefreshToken(token) => {
                form.push(("grant_type", SecretString::from("refresh_token")));
                form.push(("refresh_token", token.clone()));
            }
        }
        match &app.credential {
            AppCredential::ClientSecret(secret) => form.push(("client_secret", secret.clone())),
            AppCredential::Certificate { certificate_pem, key } => {
                let signed = assertion::sign(&app.client_id, url, key.as_ref(), certificate_pem, now).await?;
                form.push((
                    "client_assertion_type",
                    SecretString::from("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ));
                form.push(("client_assertion", signed));
            }
        }
        let exposed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.expose_secret())).collect();
        let tenant_name = tenant.to_string();
        let transport = |reason: String, transient: bool| IdentityError::Transport {
            tenant: tenant_name.clone(),
            reason,
            transient,
        };
        let ids = RequestIds::fresh();
        crate::meter::request(IDENTITY);
        let response = self
            .http
            .post(url)
            .header(CLIENT_REQUEST_ID, &ids.client)
            .form(&exposed)
            .send()
            .await
            // reqwest's message names the URL and cause, never the body.
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        let status = response.status();
        crate::meter::answered(IDENTITY, status.as_u16());
        let retry_after = crate::http::retry_after(response.headers());
        let body = crate::http::read_body(response, crate::http::MAX_BODY_BYTES)
            .await
            .map_err(|reason| transport(reason, true))?;
        if status.is_success() {
            let parsed: TokenResponse = serde_json::from_slice(&body)
                .map_err(|_| transport("the token response is not the documented JSON".to_owned(), false))?;
            return Ok(IssuedToken {
                access: AccessToken::new(parsed.access_token, expiry(now, &parsed.expires_in)),
                refresh_token: parsed.refresh_token,
            });
        }
        let Ok(error) = serde_json::from_slice::<ErrorResponse>(&body) else {
            let transient = status.is_server_error() || status.as_u16() == 429;
            return Err(transport(
                format!("HTTP {status} without an Entra error body"),
                transient,
            ));
        };
        let code = error
            .error_codes
            .first()
            .copied()
            .or_else(|| aadsts_in(&error.error_description));
        let delegated = matches!(grant, Grant::RefreshToken(_));
        // A known code decides; an unknown one on a server error is passing, else it needs a human.
        let verdict = match code.and_then(|code| verdict_for_code(code, delegated)) {
            _ if status.as_u16() == 429 => {
                Verdict::Throttled(retry_after.or(Some(StdDuration::from_secs(60))))
            }
            Some(verdict) => verdict,
            None if status.is_server_error() => Verdict::Transient,
            None => Verdict::Permanent,
        };
        Err(IdentityError::Rejected {
            tenant: tenant_name,
            status: status.as_u16(),
            error: error.error,
            code,
            description: model::validation::bounded_text(
                error.error_description.lines().next().unwrap_or_default().trim(),
                model::validation::MAX_REMOTE_TEXT,
            ),
            verdict,
            ids: Box::new(RequestIds {
                server: (!error.trace_id.is_empty())
                    .then(|| model::validation::bounded_text(&error.trace_id, 64)),
                ..ids
            }),
        })
    }
}

/// When a token answered at `now` with `expires_in` expires: the lifetime is clamped to a day
/// (Entra issues an hour or so), so an absurd or negative value can neither overflow nor make a
/// token look valid for ever.
fn expiry(now: DateTime<Utc>, expires_in: &Seconds) -> DateTime<Utc> {
    let seconds = match expires_in {
        Seconds::Number(n) => *n,
        Seconds::Text(text) => text.trim().parse().unwrap_or(0),
    };
    now + Duration::seconds(seconds.clamp(0, 86_400))
}

/// The AADSTS code at the start of a description (`AADSTS65001: ...`).
fn aadsts_in(description: &str) -> Option<u32> {
    let digits: String = description
        .strip_prefix("AADSTS")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_expires_in_neither_panics_nor_lasts_for_ever() {
        let now = Utc::now();
        assert_eq!(expiry(now, &Seconds::Number(3599)), now + Duration::seconds(3599));
        assert_eq!(expiry(now, &Seconds::Number(i64::MAX)), now + Duration::days(1));
        assert_eq!(expiry(now, &Seconds::Number(-5)), now);
        assert_eq!(
            expiry(now, &Seconds::Text(" 3600 ".into())),
            now + Duration::hours(1)
        );
        assert_eq!(expiry(now, &Seconds::Text("soon".into())), now);
    }

    #[test]
    fn aadsts_codes_are_read_from_descriptions() {
        assert_eq!(
            aadsts_in("AADSTS7000215: Invalid client secret provided."),
            Some(7000215)
        );
        assert_eq!(aadsts_in("Something else"), None);
    }
}
