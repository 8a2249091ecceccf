//! The one way every function gets a tenant's token: read the tenant's secret, use a token that
//! still has enough life, otherwise mint a new one, store it, and use it. Tokens read or minted
//! are kept for the life of the process (a warm Lambda), so steps do not re-read the secret.

use std::{collections::HashMap, sync::Mutex};

use chrono::{Duration, Utc};
use secrecy::SecretString;
use tokio::sync::OnceCell;

use crate::{
    config::EndpointOverrides,
    identity::{Grant, IdentityClient, IdentityError, Verdict},
    store::TenantRecord,
    tenant::TenantId,
    vault::{AppCredentials, Resource, TenantTokens, Vault, VaultError},
};

/// The least life a token handed out must have left: enough for one invocation.
pub const MIN_LIFE: Duration = Duration::minutes(10);

/// Getting a token failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The vault could not be read or written.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Entra refused or failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl TokenError {
    /// Whether the tenant's admin must consent again.
    pub fn needs_reconsent(&self) -> bool {
        matches!(self, Self::Identity(err) if err.verdict() == Verdict::NeedsReconsent)
    }
}

/// Hands out tenants' tokens; see the module docs.
pub struct TokenBroker {
    vault: Vault,
    identity: IdentityClient,
    endpoints: EndpointOverrides,
    app: OnceCell<AppCredentials>,
    cache: Mutex<HashMap<TenantId, TenantTokens>>,
}

impl TokenBroker {
    /// A broker over the vault and the token endpoint.
    pub fn new(vault: Vault, identity: IdentityClient, endpoints: EndpointOverrides) -> Self {
        Self {
            vault,
            identity,
            endpoints,
            app: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The vault behind the broker.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The app's credentials, read once per process.
    pub async fn app(&self) -> Result<&AppCredentials, TokenError> {
        Ok(self.app.get_or_try_init(|| self.vault.app_credentials()).await?)
    }

    fn cached(&self, tenant: TenantId) -> Option<TenantTokens> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .cloned()
    }

    fn remember(&self, tenant: TenantId, tokens: TenantTokens) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant, tokens);
    }

    /// Drops the kept token for `resource` so the next request mints one (after a role
    /// assignment, whose claim only new tokens carry).
    pub fn invalidate(&self, tenant: TenantId, resource: Resource) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tokens) = cache.get_mut(&tenant) {
            match resource {
                Resource::Graph => tokens.graph = None,
                Resource::Exchange => tokens.exchange = None,
            }
        }
    }

    /// A token for `resource` in `tenant` with at least [`MIN_LIFE`] left.
    pub async fn access(
        &self,
        tenant: &TenantRecord,
        resource: Resource,
    ) -> Result<SecretString, TokenError> {
        let now = Utc::now();
        let usable = |tokens: &TenantTokens| {
            tokens
                .access(resource)
                .filter(|t| t.lasts(now, MIN_LIFE))
                .map(|t| t.token.clone())
        };
        if let Some(token) = self.cached(tenant.tenant_id).as_ref().and_then(usable) {
            return Ok(token);
        }
        let mut tokens = match self.cached(tenant.tenant_id) {
            // A cached copy whose entry was invalidated: mint without re-reading.
            Some(cached) if cached.access(resource).is_none() => cached,
            _ => self
                .vault
                .read_tokens(tenant.tenant_id)
                .await?
                .map(|s| s.tokens)
                .unwrap_or_default(),
        };
        if let Some(token) = usable(&tokens) {
            self.remember(tenant.tenant_id, tokens);
            return Ok(token);
        }
        self.mint(tenant, &mut tokens, &[resource]).await?;
        self.vault
            .write_tokens(tenant.tenant_id, tenant.site, &tokens)
            .await?;
        // Freshly minted: used whatever its life, mint() has just set it.
        let token = tokens.access(resource).map(|t| t.token.clone());
        self.remember(tenant.tenant_id, tokens);
        Ok(token.unwrap_or_else(|| SecretString::from(String::new())))
    }

    /// Mints a token for each of `resources` into `tokens`, rotating the refresh token where a
    /// delegated grant is used. Does not write the vault: the caller writes once.
    pub async fn mint(
        &self,
        tenant: &TenantRecord,
        tokens: &mut TenantTokens,
        resources: &[Resource],
    ) -> Result<(), TokenError> {
        let app = self.app().await?;
        let endpoints = self.endpoints.apply(tenant.cloud);
        let (graph_scope, exchange_scope) = tenant.cloud.scopes();
        for resource in resources {
            let scope = match resource {
                Resource::Graph => &graph_scope,
                Resource::Exchange => &exchange_scope,
            };
            let refresh = tokens.refresh_token.clone();
            let grant = refresh
                .as_ref()
                .map_or(Grant::ClientCredentials, Grant::RefreshToken);
            let issued = self
                .identity
                .token(&endpoints.login, tenant.tenant_id, scope, app, grant)
                .await?;
            tokens.set_access(*resource, issued.access);
            if issued.refresh_token.is_some() {
                tokens.refresh_token = issued.refresh_token;
            }
        }
        Ok(())
    }
}
