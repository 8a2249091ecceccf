//! All-or-nothing groups of writes (DynamoDB `TransactWriteItems`).

use aws_sdk_dynamodb::{
    Client,
    operation::transact_write_items::TransactWriteItemsError,
    types::{AttributeValue, Delete, Put, TransactWriteItem},
};

use super::{
    error::{StoreError, from_sdk},
    item::{VERSION_ATTRIBUTE, encode, key_item},
    key::Key,
    records::{Record, Versioned},
};

/// Writes that succeed together or not at all; versioned records get their new version on commit.
pub struct Transaction<'a> {
    client: &'a Client,
    table: &'a str,
    items: Vec<TransactWriteItem>,
    // For each write: what it is, for naming it in a conflict error.
    labels: Vec<Label>,
    on_commit: Vec<Box<dyn FnOnce() + Send + 'a>>,
    encode_error: Option<StoreError>,
}

struct Label {
    entity: &'static str,
    key: String,
    expected_version: Option<u64>,
}

impl<'a> Transaction<'a> {
    pub(super) fn new(client: &'a Client, table: &'a str) -> Self {
        Self {
            client,
            table,
            items: Vec::new(),
            labels: Vec::new(),
            on_commit: Vec::new(),
            encode_error: None,
        }
    }

    /// Creates a versioned record that must not exist yet.
    pub fn create<T: Versioned + Send>(self, record: &'a mut T) -> Self {
        self.versioned(record, None)
    }

    /// Replaces a versioned record that must still be at the version it was read at.
    pub fn update<T: Versioned + Send>(self, record: &'a mut T) -> Self {
        let expected = record.version();
        self.versioned(record, Some(expected))
    }

    fn versioned<T: Versioned + Send>(mut self, record: &'a mut T, expected: Option<u64>) -> Self {
        let (key, mut item) = match encode(&*record) {
            Ok(encoded) => encoded,
            Err(err) => {
                self.encode_error.get_or_insert(err);
                return self;
            }
        };
        let next = expected.map_or(1, |v| v + 1);
        item.insert(VERSION_ATTRIBUTE.to_owned(), AttributeValue::N(next.to_string()));
        let put = Put::builder().table_name(self.table).set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", VERSION_ATTRIBUTE)
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        self.push(
            put.build()
                .map(|put| TransactWriteItem::builder().put(put).build()),
            T::ENTITY,
            key,
            expected,
        );
        self.on_commit.push(Box::new(move || record.set_version(next)));
        self
    }

    /// Writes an unversioned record, replacing whatever is at its key.
    pub fn put<T: Record>(mut self, record: &T) -> Self {
        match encode(record) {
            Ok((key, item)) => {
                let put = Put::builder().table_name(self.table).set_item(Some(item)).build();
                self.push(
                    put.map(|put| TransactWriteItem::builder().put(put).build()),
                    T::ENTITY,
                    key,
                    None,
                );
            }
            Err(err) => {
                self.encode_error.get_or_insert(err);
            }
        }
        self
    }

    /// Deletes the item at `key` (a missing item is fine).
    pub fn delete(mut self, entity: &'static str, key: &Key) -> Self {
        let delete = Delete::builder()
            .table_name(self.table)
            .set_key(Some(key_item(key)))
            .build();
        self.push(
            delete.map(|delete| TransactWriteItem::builder().delete(delete).build()),
            entity,
            key.clone(),
            None,
        );
        self
    }

    fn push(
        &mut self,
        item: Result<TransactWriteItem, aws_sdk_dynamodb::error::BuildError>,
        entity: &'static str,
        key: Key,
        expected_version: Option<u64>,
    ) {
        match item {
            Ok(item) => {
                self.items.push(item);
                self.labels.push(Label {
                    entity,
                    key: key.to_string(),
                    expected_version,
                });
            }
            Err(err) => {
                self.encode_error.get_or_insert(StoreError::Encode {
                    entity,
                    reason: err.to_string(),
                });
            }
        }
    }

    /// Applies every write, or none; on a lost condition names the record that lost it.
    pub async fn commit(self) -> Result<(), StoreError> {
        if let Some(err) = self.encode_error {
            return Err(err);
        }
        if self.items.is_empty() {
            return Ok(());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(self.items))
            .send()
            .await;
        match result {
            Ok(_) => {
                for apply in self.on_commit {
                    apply();
                }
                Ok(())
            }
            Err(err) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    err.as_service_error()
                {
                    let lost = cancelled
                        .cancellation_reasons()
                        .iter()
                        .position(|reason| reason.code() == Some("ConditionalCheckFailed"));
                    if let Some(label) = lost.and_then(|index| self.labels.into_iter().nth(index)) {
                        return Err(match label.expected_version {
                            Some(expected_version) => StoreError::Conflict {
                                entity: label.entity,
                                key: label.key,
                                expected_version,
                            },
                            None => StoreError::AlreadyExists {
                                entity: label.entity,
                                key: label.key,
                            },
                        });
                    }
                }
                Err(from_sdk("TransactWriteItems", self.table, err))
            }
        }
    }
}
