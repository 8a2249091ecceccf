//! The fleet's read model: every tenant in two indexes, so an operator's listing (by state, by
//! site, both, or all) is a `Query` of one partition and never a `Scan`, which would also read
//! every tenant's directory snapshot in the same table.
//!
//! | index              | hash key                   | range key                        |
//! |--------------------|----------------------------|----------------------------------|
//! | `tenants-by-site`  | `tenant_fleet` (`tenant`)  | `tenant_order` (`{site}#{id}`)   |
//! | `tenants-by-state` | `tenant_state` (its state) | `tenant_order` (`{site}#{id}`)   |
//! | `tenants-needing-attention` | `tenant_attention` (`tenant`, sparse) | `tenant_order` |
//!
//! Only tenant records carry these attributes. A listing is paged by a cursor that names the
//! last tenant answered (`{site}#{id}`), from which the index's start key is rebuilt. A tag
//! (and attention within a state) narrows the same `Query` by a filter, so such a page may take
//! several queries to fill.

use std::{fmt, str::FromStr};

use aws_sdk_dynamodb::{
    operation::query::builders::QueryFluentBuilder,
    types::{AttributeValue, Select},
};
use model::{
    label::Tag,
    sites::Site,
    tenant::{LifecycleState, TenantId},
};

use super::{
    Result, Store, TenantRecord, decode,
    error::from_sdk,
    item::key_item,
    key::{
        self, ATTENTION_KEY, BY_ATTENTION, BY_SITE, BY_STATE, FLEET, FLEET_KEY, ORDER_KEY, STATE_KEY,
        TAGS_ATTRIBUTE,
    },
};

/// The most items one page of a listing answers (tenants, a tenant's task history).
pub const MAX_PAGE: usize = 100;

/// Which tenants a listing asks for; each part narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantFilter {
    /// Only tenants in this state.
    pub state: Option<LifecycleState>,
    /// Only tenants of this site.
    pub site: Option<Site>,
    /// Only tenants with this tag.
    pub tag: Option<Tag>,
    /// Only tenants someone must act on.
    pub attention: bool,
}

/// The last tenant a page answered: the next page starts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantCursor {
    site: Site,
    tenant_id: TenantId,
}

impl TenantCursor {
    /// The site of the last tenant answered: a listing of another site cannot go on from it.
    pub fn site(&self) -> Site {
        self.site
    }
}

impl fmt::Display for TenantCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&key::fleet_order(self.site, self.tenant_id))
    }
}

impl FromStr for TenantCursor {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let unreadable =
            || format!("{raw:?} is no cursor of a tenant listing: give the `cursor` a page answered");
        let (site, tenant) = raw.split_once('#').ok_or_else(unreadable)?;
        Ok(Self {
            site: site.parse().map_err(|_| unreadable())?,
            tenant_id: tenant.parse().map_err(|_| unreadable())?,
        })
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPage {
    /// The tenants, by site, then id.
    pub tenants: Vec<TenantRecord>,
    /// Where the next page starts; none after the last.
    pub cursor: Option<TenantCursor>,
}

impl Store {
    /// Up to `limit` (at most [`MAX_PAGE`]) tenants `filter` asks for, after `cursor`: one
    /// `Query` of one index partition. A cursor of another site than the filter's answers an
    /// empty page (DynamoDB refuses a start key outside the key condition).
    pub async fn tenants(
        &self,
        filter: &TenantFilter,
        limit: usize,
        cursor: Option<TenantCursor>,
    ) -> Result<TenantPage> {
        let limit = limit.clamp(1, MAX_PAGE);
        if let (Some(site), Some(cursor)) = (filter.site, cursor)
            && cursor.site != site
        {
            return Ok(TenantPage {
                tenants: Vec::new(),
                cursor: None,
            });
        }
        let (_, hash_name, hash) = partition(filter);
        let filtered = filter.tag.is_some() || (filter.attention && filter.state.is_some());
        // One more than asked: whether a next page exists is known without another call. A
        // filtered query evaluates more per call, since a filter drops items after the limit.
        let evaluate = if filtered {
            (limit + 1).max(4 * MAX_PAGE)
        } else {
            limit + 1
        };
        let mut start = cursor.map(|cursor| {
            // The table's key of the cursor's tenant, and its keys in the index.
            let mut start = key_item(&key::Key::tenant(cursor.tenant_id));
            start.insert(hash_name.to_owned(), AttributeValue::S(hash.clone()));
            start.insert(ORDER_KEY.to_owned(), AttributeValue::S(cursor.to_string()));
            start
        });
        let mut tenants = Vec::new();
        let more = loop {
            let output = self
                .fleet_query(filter)
                .limit(i32::try_from(evaluate).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| from_sdk("Query", &self.table, err))?;
            for item in output.items.unwrap_or_default() {
                tenants.push(decode::<TenantRecord>(item)?);
            }
            start = output.last_evaluated_key;
            // Past the page, or the index has more to read (a full call, or DynamoDB's 1 MB).
            if tenants.len() > limit {
                break true;
            }
            if start.is_none() {
                break false;
            }
            if !filtered {
                break true;
            }
        };
        tenants.truncate(limit);
        let cursor = more.then(|| tenants.last()).flatten().map(|t| TenantCursor {
            site: t.site,
            tenant_id: t.tenant_id,
        });
        Ok(TenantPage { tenants, cursor })
    }

    /// How many tenants `filter` covers, counted on the index (the items are not returned).
    pub async fn count_tenants(&self, filter: &TenantFilter) -> Result<u64> {
        let mut pages = self
            .fleet_query(filter)
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| from_sdk("Query", &self.table, err))?;
            count += u64::try_from(page.count).unwrap_or(0);
        }
        Ok(count)
    }

    /// The `Query` of the index partition `filter` reads, narrowed to its site, filtered by its
    /// tag and (within a state) by attention.
    fn fleet_query(&self, filter: &TenantFilter) -> QueryFluentBuilder {
        let (index, hash_name, hash) = partition(filter);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#hash", hash_name)
            .expression_attribute_values(":hash", AttributeValue::S(hash));
        query = match filter.site {
            Some(site) => query
                .key_condition_expression("#hash = :hash AND begins_with(#order, :site)")
                .expression_attribute_names("#order", ORDER_KEY)
                .expression_attribute_values(":site", AttributeValue::S(format!("{}#", site.code()))),
            None => query.key_condition_expression("#hash = :hash"),
        };
        let mut conditions = Vec::new();
        if let Some(tag) = &filter.tag {
            conditions.push("contains(#tags, :tag)");
            query = query
                .expression_attribute_names("#tags", TAGS_ATTRIBUTE)
                .expression_attribute_values(":tag", AttributeValue::S(tag.to_string()));
        }
        if filter.attention && filter.state.is_some() {
            conditions.push("attribute_exists(#attention)");
            query = query.expression_attribute_names("#attention", ATTENTION_KEY);
        }
        if conditions.is_empty() {
            query
        } else {
            query.filter_expression(conditions.join(" AND "))
        }
    }
}

/// The index, its hash key's name and the value that `filter` reads.
fn partition(filter: &TenantFilter) -> (&'static str, &'static str, String) {
    match (filter.state, filter.attention) {
        (Some(state), _) => (BY_STATE, STATE_KEY, state.to_string()),
        (None, true) => (BY_ATTENTION, ATTENTION_KEY, FLEET.to_owned()),
        (None, false) => (BY_SITE, FLEET_KEY, FLEET.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_anything_else_is_refused_naming_the_cursor() {
        let cursor: TenantCursor = "eu#8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".parse().expect("cursor");
        assert_eq!(cursor.to_string(), "eu#8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11");
        for bad in [
            "",
            "eu",
            "mars#8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11",
            "eu#not-a-guid",
        ] {
            let err = bad.parse::<TenantCursor>().expect_err(bad);
            assert!(err.contains("cursor"), "{err}");
        }
    }
}
