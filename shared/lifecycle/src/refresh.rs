//! The hourly token refresh: every active tenant's tokens that would expire before the next run
//! (plus a margin) are minted again through the one token path, each tenant's secret written at
//! most once; a tenant whose grant is gone moves to `needs_reconsent`.

use chrono::{Duration, Utc};
use futures_util::{StreamExt, stream};
use microsoft::{endpoints::EndpointOverrides, identity::IdentityClient};
use model::{
    config::{ConfigError, ProcessEnv, Source},
    event::EventError,
    retry::RetryPolicy,
    sites::Site,
    tenant::TenantId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use state::{
    bus::EventBus,
    store::{Key, Record, Store, StoreError, TenantRecord},
    vault::Vault,
};

use tracing::Instrument;

use crate::{
    span,
    tokens::{Refreshed, TokenBroker, TokenError},
};

/// The refresh run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The event is malformed; nothing was changed.
    #[error(transparent)]
    Input(#[from] EventError),
    /// The state store failed; the run can be retried.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RefreshError {
    /// A stable name for the error's kind (the Lambda error type).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Input(_) => "InvalidInput",
            Self::Store(_) => "Retryable",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshReport {
    /// Whether every token was re-minted regardless of its life.
    pub force: bool,
    /// Tenants looked at.
    pub tenants: usize,
    /// Tenants with at least one token minted.
    pub refreshed: usize,
    /// Tenants whose tokens all outlive the next run.
    pub skipped_fresh: usize,
    /// Tenants that failed for now; the next run tries again.
    pub failed: Vec<Failure>,
    /// Tenants whose admin must consent again.
    pub needs_reconsent: Vec<Reconsent>,
    /// Token requests made.
    pub token_requests: usize,
    /// Secret writes made.
    pub secret_writes: usize,
    /// Lost races with another writer (resolved by re-reading).
    pub races: usize,
}

/// A tenant that failed for now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Why.
    pub error: String,
}

/// A tenant whose grant is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconsent {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Entra's code, e.g. 65001 (no consent) or 50173 (grant revoked).
    pub aadsts: Option<u32>,
    /// What the admin must do.
    pub reason: String,
}

/// The last run's report, kept (the scheduler invokes the refresh asynchronously and drops
/// what it answers): one item, replaced by each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRefresh {
    /// When the run finished.
    pub finished_at: chrono::DateTime<Utc>,
    /// What it did.
    pub report: RefreshReport,
}

impl LastRefresh {
    /// Its key.
    pub fn key_of() -> Key {
        Key {
            pk: "REFRESH".to_owned(),
            sk: "LAST".to_owned(),
        }
    }
}

impl Record for LastRefresh {
    const ENTITY: &'static str = "last_refresh";

    fn key(&self) -> Key {
        Self::key_of()
    }
}

/// Runs the refresh.
pub struct Refresher {
    /// The state store.
    pub store: Store,
    /// The one token path.
    pub tokens: TokenBroker,
    /// Tenants refreshed at once.
    pub concurrency: usize,
    /// Time until the next run.
    pub period: Duration,
    /// Extra life a token must have beyond the next run.
    pub margin: Duration,
    /// Where a tenant found without its grant is announced.
    pub bus: EventBus,
}

/// Reads `force` from the event; anything else the scheduler sends is ignored.
pub fn force_from(event: &Value) -> Result<bool, EventError> {
    match event.get("force") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(force)) => Ok(*force),
        Some(other) => Err(EventError::Invalid {
            field: "force".to_owned(),
            reason: format!("expected true or false, got {other}"),
        }),
    }
}

impl Refresher {
    /// Refreshes every active tenant's due tokens; see the module docs.
    pub async fn run(&self, event: &Value) -> Result<RefreshReport, RefreshError> {
        let force = force_from(event)?;
        let mut tenants = Vec::new();
        for site in Site::all() {
            tenants.extend(self.store.active_tenants(site).await?);
        }
        let horizon = Utc::now() + self.period + self.margin;
        let mut report = RefreshReport {
            force,
            tenants: tenants.len(),
            ..RefreshReport::default()
        };
        let mut results = stream::iter(tenants)
            .map(|tenant| async move {
                let result = self
                    .tokens
                    .refresh(&tenant, horizon, force)
                    .instrument(span::tenant(tenant.tenant_id))
                    .await;
                (tenant, result)
            })
            .buffer_unordered(self.concurrency.max(1));
        while let Some((tenant, result)) = results.next().await {
            let span = span::tenant(tenant.tenant_id);
            self.count(&mut report, &tenant, result).instrument(span).await?;
        }
        tracing::info!(
            tenants = report.tenants,
            refreshed = report.refreshed,
            skipped_fresh = report.skipped_fresh,
            failed = report.failed.len(),
            needs_reconsent = report.needs_reconsent.len(),
            token_requests = report.token_requests,
            secret_writes = report.secret_writes,
            "token refresh finished"
        );
        let last = LastRefresh {
            finished_at: Utc::now(),
            report,
        };
        self.store.put(&last).await?;
        Ok(last.report)
    }

    /// Counts one tenant's refresh in `report`; a grant Entra refused moves it to
    /// `needs_reconsent`.
    async fn count(
        &self,
        report: &mut RefreshReport,
        tenant: &TenantRecord,
        result: Result<Refreshed, TokenError>,
    ) -> Result<(), RefreshError> {
        match result {
            Ok(refreshed) => {
                crate::meter::tokens_minted(tenant.site, refreshed.minted.len());
                report.token_requests += refreshed.minted.len();
                report.secret_writes += usize::from(refreshed.written);
                report.races += refreshed.races;
                if refreshed.minted.is_empty() {
                    report.skipped_fresh += 1;
                } else {
                    report.refreshed += 1;
                }
            }
            Err(err) if err.needs_reconsent() => {
                let aadsts = match &err {
                    TokenError::Identity(identity) => identity.aadsts(),
                    TokenError::Vault(_) | TokenError::GrantRevoked { .. } | TokenError::NotIssued { .. } => {
                        None
                    }
                };
                let reason = format!(
                    "Entra refused the tenant's grant ({err}); the tenant's admin must grant admin consent to the app again"
                );
                crate::reconsent::mark(&self.store, Some(&self.bus), tenant.tenant_id, &reason).await?;
                report.needs_reconsent.push(Reconsent {
                    tenant_id: tenant.tenant_id,
                    aadsts,
                    reason,
                });
            }
            Err(err) => {
                crate::meter::refresh_failed(tenant.site);
                tracing::warn!(error = %err, "token refresh failed; the next run tries again");
                report.failed.push(Failure {
                    tenant_id: tenant.tenant_id,
                    error: err.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Builds every dependency from `source` (README: Configuration).
    pub fn from_source(sdk: &aws_config::SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        let retry = RetryPolicy::from_source(source)?;
        let overrides = EndpointOverrides::from_source(source)?;
        let identity = IdentityClient::new(overrides.client(), retry);
        let tokens = TokenBroker::new(Vault::from_source(sdk, source)?, identity, overrides);
        Ok(Self {
            store: Store::from_source(sdk, source)?,
            tokens: tokens.with_write_limit(SECRET_WRITES_PER_SECOND),
            concurrency: CONCURRENCY,
            period: Duration::hours(1),
            margin: Duration::minutes(15),
            bus: EventBus::from_source(sdk, source)?,
        })
    }

    /// Builds every dependency from the process environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = state::aws::sdk_config().await;
        Self::from_source(&sdk, &state::parameters::resolve(&sdk, &ProcessEnv).await?)
    }
}

/// Secret writes per second: below the regional quota of 50, leaving room for other writers.
pub const SECRET_WRITES_PER_SECOND: u32 = 40;
/// Tenants refreshed at once: enough to keep the write limit busy at ~100 ms per token request.
pub const CONCURRENCY: usize = 16;
