//! A tenant's tokens as kept in its secret.

use chrono::{DateTime, Utc};
use microsoft::identity::{AccessToken, Resource};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Everything kept in a tenant's secret. `Debug` never shows a token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TenantTokens {
    /// The Graph access token.
    pub graph: Option<AccessToken>,
    /// The Exchange Online access token.
    pub exchange: Option<AccessToken>,
    /// The refresh token, where a delegated grant is used; it rotates on every use.
    pub refresh_token: Option<SecretString>,
}

impl TenantTokens {
    /// The access token for `resource`, if one is kept.
    pub fn access(&self, resource: Resource) -> Option<&AccessToken> {
        match resource {
            Resource::Graph => self.graph.as_ref(),
            Resource::Exchange => self.exchange.as_ref(),
        }
    }

    /// Forgets the access token for `resource`, so a new one is minted.
    pub fn discard(&mut self, resource: Resource) {
        match resource {
            Resource::Graph => self.graph = None,
            Resource::Exchange => self.exchange = None,
        }
    }

    /// Replaces the access token for `resource`.
    pub fn set_access(&mut self, resource: Resource, token: AccessToken) {
        match resource {
            Resource::Graph => self.graph = Some(token),
            Resource::Exchange => self.exchange = Some(token),
        }
    }
}

/// The secret's JSON document. The only place where tokens are exposed, to be written to the vault.
#[derive(Serialize)]
struct Document<'a> {
    graph: Option<Entry<'a>>,
    exchange: Option<Entry<'a>>,
    refresh_token: Option<&'a str>,
}

#[derive(Serialize)]
struct Entry<'a> {
    token: &'a str,
    expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_at: Option<DateTime<Utc>>,
}

fn entry(token: &AccessToken) -> Entry<'_> {
    Entry {
        token: token.token.expose_secret(),
        expires_at: token.expires_at,
        issued_at: token.issued_at,
    }
}

impl TenantTokens {
    /// The JSON stored in Secrets Manager.
    pub(super) fn to_secret_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&Document {
            graph: self.graph.as_ref().map(entry),
            exchange: self.exchange.as_ref().map(entry),
            refresh_token: self.refresh_token.as_ref().map(ExposeSecret::expose_secret),
        })
    }
}
