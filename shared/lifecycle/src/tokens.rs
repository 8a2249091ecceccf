//! The one way every function gets a tenant's token: read the tenant's secret, use a token that
//! still has enough life, otherwise mint a new one, store it, and use it. Tokens read or minted
//! are kept for the life of the process (a warm Lambda), so steps do not re-read the secret.
//!
//! Where a delegated grant is used the refresh token rotates on every use; writes are then
//! conditional on the secret version read, and a writer that lost the race re-reads and goes on
//! from the winner's (newest) refresh token.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use chrono::{DateTime, Duration, Utc};
use microsoft::{
    endpoints::EndpointOverrides,
    identity::{AppCredentials, Grant, IdentityClient, IdentityError, Resource, Verdict},
};
use model::{cloud::Cloud, tenant::TenantId};
use secrecy::SecretString;
use state::{
    store::TenantRecord,
    vault::{TenantTokens, Vault, VaultError},
};

/// The least life a token handed out must have left: enough for one invocation.
pub const MIN_LIFE: Duration = Duration::minutes(10);

/// How often a lost race is retried before giving up for this run.
const RACE_RETRIES: usize = 3;
/// The most tenants whose tokens one process keeps in memory.
pub const MAX_CACHED_TENANTS: usize = 2_000;

/// Getting a token failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The vault could not be read or written.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Entra refused or failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Entra issued an app-only token without the app's permissions: they were revoked while
    /// the app stayed in the tenant (Entra then refuses nothing, and every call fails).
    #[error(
        "Entra ID issued a {resource:?} token for tenant {tenant} without {missing}: the app's permissions were revoked; the tenant's admin must grant admin consent again (the tenant is marked needs_reconsent)"
    )]
    GrantRevoked {
        /// The tenant.
        tenant: TenantId,
        /// The resource of the token.
        resource: Resource,
        /// What the token lacks.
        missing: String,
    },
    /// Minting left no token for the resource (a racing writer stored tokens without it); the
    /// next attempt mints one. An empty token is never handed out.
    #[error("no {resource:?} token for tenant {tenant} after minting; trying again")]
    NotIssued {
        /// The tenant.
        tenant: TenantId,
        /// The resource.
        resource: Resource,
    },
}

impl TokenError {
    /// Whether the tenant's admin must consent again.
    pub fn needs_reconsent(&self) -> bool {
        match self {
            Self::Identity(err) => err.verdict() == Verdict::NeedsReconsent,
            Self::GrantRevoked { .. } => true,
            Self::Vault(_) | Self::NotIssued { .. } => false,
        }
    }
}

/// Why an app-only token cannot work, read from its `roles` claim: none at all, or not the one
/// its resource needs. A token that is no readable JWT is given the benefit of the doubt.
fn revoked_grant(resource: Resource, token: &microsoft::identity::AccessToken) -> Option<String> {
    let roles = token.granted_roles()?;
    if roles.is_empty() {
        return Some("any application permission (no roles claim)".to_owned());
    }
    resource
        .required_role()
        .filter(|role| !roles.iter().any(|r| r.eq_ignore_ascii_case(role)))
        .map(|role| format!("the {role} permission"))
}

/// What one tenant's refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// The resources whose tokens were minted (one token request each).
    pub minted: Vec<Resource>,
    /// Whether the secret was written (at most once).
    pub written: bool,
    /// Lost races (another writer stored newer tokens meanwhile).
    pub races: usize,
}

/// A token minted this recently is not minted again by a refresh: the new one would last no
/// longer (Entra's lifetimes vary), so a duplicate delivery of the hourly event costs nothing.
const REMINT_AFTER: Duration = Duration::minutes(10);

/// A tenant's tokens and the secret version they came from (`None`: no secret yet).
#[derive(Debug, Clone, Default)]
struct Held {
    tokens: TenantTokens,
    version: Option<String>,
}

/// Hands out tenants' tokens; see the module docs.
pub struct TokenBroker {
    vault: Vault,
    identity: IdentityClient,
    endpoints: EndpointOverrides,
    /// The app's credentials of each cloud, read once per process.
    apps: Mutex<HashMap<Cloud, AppCredentials>>,
    cache: Mutex<HashMap<TenantId, Held>>,
    /// Tokens invalidated before this process held the tenant: the secret's copy is not used.
    discarded: Mutex<HashSet<(TenantId, Resource)>>,
    writes: Option<model::rate::RateLimiter>,
}

impl TokenBroker {
    /// A broker over the vault and the token endpoint.
    pub fn new(vault: Vault, identity: IdentityClient, endpoints: EndpointOverrides) -> Self {
        Self {
            vault,
            identity,
            endpoints,
            apps: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            discarded: Mutex::new(HashSet::new()),
            writes: None,
        }
    }

    /// The same broker, writing secrets at most `per_second` times a second (Secrets Manager
    /// allows 50 writes a second per region, shared by everything in the account).
    pub fn with_write_limit(mut self, per_second: u32) -> Self {
        self.writes = Some(model::rate::RateLimiter::per_second(per_second));
        self
    }

    /// The vault behind the broker.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The credentials of `cloud`'s app registration, read once per process; a cloud without
    /// its own is an error, never another cloud's credential.
    pub async fn app(&self, cloud: Cloud) -> Result<AppCredentials, TokenError> {
        let known = self
            .apps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cloud)
            .cloned();
        if let Some(app) = known {
            return Ok(app);
        }
        let app = self.vault.app_credentials(cloud).await?;
        self.apps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cloud, app.clone());
        Ok(app)
    }

    fn cached(&self, tenant: TenantId) -> Option<Held> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .cloned()
    }

    fn remember(&self, tenant: TenantId, held: Held) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // A warm sync worker meets thousands of tenants: past the bound, tokens that can no
        // longer be handed out are dropped (they would be minted again anyway).
        if cache.len() >= MAX_CACHED_TENANTS {
            let now = Utc::now();
            cache.retain(|_, held| {
                Resource::ALL
                    .iter()
                    .any(|r| held.tokens.access(*r).is_some_and(|t| t.lasts(now, MIN_LIFE)))
            });
            if cache.len() >= MAX_CACHED_TENANTS {
                cache.clear();
            }
        }
        cache.insert(tenant, held);
    }

    /// How many tenants' tokens this process holds.
    pub fn cached_tenants(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Drops the kept token for `resource` so the next request mints one (after a role
    /// assignment, whose claim only new tokens carry, or after Microsoft refused it).
    pub fn invalidate(&self, tenant: TenantId, resource: Resource) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get_mut(&tenant) {
            Some(held) => held.tokens.discard(resource),
            // Not held yet (a new process): the secret may still hold the very token refused.
            None => {
                self.discarded
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((tenant, resource));
            }
        }
    }

    async fn read(&self, tenant: TenantId) -> Result<Held, TokenError> {
        let mut held = self
            .vault
            .read_tokens(tenant)
            .await?
            .map(|stored| Held {
                tokens: stored.tokens,
                version: Some(stored.version_id),
            })
            .unwrap_or_default();
        let mut discarded = self.discarded.lock().unwrap_or_else(|p| p.into_inner());
        for resource in Resource::ALL {
            if discarded.remove(&(tenant, resource)) {
                held.tokens.discard(resource);
            }
        }
        Ok(held)
    }

    /// A token for `resource` in `tenant` with at least [`MIN_LIFE`] left.
    pub async fn access(
        &self,
        tenant: &TenantRecord,
        resource: Resource,
    ) -> Result<SecretString, TokenError> {
        let usable = |held: &Held| {
            held.tokens
                .access(resource)
                .filter(|t| t.lasts(Utc::now(), MIN_LIFE))
                .map(|t| t.token.clone())
        };
        let cached = self.cached(tenant.tenant_id);
        if let Some(token) = cached.as_ref().and_then(usable) {
            return Ok(token);
        }
        // A cached copy whose entry was invalidated is minted from without re-reading the secret.
        let held = match cached {
            Some(held) if held.tokens.access(resource).is_none() => held,
            _ => self.read(tenant.tenant_id).await?,
        };
        if let Some(token) = usable(&held) {
            self.remember(tenant.tenant_id, held);
            return Ok(token);
        }
        let stale = |tokens: &TenantTokens| {
            !tokens
                .access(resource)
                .is_some_and(|t| t.lasts(Utc::now(), MIN_LIFE))
        };
        let held = self
            .renew(tenant, held, |tokens| stale(tokens).then(|| vec![resource]))
            .await?
            .0;
        // Freshly minted (or newer from a racing writer): used whatever its life.
        let token = held.tokens.access(resource).map(|t| t.token.clone());
        self.remember(tenant.tenant_id, held);
        token.ok_or(TokenError::NotIssued {
            tenant: tenant.tenant_id,
            resource,
        })
    }

    /// Refreshes the tenant's tokens that expire before `horizon` (all with `force`) and writes
    /// its secret at most once.
    pub async fn refresh(
        &self,
        tenant: &TenantRecord,
        horizon: DateTime<Utc>,
        force: bool,
    ) -> Result<Refreshed, TokenError> {
        let due = |tokens: &TenantTokens| -> Option<Vec<Resource>> {
            let due: Vec<Resource> = Resource::ALL
                .into_iter()
                .filter(|r| {
                    force
                        || tokens.access(*r).is_none_or(|t| {
                            t.expires_at < horizon && !t.minted_within(Utc::now(), REMINT_AFTER)
                        })
                })
                .collect();
            (!due.is_empty()).then_some(due)
        };
        let held = self.read(tenant.tenant_id).await?;
        let Some(first) = due(&held.tokens) else {
            return Ok(Refreshed::default());
        };
        // After a lost race the winner's tokens count: only what is still due is minted again.
        let mut asked = Some(first);
        let (held, refreshed) = self
            .renew(tenant, held, |tokens| {
                asked.take().or_else(|| due(tokens).filter(|_| !force))
            })
            .await?;
        self.remember(tenant.tenant_id, held);
        Ok(refreshed)
    }

    /// Mints what `due` asks for, writes once, and on a lost race re-reads and asks again.
    async fn renew(
        &self,
        tenant: &TenantRecord,
        mut held: Held,
        mut due: impl FnMut(&TenantTokens) -> Option<Vec<Resource>>,
    ) -> Result<(Held, Refreshed), TokenError> {
        let mut refreshed = Refreshed::default();
        for _ in 0..=RACE_RETRIES {
            let Some(resources) = due(&held.tokens) else {
                return Ok((held, refreshed));
            };
            let mut tokens = held.tokens.clone();
            match self.mint(tenant, &mut tokens, &resources).await {
                Ok(minted) => refreshed.minted.extend(minted),
                // A rotated-out refresh token: another writer redeemed it and is about to store
                // the newer one. Look again for a moment before calling the grant dead.
                Err(TokenError::Identity(err))
                    if held.tokens.refresh_token.is_some() && err.is_grant_refusal() =>
                {
                    match self.newer_than(tenant.tenant_id, held.version.as_deref()).await? {
                        Some(newer) => {
                            refreshed.races += 1;
                            held = newer;
                            continue;
                        }
                        None => return Err(TokenError::Identity(err)),
                    }
                }
                Err(err) => return Err(err),
            }
            if let Some(limiter) = &self.writes {
                limiter.acquire().await;
            }
            match self
                .vault
                .write_tokens(tenant.tenant_id, tenant.site, &tokens, held.version.as_deref())
                .await
            {
                Ok(version) => {
                    refreshed.written = true;
                    return Ok((
                        Held {
                            tokens,
                            version: Some(version),
                        },
                        refreshed,
                    ));
                }
                Err(VaultError::Conflict { .. }) => {
                    refreshed.races += 1;
                    held = self.read(tenant.tenant_id).await?;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(TokenError::Vault(VaultError::Conflict {
            secret: self.vault.tenant_secret_name(tenant.tenant_id),
        }))
    }

    /// The tenant's secret if a version other than `version` appears within a couple of seconds.
    async fn newer_than(&self, tenant: TenantId, version: Option<&str>) -> Result<Option<Held>, TokenError> {
        for _ in 0..10 {
            let current = self.read(tenant).await?;
            if current.version.as_deref() != version {
                return Ok(Some(current));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(None)
    }

    /// An app-only token for `resource` in `tenant`, minted and never stored: what Verify checks
    /// before the tenant has a secret, or without touching the one it has.
    pub async fn probe(
        &self,
        tenant: TenantId,
        cloud: Cloud,
        resource: Resource,
    ) -> Result<microsoft::identity::AccessToken, TokenError> {
        let app = self.app(cloud).await?;
        let (graph_scope, exchange_scope) = cloud.scopes();
        let scope = match resource {
            Resource::Graph => graph_scope,
            Resource::Exchange => exchange_scope,
        };
        let issued = self
            .identity
            .token(
                &self.endpoints.apply(cloud).login,
                tenant,
                &scope,
                &app,
                Grant::ClientCredentials,
            )
            .await?;
        Ok(issued.access)
    }

    /// Mints a token for each of `resources` into `tokens`, rotating the refresh token where a
    /// delegated grant is used. Does not write the vault: the caller writes once.
    pub async fn mint(
        &self,
        tenant: &TenantRecord,
        tokens: &mut TenantTokens,
        resources: &[Resource],
    ) -> Result<Vec<Resource>, TokenError> {
        let app = self.app(tenant.cloud).await?;
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
                .token(&endpoints.login, tenant.tenant_id, scope, &app, grant)
                .await?;
            if matches!(grant, Grant::ClientCredentials)
                && let Some(missing) = revoked_grant(*resource, &issued.access)
            {
                return Err(TokenError::GrantRevoked {
                    tenant: tenant.tenant_id,
                    resource: *resource,
                    missing,
                });
            }
            tokens.set_access(*resource, issued.access);
            if issued.refresh_token.is_some() {
                tokens.refresh_token = issued.refresh_token;
            }
        }
        Ok(resources.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use microsoft::identity::AccessToken;
    use secrecy::SecretString;

    use super::*;

    fn token(claims: &serde_json::Value) -> AccessToken {
        let part =
            |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = format!(
            "{}.{}.sig",
            part(&serde_json::json!({"alg": "RS256", "typ": "JWT"})),
            part(claims)
        );
        AccessToken::new(SecretString::from(jwt), Utc::now())
    }

    fn held(expires: chrono::DateTime<Utc>) -> Held {
        let token = AccessToken::new(SecretString::from("t"), expires);
        Held {
            tokens: TenantTokens {
                graph: Some(token.clone()),
                exchange: Some(token),
                refresh_token: None,
            },
            version: None,
        }
    }

    /// A warm process meeting more tenants than it may hold drops the expired ones first, and
    /// never holds more than the bound.
    #[test]
    fn the_token_cache_is_bounded_and_drops_expired_tokens_first() {
        let config = state::config::VaultConfig {
            secret_prefix: "p".to_owned(),
            app_secret_id: "a".to_owned(),
            national_app_secret_ids: Vec::new(),
            kms_key_id: None,
            credential_kind: state::config::CredentialKind::ClientSecret,
        };
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let broker = TokenBroker::new(
            Vault::new(&sdk, &config),
            IdentityClient::new(reqwest::Client::new(), model::retry::RetryPolicy::default()),
            EndpointOverrides::default(),
        );
        let tenant = |n: u128| -> TenantId {
            uuid::Uuid::from_u128(n + 1)
                .to_string()
                .parse()
                .expect("a tenant id")
        };
        let live = Utc::now() + chrono::Duration::hours(1);
        let expired = Utc::now() - chrono::Duration::hours(1);
        broker.remember(tenant(0), held(live));
        for n in 1..MAX_CACHED_TENANTS as u128 {
            broker.remember(tenant(n), held(expired));
        }
        assert_eq!(broker.cached_tenants(), MAX_CACHED_TENANTS);
        broker.remember(tenant(5_000), held(live));
        assert_eq!(
            broker.cached_tenants(),
            2,
            "the expired ones went, the live ones stay"
        );
        assert!(broker.cached(tenant(0)).is_some());
        for n in 0..(2 * MAX_CACHED_TENANTS) as u128 {
            broker.remember(tenant(10_000 + n), held(live));
            assert!(broker.cached_tenants() <= MAX_CACHED_TENANTS);
        }
    }

    #[test]
    fn a_token_without_the_apps_permissions_is_a_revoked_grant() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/entra-app-token-without-roles.json"
        );
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        let revoked = token(&fixture["claims"]);
        for resource in Resource::ALL {
            assert!(revoked_grant(resource, &revoked).is_some(), "{resource:?}");
        }
        let mut granted = fixture["claims"].clone();
        granted["roles"] = serde_json::json!(["User.Read.All", "Exchange.ManageAsApp"]);
        assert_eq!(revoked_grant(Resource::Graph, &token(&granted)), None);
        assert_eq!(revoked_grant(Resource::Exchange, &token(&granted)), None);
        granted["roles"] = serde_json::json!(["User.Read.All"]);
        assert!(
            revoked_grant(Resource::Exchange, &token(&granted))
                .is_some_and(|m| m.contains("Exchange.ManageAsApp"))
        );
        let opaque = AccessToken::new(SecretString::from("opaque"), Utc::now());
        assert_eq!(
            revoked_grant(Resource::Graph, &opaque),
            None,
            "an unreadable token is not judged"
        );
    }
}
