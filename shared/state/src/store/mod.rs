//! The state store: one DynamoDB table holding tenants, tasks, steps and managed resources.
//!
//! Every versioned write is conditional on the version the writer read, so a stale writer gets
//! [`StoreError::Conflict`] instead of overwriting someone else's change.

pub mod audit;
mod error;
pub mod fleet;
mod item;
pub mod key;
pub mod records;
pub mod scanning;
mod transaction;

use aws_sdk_dynamodb::{
    Client, error::ProvideErrorMetadata, operation::query::builders::QueryFluentBuilder,
    types::AttributeValue,
};
use model::{
    config::{ConfigError, Source},
    sites::Site,
    task::TaskId,
    tenant::TenantId,
};

pub use self::{
    audit::AuditRecord,
    error::StoreError,
    fleet::{MAX_PAGE, TenantCursor, TenantFilter, TenantPage},
    item::{Item, VERSION_ATTRIBUTE, decode, encode, item_key},
    key::Key,
    records::{
        Record, ResourceKind, ResourceRecord, StepRecord, TaskRecord, TaskSummary, TenantRecord, Versioned,
    },
    transaction::Transaction,
};
use self::{error::from_sdk, item::key_item};
use crate::config::StoreConfig;

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A task with its steps, in step order.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskWithSteps {
    /// The task.
    pub task: TaskRecord,
    /// Its steps, sorted by service and order.
    pub steps: Vec<StepRecord>,
}

/// Handle on the state table.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

/// The condition a write puts on the item it replaces.
enum Expect {
    /// The item must not exist yet.
    Absent,
    /// The item must be at this version.
    Version(u64),
}

impl Store {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The store of `source`'s `TABLE_NAME`, through the shared SDK configuration.
    pub fn from_source(sdk: &aws_config::SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        let config = StoreConfig::from_source(source)?;
        Ok(Self::new(Client::new(sdk), config.table_name))
    }

    /// The store of the process environment's `TABLE_NAME`.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&crate::aws::sdk_config().await, &model::config::ProcessEnv)
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client, for batch writers on the same table (the directory snapshot).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads one record by key (strongly consistent).
    pub async fn get<T: Record>(&self, key: &Key) -> Result<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| from_sdk("GetItem", &self.table, err))?;
        output.item.map(decode).transpose()
    }

    /// Writes a new versioned record (version 1); fails with `AlreadyExists` if it is there.
    pub async fn create<T: Versioned>(&self, record: &mut T) -> Result<()> {
        self.put_versioned(record, Expect::Absent).await
    }

    /// Replaces a versioned record if it is still at the version it was read at, then bumps it.
    pub async fn update<T: Versioned>(&self, record: &mut T) -> Result<()> {
        let expected = record.version();
        self.put_versioned(record, Expect::Version(expected)).await
    }

    async fn put_versioned<T: Versioned>(&self, record: &mut T, expect: Expect) -> Result<()> {
        let (key, mut item) = encode(&*record)?;
        let next = match expect {
            Expect::Absent => 1,
            Expect::Version(v) => v + 1,
        };
        item.insert(VERSION_ATTRIBUTE.to_owned(), AttributeValue::N(next.to_string()));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match expect {
            Expect::Absent => request.condition_expression("attribute_not_exists(pk)"),
            Expect::Version(v) => request
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", VERSION_ATTRIBUTE)
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        match request.send().await {
            Ok(_) => {
                record.set_version(next);
                Ok(())
            }
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Err(match expect {
                Expect::Absent => StoreError::AlreadyExists {
                    entity: T::ENTITY,
                    key: key.to_string(),
                },
                Expect::Version(expected_version) => StoreError::Conflict {
                    entity: T::ENTITY,
                    key: key.to_string(),
                    expected_version,
                },
            }),
            Err(err) => Err(from_sdk("PutItem", &self.table, err)),
        }
    }

    /// Writes an unversioned record, replacing any item at its key (idempotent by key).
    pub async fn put<T: Record>(&self, record: &T) -> Result<()> {
        let (_, item) = encode(record)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|err| from_sdk("PutItem", &self.table, err))?;
        Ok(())
    }

    /// Deletes the item at `key`; deleting a missing item succeeds.
    pub async fn delete(&self, key: &Key) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .send()
            .await
            .map_err(|err| from_sdk("DeleteItem", &self.table, err))?;
        Ok(())
    }

    /// Every item of partition `pk` whose sort key starts with `sk_prefix` (all if empty),
    /// following pages.
    pub async fn query_prefix(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>> {
        let request = self.partition_query(pk);
        // DynamoDB refuses begins_with on an empty string.
        let request = if sk_prefix.is_empty() {
            request.key_condition_expression("pk = :pk")
        } else {
            request
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
        };
        self.all_pages(request).await
    }

    /// Every item of partition `pk` whose sort key sorts at or after `sk_from`, following pages.
    pub async fn query_from(&self, pk: &str, sk_from: &str) -> Result<Vec<Item>> {
        let request = self
            .partition_query(pk)
            .key_condition_expression("pk = :pk AND sk >= :from")
            .expression_attribute_values(":from", AttributeValue::S(sk_from.to_owned()));
        self.all_pages(request).await
    }

    /// A strongly consistent query of partition `pk`, without its key condition yet.
    fn partition_query(&self, pk: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
    }

    async fn all_pages(&self, request: QueryFluentBuilder) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| from_sdk("Query", &self.table, err))?;
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// The newest `limit` (at most [`fleet::MAX_PAGE`]) tasks of the tenant's history, newest first, older than
    /// `before` (a summary a page answered) when given: one `Query` of the history partition.
    pub async fn task_history(
        &self,
        tenant_id: TenantId,
        limit: usize,
        before: Option<&TaskSummary>,
    ) -> Result<Vec<TaskSummary>> {
        let pk = key::history_partition(tenant_id);
        let mut request = self
            .partition_query(&pk)
            .key_condition_expression("pk = :pk")
            .scan_index_forward(false)
            .limit(i32::try_from(limit.clamp(1, fleet::MAX_PAGE)).unwrap_or(i32::MAX));
        if let Some(before) = before {
            request = request.set_exclusive_start_key(Some(key_item(&before.key())));
        }
        let output = request
            .send()
            .await
            .map_err(|err| from_sdk("Query", &self.table, err))?;
        output.items.unwrap_or_default().into_iter().map(decode).collect()
    }

    /// The tenant's record, if it is under management.
    pub async fn tenant(&self, tenant_id: TenantId) -> Result<Option<TenantRecord>> {
        self.get(&Key::tenant(tenant_id)).await
    }

    /// The tenants of `site` that the daily sync covers, from the sparse site index.
    ///
    /// The index is eventually consistent: a tenant activated a moment ago may be missing.
    pub async fn active_tenants(&self, site: Site) -> Result<Vec<TenantRecord>> {
        let mut tenants = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(key::SITE_INDEX)
            .key_condition_expression("#site = :site")
            .expression_attribute_names("#site", key::SITE_INDEX_KEY)
            .expression_attribute_values(":site", AttributeValue::S(site.code().to_owned()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| from_sdk("Query", &self.table, err))?;
            for item in page.items.unwrap_or_default() {
                tenants.push(decode(item)?);
            }
        }
        Ok(tenants)
    }

    /// Every resource recorded for the tenant.
    pub async fn resources(&self, tenant_id: TenantId) -> Result<Vec<ResourceRecord>> {
        let items = self
            .query_prefix(&key::tenant_partition(tenant_id), key::RESOURCE_PREFIX)
            .await?;
        items.into_iter().map(decode).collect()
    }

    /// The tenant's quarantine summary (written by the scanning side), if any.
    pub async fn quarantine(&self, tenant_id: TenantId) -> Result<Option<scanning::QuarantineSummary>> {
        self.get(&Key {
            pk: key::tenant_partition(tenant_id),
            sk: scanning::QUARANTINE.to_owned(),
        })
        .await
    }

    /// The tenant's report schedules (written by the scanning side).
    pub async fn report_schedules(&self, tenant_id: TenantId) -> Result<Vec<scanning::ReportSchedule>> {
        let items = self
            .query_prefix(&key::tenant_partition(tenant_id), scanning::REPORT_PREFIX)
            .await?;
        items.into_iter().map(decode).collect()
    }

    /// The task and its steps, read with one query.
    pub async fn task_with_steps(&self, task_id: TaskId) -> Result<Option<TaskWithSteps>> {
        let items = self
            .query_prefix(&key::task_partition(&task_id.to_string()), "")
            .await?;
        let mut task = None;
        let mut steps = Vec::new();
        for item in items {
            let is_step = item
                .get(key::SORT_KEY)
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with(key::STEP_PREFIX));
            if is_step {
                steps.push(decode::<StepRecord>(item)?);
            } else {
                task = Some(decode::<TaskRecord>(item)?);
            }
        }
        Ok(task.map(|task| TaskWithSteps { task, steps }))
    }

    /// Starts an all-or-nothing group of writes.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction::new(&self.client, &self.table)
    }
}
