//! Which tenant a domain names. Entra's OpenID discovery document
//! (`{login}/{domain}/v2.0/.well-known/openid-configuration`, "OpenID Connect on the Microsoft
//! identity platform") answers any of a tenant's domains with the tenant's own endpoints, whose
//! `token_endpoint` holds its GUID; a domain no tenant has is AADSTS90002 (`invalid_tenant`).

use model::{
    policy::DomainName,
    retry::{RetryHint, Retryable},
    tenant::TenantId,
    validation::Validated,
};
use serde::Deserialize;

use super::IdentityClient;
use crate::meter::{Attempts, IDENTITY};

/// A domain's tenant could not be found. Messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// No tenant of this cloud has the domain.
    #[error(
        "no Microsoft 365 tenant of this cloud has the domain {domain} (Entra ID: AADSTS90002): check the domain and the cloud, or give the tenant's id"
    )]
    UnknownDomain {
        /// The domain asked for.
        domain: String,
    },
    /// The discovery document could not be read, or is not the documented one.
    #[error("Entra ID's discovery document for {domain} could not be read: {reason}")]
    Transport {
        /// The domain asked for.
        domain: String,
        /// What went wrong.
        reason: String,
        /// Whether retrying may help.
        transient: bool,
    },
}

impl Retryable for DiscoveryError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Transport { transient: true, .. } => RetryHint::Backoff,
            _ => RetryHint::Never,
        }
    }
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: String,
}

#[derive(Deserialize)]
struct DiscoveryRefusal {
    #[serde(default)]
    error: String,
}

impl IdentityClient {
    /// The tenant that has `domain`, on the cloud whose login host is `login`.
    pub async fn tenant_of(&self, login: &str, domain: &DomainName) -> Result<TenantId, DiscoveryError> {
        let url = format!(
            "{login}/{}/v2.0/.well-known/openid-configuration",
            domain.as_str()
        );
        let attempts = Attempts::of(IDENTITY);
        self.retry
            .run("tenant discovery", || {
                attempts.one();
                self.discover_once(&url, login, domain)
            })
            .await
    }

    async fn discover_once(
        &self,
        url: &str,
        login: &str,
        domain: &DomainName,
    ) -> Result<TenantId, DiscoveryError> {
        let transport = |reason: String, transient: bool| DiscoveryError::Transport {
            domain: domain.as_str().to_owned(),
            reason,
            transient,
        };
        crate::meter::request(IDENTITY);
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|err| transport(err.without_url().to_string(), true))?;
        let status = response.status();
        crate::meter::answered(IDENTITY, status.as_u16());
        let body = crate::http::read_body(response, crate::http::MAX_DISCOVERY_BYTES)
            .await
            .map_err(|reason| transport(reason, true))?;
        if !status.is_success() {
            let refusal = serde_json::from_slice::<DiscoveryRefusal>(&body).map(|r| r.error);
            return Err(match refusal.as_deref() {
                Ok("invalid_tenant") => DiscoveryError::UnknownDomain {
                    domain: domain.as_str().to_owned(),
                },
                _ => transport(
                    format!("HTTP {status}"),
                    status.is_server_error() || status.as_u16() == 429,
                ),
            });
        }
        let document: Discovery = serde_json::from_slice(&body)
            .map_err(|_| transport("it is not the documented JSON".to_owned(), false))?;
        tenant_in(login, &document.token_endpoint)
            .ok_or_else(|| transport(format!("its token_endpoint names no tenant of {login}"), false))
    }
}

/// The tenant GUID of a token endpoint `{login}/{GUID}/oauth2/v2.0/token` on `login` itself.
fn tenant_in(login: &str, token_endpoint: &str) -> Option<TenantId> {
    let path = token_endpoint.strip_prefix(login)?.strip_prefix('/')?;
    let tenant = path.strip_suffix("/oauth2/v2.0/token")?;
    TenantId::validate(tenant).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_guid_in_a_token_endpoint_of_the_login_host_is_taken() {
        let login = "https://login.microsoftonline.com";
        let guid = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
        let endpoint = format!("{login}/{guid}/oauth2/v2.0/token");
        assert_eq!(
            tenant_in(login, &endpoint).map(|t| t.to_string()).as_deref(),
            Some(guid)
        );
        for other in [
            format!("https://login.attacker.example/{guid}/oauth2/v2.0/token"),
            format!("{login}/contoso.com/oauth2/v2.0/token"),
            format!("{login}/{guid}/oauth2/v2.0/authorize"),
            format!("{login}/common/oauth2/v2.0/token"),
        ] {
            assert_eq!(tenant_in(login, &other), None, "{other}");
        }
    }
}
