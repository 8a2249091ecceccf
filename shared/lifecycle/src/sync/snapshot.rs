//! The directory snapshot in the state table (`DIR#{tenant}`), written with `BatchWriteItem`
//! a few batches at once; what DynamoDB leaves unprocessed is sent again with backoff.

use std::{collections::HashMap, sync::Mutex};

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use futures_util::{StreamExt, TryStreamExt, stream};
use model::{retry::RetryPolicy, tenant::TenantId};
use state::store::{Key, Store, decode, encode};

use super::{
    error::SyncError,
    state::{DirectoryEntry, snapshot_partition},
};

/// DynamoDB's most writes per `BatchWriteItem`.
const MAX_WRITE_BATCH: usize = 25;
/// `BatchWriteItem`s in flight at once: a listing page (999 objects, 40 batches) is written in
/// the time of ten round trips, not forty.
const WRITES_AT_ONCE: usize = 4;

/// The directory snapshot in the state table, written with `BatchWriteItem`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    client: aws_sdk_dynamodb::Client,
    store: Store,
    retry: RetryPolicy,
}

impl Snapshot {
    /// A snapshot writer on the table of `store`.
    pub fn new(client: aws_sdk_dynamodb::Client, store: Store, retry: RetryPolicy) -> Self {
        Self { client, store, retry }
    }

    /// The entry at `key`, if stored.
    pub async fn entry(&self, key: &Key) -> Result<Option<DirectoryEntry>, SyncError> {
        Ok(self.store.get::<DirectoryEntry>(key).await?)
    }

    /// Every entry of the tenant's snapshot, sorted by kind and id.
    pub async fn entries(&self, tenant_id: TenantId) -> Result<Vec<DirectoryEntry>, SyncError> {
        let items = self
            .store
            .query_prefix(&snapshot_partition(tenant_id), "")
            .await?;
        let mut entries = items
            .into_iter()
            .map(decode::<DirectoryEntry>)
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort();
        Ok(entries)
    }

    /// Upserts `entries`, 25 per request; unprocessed items are re-sent with backoff.
    pub async fn put_all(&self, entries: &[DirectoryEntry]) -> Result<(), SyncError> {
        let mut requests = Vec::with_capacity(entries.len());
        for entry in entries {
            let (_, item) = encode(entry)?;
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|err| self.error(err.to_string(), false))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        self.write(requests).await
    }

    /// Deletes the entries at `keys`, 25 per request.
    pub async fn delete_all(&self, keys: &[Key]) -> Result<(), SyncError> {
        let mut requests = Vec::with_capacity(keys.len());
        for key in keys {
            let item = HashMap::from([
                ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
                ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
            ]);
            let delete = DeleteRequest::builder()
                .set_key(Some(item))
                .build()
                .map_err(|err| self.error(err.to_string(), false))?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        self.write(requests).await
    }

    fn error(&self, message: String, unprocessed: bool) -> SyncError {
        SyncError::Snapshot {
            table: self.store.table().to_owned(),
            message,
            unprocessed,
        }
    }

    async fn write(&self, requests: Vec<WriteRequest>) -> Result<(), SyncError> {
        let chunks: Vec<Vec<WriteRequest>> = requests.chunks(MAX_WRITE_BATCH).map(<[_]>::to_vec).collect();
        stream::iter(chunks)
            .map(|chunk| async move { self.write_batch(chunk).await })
            .buffer_unordered(WRITES_AT_ONCE)
            .try_collect::<()>()
            .await
    }

    /// One `BatchWriteItem`, re-sending what DynamoDB left unprocessed.
    async fn write_batch(&self, chunk: Vec<WriteRequest>) -> Result<(), SyncError> {
        let pending = Mutex::new(chunk);
        let attempt = || async {
            let batch = pending.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let output = self
                .client
                .batch_write_item()
                .request_items(self.store.table(), batch)
                .send()
                .await
                .map_err(|err| self.error(state::aws::describe(&err), false))?;
            let left = output
                .unprocessed_items
                .and_then(|mut by_table| by_table.remove(self.store.table()))
                .unwrap_or_default();
            if left.is_empty() {
                return Ok(());
            }
            let count = left.len();
            *pending.lock().unwrap_or_else(|p| p.into_inner()) = left;
            Err(self.error(format!("{count} item(s) left unprocessed (throttled)"), true))
        };
        self.retry.run("DynamoDB BatchWriteItem", attempt).await
    }
}
