//! What a step works with: the tenant, the task it belongs to (none when it repairs drift), the
//! vendor's facts, the store, and clients for the tenant's Microsoft services.

use chrono::Utc;
use model::{
    task::TaskId,
    vendor::{ManagedNames, VendorConfig},
};
use state::store::{Key, ResourceKind, ResourceRecord, Store, TenantRecord};

use super::StepError;
use crate::{clients::Microsoft, deadline::Deadline};

/// Everything one step needs.
pub struct StepContext<'a> {
    /// The tenant.
    pub tenant: &'a TenantRecord,
    /// The task the step runs in; `None` when the daily sync runs it to repair drift.
    pub task: Option<TaskId>,
    /// The vendor's facts.
    pub vendor: &'a VendorConfig,
    /// The object names.
    pub names: &'a ManagedNames,
    /// The state store.
    pub store: &'a Store,
    /// Microsoft clients.
    pub ms: &'a Microsoft,
    /// The invocation's deadline: a step with much to do stops short of it and waits for a
    /// continuation (its next run goes on from what Microsoft then holds).
    pub deadline: Deadline,
}

impl StepContext<'_> {
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
        resource.created_by_task = self.task;
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
        self.store.delete(&self.resource_key(kind, key)).await?;
        Ok(())
    }

    /// The recorded resource of `kind` named `key`, if any.
    pub async fn recorded(&self, kind: ResourceKind, key: &str) -> Result<Option<ResourceRecord>, StepError> {
        Ok(self.store.get(&self.resource_key(kind, key)).await?)
    }

    fn resource_key(&self, kind: ResourceKind, key: &str) -> Key {
        Key::resource(self.tenant.tenant_id, kind.code(), key)
    }
}
