//! Turning records into table items and back (serde_dynamo; no hand-built attribute maps).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::{error::StoreError, key::Key, records::Record};

/// An item as DynamoDB holds it.
pub type Item = HashMap<String, AttributeValue>;

/// Name of the version attribute of every versioned record.
pub const VERSION_ATTRIBUTE: &str = "version";

/// The record plus the attributes the table adds: keys, kind, sparse-index key and TTL.
#[derive(Serialize)]
struct Envelope<'a, T> {
    pk: &'a str,
    sk: &'a str,
    entity: &'static str,
    // Absent (not null) unless set, so the site index stays sparse: names match key::SITE_INDEX_KEY
    // and key::TTL_ATTRIBUTE (checked by a test).
    #[serde(skip_serializing_if = "Option::is_none")]
    active_site: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    // The fleet's indexes (names match key's FLEET_KEY, STATE_KEY, ATTENTION_KEY, ORDER_KEY,
    // checked by a test); the attention index is sparse.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_fleet: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_attention: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_order: Option<String>,
    #[serde(flatten)]
    record: &'a T,
}

/// Encodes `record` as an item with its key and derived attributes.
pub fn encode<T: Record>(record: &T) -> Result<(Key, Item), StoreError> {
    let key = record.key();
    let fleet = record.fleet_entry();
    let envelope = Envelope {
        pk: &key.pk,
        sk: &key.sk,
        entity: T::ENTITY,
        active_site: record.index_site().map(|site| site.code()),
        expires_at: record.expires_at().map(|at| at.timestamp()),
        tenant_fleet: fleet.is_some().then_some(super::key::FLEET),
        tenant_attention: fleet
            .as_ref()
            .is_some_and(|f| f.attention)
            .then_some(super::key::FLEET),
        tenant_state: fleet.as_ref().map(|f| f.state.clone()),
        tenant_order: fleet.map(|f| f.order),
        record,
    };
    let item = serde_dynamo::to_item(&envelope).map_err(|err| StoreError::Encode {
        entity: T::ENTITY,
        reason: err.to_string(),
    })?;
    Ok((key, item))
}

/// Decodes an item into `T`; the table's own attributes are ignored.
pub fn decode<T: Record>(item: Item) -> Result<T, StoreError> {
    let key = describe_key(&item);
    serde_dynamo::from_item(item).map_err(|err| StoreError::Decode {
        entity: T::ENTITY,
        key,
        reason: err.to_string(),
    })
}

/// The item's key for error messages.
pub fn describe_key(item: &Item) -> String {
    let part = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    format!("{}/{}", part("pk"), part("sk"))
}

/// The key of a stored item, if it has both parts.
pub fn item_key(item: &Item) -> Option<Key> {
    let part = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Some(Key {
        pk: part(super::key::PARTITION_KEY)?,
        sk: part(super::key::SORT_KEY)?,
    })
}

/// The key as an item key map.
pub fn key_item(key: &Key) -> Item {
    HashMap::from([
        (
            super::key::PARTITION_KEY.to_owned(),
            AttributeValue::S(key.pk.clone()),
        ),
        (super::key::SORT_KEY.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{key, records::TenantRecord};
    use model::{service::Service, sites::Site, tenant::LifecycleState};

    fn tenant(state: LifecycleState) -> TenantRecord {
        let id = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".parse().expect("id");
        TenantRecord::new(id, Site::Eu, vec![Service::ExchangeOnline], state)
    }

    #[test]
    fn active_tenants_carry_the_site_index_key_and_others_do_not() {
        let (_, active) = encode(&tenant(LifecycleState::Active)).expect("encode");
        assert_eq!(
            active.get(key::SITE_INDEX_KEY),
            Some(&AttributeValue::S("eu".into()))
        );
        assert_eq!(
            active.get("pk"),
            Some(&AttributeValue::S(
                "TENANT#8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".into()
            ))
        );
        assert_eq!(active.get("entity"), Some(&AttributeValue::S("tenant".into())));
        assert!(active.contains_key(VERSION_ATTRIBUTE));
        let (_, provisioning) = encode(&tenant(LifecycleState::Provisioning)).expect("encode");
        assert!(!provisioning.contains_key(key::SITE_INDEX_KEY));
        assert!(!provisioning.contains_key(key::TTL_ATTRIBUTE));
        // Every tenant is in the fleet's indexes, whatever its state.
        let s = |v: &str| Some(AttributeValue::S(v.to_owned()));
        assert_eq!(provisioning.get(key::FLEET_KEY).cloned(), s(key::FLEET));
        assert_eq!(provisioning.get(key::STATE_KEY).cloned(), s("provisioning"));
        assert_eq!(
            provisioning.get(key::ORDER_KEY).cloned(),
            s("eu#8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11")
        );
        // Only a tenant someone must act on is in the attention index.
        assert!(!provisioning.contains_key(key::ATTENTION_KEY));
        let (_, reconsent) = encode(&tenant(LifecycleState::NeedsReconsent)).expect("encode");
        assert_eq!(reconsent.get(key::ATTENTION_KEY).cloned(), s(key::FLEET));
        let mut role_missing = tenant(LifecycleState::Active);
        role_missing.attention = Some("assign the Exchange role".to_owned());
        let (_, role_missing) = encode(&role_missing).expect("encode");
        assert_eq!(role_missing.get(key::ATTENTION_KEY).cloned(), s(key::FLEET));
    }

    #[test]
    fn a_paused_tenant_leaves_the_site_index_and_stays_in_the_fleet() {
        let mut paused = tenant(LifecycleState::Active);
        paused.paused_at = Some(chrono::Utc::now());
        let (_, item) = encode(&paused).expect("encode");
        assert!(!item.contains_key(key::SITE_INDEX_KEY));
        assert_eq!(
            item.get(key::STATE_KEY),
            Some(&AttributeValue::S("active".into()))
        );
        paused.paused_at = None;
        let (_, item) = encode(&paused).expect("encode");
        assert!(item.contains_key(key::SITE_INDEX_KEY));
    }

    #[test]
    fn items_decode_back_to_the_record() {
        let record = tenant(LifecycleState::Active);
        let (_, item) = encode(&record).expect("encode");
        assert_eq!(decode::<TenantRecord>(item).expect("decode"), record);
    }
}
