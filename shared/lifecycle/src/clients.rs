//! Clients for a tenant's Microsoft services, each made with a token from the one token path.

use aws_config::SdkConfig;
use microsoft::{
    endpoints::EndpointOverrides,
    exchange::InvokeCommandClient,
    graph::GraphClient,
    identity::{IdentityClient, Resource},
};
use model::{
    config::{ConfigError, Source, switch},
    retry::RetryPolicy,
};
use state::{store::TenantRecord, vault::Vault};

use crate::tokens::{TokenBroker, TokenError};

/// Makes clients for a tenant's Microsoft services.
pub struct Microsoft {
    /// The shared HTTP client.
    pub http: reqwest::Client,
    /// The one token path.
    pub tokens: TokenBroker,
    /// Base URL overrides (tests point them at m365-sim).
    pub overrides: EndpointOverrides,
    /// The retry policy of every call.
    pub retry: RetryPolicy,
    /// The escalating permissions this deployment opted in to use.
    pub privileges: Privileges,
}

/// The two permissions outside the default set (the permission manifest), each used only where
/// the deployment opts in and the tenant granted it; otherwise the work is the tenant admin's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privileges {
    /// `APP_ASSIGNS_EXCHANGE_ROLE` (template parameter `AppAssignsExchangeRole`, with
    /// `RoleManagement.ReadWrite.Directory`): the app assigns itself Exchange Administrator.
    pub assign_exchange_role: bool,
    /// `APP_REMOVES_ITSELF` (`AppRemovesItself`, with `Application.ReadWrite.All`): full
    /// deprovisioning deletes the app's service principal.
    pub remove_service_principal: bool,
}

impl Privileges {
    /// Reads the two switches (both off unless set to `true`).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            assign_exchange_role: switch(source, "APP_ASSIGNS_EXCHANGE_ROLE", false)?,
            remove_service_principal: switch(source, "APP_REMOVES_ITSELF", false)?,
        })
    }
}

impl Microsoft {
    /// Clients over `vault`'s tokens and the endpoints and retry policy of `source`
    /// (`M365_*_URL`, `M365_RETRY_*`).
    pub fn from_source(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        let vault = Vault::from_source(sdk, source)?;
        let overrides = EndpointOverrides::from_source(source)?;
        let retry = RetryPolicy::from_source(source)?;
        let http = overrides.client();
        let identity = IdentityClient::new(http.clone(), retry);
        Ok(Self {
            tokens: TokenBroker::new(vault, identity, overrides.clone()),
            http,
            overrides,
            retry,
            privileges: Privileges::from_source(source)?,
        })
    }

    /// A Graph client for the tenant.
    pub async fn graph(&self, tenant: &TenantRecord) -> Result<GraphClient, TokenError> {
        let token = self.tokens.access(tenant, Resource::Graph).await?;
        Ok(GraphClient::new(
            self.http.clone(),
            &self.overrides.apply(tenant.cloud).graph,
            token,
            self.retry,
        ))
    }

    /// An Exchange client for the tenant.
    pub async fn exchange(&self, tenant: &TenantRecord) -> Result<InvokeCommandClient, TokenError> {
        let token = self.tokens.access(tenant, Resource::Exchange).await?;
        let origin = self.overrides.apply(tenant.cloud).exchange;
        Ok(InvokeCommandClient::new(
            self.http.clone(),
            &origin,
            tenant.tenant_id,
            token,
            self.retry,
        ))
    }
}
