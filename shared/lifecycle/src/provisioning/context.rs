//! What a step works with: the tenant, the request, the vendor's facts, the store, and clients
//! for the tenant's Graph and Exchange made with the one token path.

use chrono::Utc;
use serde_json::Value;

use super::{error::StepError, request::ProvisionRequest};
use crate::tokens::{TokenBroker, TokenError};
use microsoft::endpoints::EndpointOverrides;
use microsoft::{exchange::InvokeCommandClient, graph::GraphClient, identity::Resource};
use model::{
    retry::RetryPolicy,
    task::TaskId,
    vendor::{ManagedNames, VendorConfig},
};
use state::store::{ResourceKind, ResourceRecord, Store, TenantRecord};

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
}

impl Microsoft {
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

/// Everything one step needs; `R` is the request that started the task.
pub struct StepContext<'a, R = ProvisionRequest> {
    /// The tenant.
    pub tenant: &'a TenantRecord,
    /// The task the step belongs to.
    pub task_id: TaskId,
    /// The request that started the task.
    pub request: &'a R,
    /// The vendor's facts.
    pub vendor: &'a VendorConfig,
    /// The object names.
    pub names: &'a ManagedNames,
    /// The state store.
    pub store: &'a Store,
    /// Microsoft clients.
    pub ms: &'a Microsoft,
}

impl<R> StepContext<'_, R> {
    /// Records an object we created or added (idempotent by kind and key).
    pub async fn record(
        &self,
        kind: ResourceKind,
        key: &str,
        external_id: Option<&str>,
        details: &[(&str, &str)],
    ) -> Result<(), StepError> {
        let mut resource = ResourceRecord::new(self.tenant.tenant_id, kind, key);
        resource.external_id = external_id.map(str::to_owned);
        resource.created_by_task = Some(self.task_id);
        resource.recorded_at = Utc::now();
        resource.details = details
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.store.put(&resource).await?;
        Ok(())
    }

    /// Forgets a recorded resource (it was removed from the tenant).
    pub async fn forget(&self, kind: ResourceKind, key: &str) -> Result<(), StepError> {
        self.store
            .delete(&state::store::Key::resource(
                self.tenant.tenant_id,
                kind.code(),
                key,
            ))
            .await?;
        Ok(())
    }

    /// The recorded resource of `kind` named `key`, if any.
    pub async fn recorded(&self, kind: ResourceKind, key: &str) -> Result<Option<ResourceRecord>, StepError> {
        let key = state::store::Key::resource(self.tenant.tenant_id, kind.code(), key);
        Ok(self.store.get(&key).await?)
    }
}

/// A string field of a JSON object (Graph and Exchange objects).
pub fn text<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object.get(field).and_then(Value::as_str)
}
