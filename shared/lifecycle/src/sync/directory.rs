//! Users and groups: delta queries into the tenant's directory snapshot.
//!
//! First sync (and after an expired delta link): take a from-now delta link
//! (`$deltatoken=latest`) *first*, then list with `$top=999` page by page, writing each page to
//! the snapshot before reading the next (a 100,000-user tenant is ~101 listing requests and
//! never all in memory). When the invocation's deadline nears, the listing stops at a
//! [`ListingCheckpoint`] (the next page's link) and the next invocation goes on from it. Later
//! syncs apply the delta from the stored link: changed objects are upserted, `@removed` ones
//! deleted; a delta of many pages stops at a checkpoint the same way (the next delta page's
//! link). Replays are harmless: every write is an idempotent upsert
//! or delete by object id.

use microsoft::graph::{BatchRequest, BatchResponse, GraphClient, GraphError};
use model::{
    retry::{RetryHint, Retryable},
    tenant::TenantId,
};
use serde_json::Value;
use state::store::Key;

use super::{
    error::SyncError,
    snapshot::Snapshot,
    state::{DirectoryEntry, EntryKind, ListingCheckpoint},
};
use crate::{calls::CallError, deadline::Deadline};

/// What a sync reads of each user (`$select` also limits what the delta tracks).
pub const USER_SELECT: &str = "id,userPrincipalName,displayName";
/// What a sync reads of each group (no `members`: membership is not part of the snapshot).
pub const GROUP_SELECT: &str = "id,displayName,mail";

impl EntryKind {
    fn collection(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Group => "groups",
        }
    }

    fn select(self) -> &'static str {
        match self {
            Self::User => USER_SELECT,
            Self::Group => GROUP_SELECT,
        }
    }

    /// The from-now delta query of the kind.
    pub fn latest_path(self) -> String {
        format!(
            "/{}/delta?$select={}&$deltatoken=latest",
            self.collection(),
            self.select()
        )
    }

    fn listing_path(self) -> String {
        format!("/{}?$top=999&$select={}", self.collection(), self.select())
    }
}

/// What syncing one kind did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindSync {
    /// The delta link to store for the next sync.
    pub delta_link: Option<String>,
    /// Objects written (added or changed).
    pub upserted: usize,
    /// Objects removed.
    pub removed: usize,
    /// Whether a full listing was made (first sync, or the delta link had expired).
    pub full_listing: bool,
}

/// How far a kind's sync got in this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Done: what it did.
    Done(KindSync),
    /// A full listing or a delta's paging stopped as the deadline neared; it goes on from the
    /// checkpoint.
    Paused(ListingCheckpoint),
}

/// One page of a collection or delta.
struct PageOf {
    value: Vec<Value>,
    next: Option<String>,
    delta: Option<String>,
}

fn page_of(body: Option<&Value>) -> PageOf {
    let link = |name: &str| {
        body.and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    PageOf {
        value: body
            .and_then(|b| b.get("value"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        next: link("@odata.nextLink"),
        delta: link("@odata.deltaLink"),
    }
}

/// A delta link as a batch sub-request URL: relative to the Graph version.
pub fn relative(link: &str) -> String {
    match link.find("/v1.0/") {
        Some(at) => link[at + "/v1.0".len()..].to_owned(),
        None => link.to_owned(),
    }
}

/// Whether `link` is a delta link of `kind` on `graph`'s own origin: only such a link is
/// stored (one from elsewhere would be sent inside `$batch`, refused every day, or point the
/// sync at another host's paging).
pub fn is_own_delta_link(graph: &GraphClient, kind: EntryKind, link: &str) -> bool {
    graph.is_own_link(link) && is_delta_of(kind, link)
}

/// Whether `link`, relative to the Graph version, is a delta query of `kind`.
fn is_delta_of(kind: EntryKind, link: &str) -> bool {
    relative(link).starts_with(&format!("/{}/delta?", kind.collection()))
}

/// Whether `checkpoint` stopped a delta's paging (not a full listing).
pub fn is_delta_checkpoint(checkpoint: &ListingCheckpoint) -> bool {
    is_delta_of(checkpoint.kind, &checkpoint.next_link)
}

/// Whether `link` is a page of `kind`'s listing on `graph`'s own origin: only such a link is
/// kept in a checkpoint, and one read back that is not starts the listing over.
fn is_own_listing_link(graph: &GraphClient, kind: EntryKind, link: &str) -> bool {
    graph.is_own_link(link) && relative(link).starts_with(&format!("/{}?", kind.collection()))
}

/// The batch sub-request that starts a kind's sync: the stored delta link, or a from-now link
/// (also for a stored link that is not a delta link of this kind: the sync starts over).
pub fn delta_request(kind: EntryKind, stored: Option<&str>) -> BatchRequest {
    let url = stored
        .filter(|link| is_delta_of(kind, link))
        .map_or_else(|| kind.latest_path(), relative);
    BatchRequest::new(kind.collection(), "GET", url)
}

fn entry(tenant_id: TenantId, kind: EntryKind, object: &Value, generation: &str) -> Option<DirectoryEntry> {
    let fields = Fields::of(kind, object)?;
    Some(DirectoryEntry {
        tenant_id,
        kind,
        id: fields.id,
        name: fields.name.unwrap_or_default(),
        detail: fields.detail.flatten(),
        generation: generation.to_owned(),
    })
}

/// What one record says of an object: a field absent from it is `None` (a delta record may
/// carry "at least the properties that have been updated"), a field given as `null` is
/// `Some(None)`.
struct Fields {
    id: String,
    name: Option<String>,
    detail: Option<Option<String>>,
}

impl Fields {
    fn of(kind: EntryKind, object: &Value) -> Option<Self> {
        let field = |f: &str| object.get(f).map(|v| v.as_str().map(str::to_owned));
        let (name, detail) = match kind {
            EntryKind::User => ("userPrincipalName", "displayName"),
            EntryKind::Group => ("displayName", "mail"),
        };
        Some(Self {
            id: object.get("id")?.as_str()?.to_owned(),
            name: field(name).flatten(),
            detail: field(detail),
        })
    }

    fn is_whole(&self) -> bool {
        self.name.is_some() && self.detail.is_some()
    }

    /// The stored entry with what this record changed.
    fn merged_into(self, mut stored: DirectoryEntry) -> DirectoryEntry {
        if let Some(name) = self.name {
            stored.name = name;
        }
        if let Some(detail) = self.detail {
            stored.detail = detail;
        }
        stored
    }
}

/// Syncs one kind of object of one tenant into the snapshot.
pub struct DirectorySync<'a> {
    /// The tenant's Graph.
    pub graph: &'a GraphClient,
    /// The snapshot.
    pub snapshot: &'a Snapshot,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The generation full listings stamp on entries (the run id).
    pub generation: &'a str,
    /// The invocation's deadline: a full listing stops at a checkpoint before it.
    pub deadline: Deadline,
}

impl DirectorySync<'_> {
    /// Finishes a kind's sync from the answer to [`delta_request`]: applies the delta (following
    /// its pages), or, on the first sync or an expired link, lists everything (or as much as
    /// the deadline allows).
    pub async fn finish(
        &self,
        kind: EntryKind,
        stored: Option<&str>,
        answer: &BatchResponse,
    ) -> Result<Progress, SyncError> {
        if let Some(err) = answer.error("GET", &format!("/{}/delta", kind.collection())) {
            if stored.is_some() && err.is_sync_reset() {
                tracing::info!(tenant = %self.tenant_id, kind = kind.collection(), "delta link expired: full listing");
                return self.list_anew(kind, true).await;
            }
            return Err(err.into());
        }
        let page = page_of(answer.body.as_ref());
        if stored.is_none() {
            // A from-now link: list what exists now; changes from here on come through the delta.
            return self.list(self.listing(kind, page.delta, false)).await;
        }
        let mut result = KindSync::default();
        self.apply(kind, &page.value, &mut result).await?;
        let Some(next) = page.next else {
            result.delta_link = page.delta;
            if result.delta_link.is_none() {
                return Err(no_delta_link(kind).into());
            }
            return Ok(Progress::Done(result));
        };
        let mut at = self.listing(kind, None, true);
        at.next_link = next;
        at.pages = 1;
        (at.upserted, at.removed) = (result.upserted, result.removed);
        self.follow_delta(at, true).await
    }

    /// Follows a delta's pages from `at` (the next page's link, itself a delta link of Graph's),
    /// applying each. Near the deadline it stops at a checkpoint on the next page's link, once
    /// a page was applied (`progressed`: already, by the caller), so a delta of many changes
    /// goes on in the next invocation as a first listing does.
    async fn follow_delta(
        &self,
        mut at: ListingCheckpoint,
        mut progressed: bool,
    ) -> Result<Progress, SyncError> {
        let kind = at.kind;
        let mut pages = self.graph.pages::<Value>(&at.next_link).after(at.pages);
        let mut result = KindSync {
            upserted: at.upserted,
            removed: at.removed,
            ..KindSync::default()
        };
        loop {
            if progressed
                && self.deadline.is_near()
                && let Some(next) = pages
                    .next_link()
                    .filter(|l| is_own_delta_link(self.graph, kind, l))
            {
                at.next_link = next.to_owned();
                at.pages = pages.pages_read();
                (at.upserted, at.removed) = (result.upserted, result.removed);
                tracing::info!(tenant = %self.tenant_id, kind = kind.collection(), pages = at.pages, upserted = at.upserted, removed = at.removed, "deadline near: the delta stops at a checkpoint");
                return Ok(Progress::Paused(at));
            }
            let Some(values) = pages.next_page().await? else {
                break;
            };
            progressed = true;
            self.apply(kind, &values, &mut result).await?;
        }
        result.delta_link = pages.delta_link().map(str::to_owned);
        if result.delta_link.is_none() {
            return Err(no_delta_link(kind).into());
        }
        Ok(Progress::Done(result))
    }

    /// Goes on with a listing or a delta an earlier invocation stopped; a checkpoint whose link
    /// is not a page of Graph's own listing or delta of the kind starts the listing over.
    pub async fn resume(&self, checkpoint: ListingCheckpoint) -> Result<Progress, SyncError> {
        let kind = checkpoint.kind;
        let sweep = checkpoint.sweep;
        let going_on = if is_own_listing_link(self.graph, kind, &checkpoint.next_link) {
            tracing::info!(tenant = %self.tenant_id, kind = kind.collection(), pages = checkpoint.pages, "listing goes on from its checkpoint");
            self.list(checkpoint).await
        } else if is_own_delta_link(self.graph, kind, &checkpoint.next_link) {
            tracing::info!(tenant = %self.tenant_id, kind = kind.collection(), pages = checkpoint.pages, "delta goes on from its checkpoint");
            self.follow_delta(checkpoint, false).await
        } else {
            tracing::warn!(tenant = %self.tenant_id, kind = kind.collection(), "the checkpoint holds no listing or delta link of Graph's; listing anew");
            return self.list_anew(kind, sweep).await;
        };
        match going_on {
            // Graph no longer takes the link (a skip token from long ago) or the page limit was
            // reached: going on again would fail the same way every run, so list anew.
            Err(SyncError::Call(err @ CallError::Graph(_)))
                if err.retry_hint() == RetryHint::Never
                    && err.refused_token().is_none()
                    && !err.needs_reconsent() =>
            {
                tracing::warn!(tenant = %self.tenant_id, kind = kind.collection(), error = %err, "Graph refused the listing checkpoint's link; listing anew");
                self.list_anew(kind, sweep).await
            }
            other => other,
        }
    }

    /// A full listing from a fresh from-now delta link.
    async fn list_anew(&self, kind: EntryKind, sweep: bool) -> Result<Progress, SyncError> {
        let latest: Value = self.graph.get(&kind.latest_path()).await?;
        let link = page_of(Some(&latest)).delta;
        self.list(self.listing(kind, link, sweep)).await
    }

    /// A listing of `kind` about to begin.
    fn listing(&self, kind: EntryKind, delta_link: Option<String>, sweep: bool) -> ListingCheckpoint {
        ListingCheckpoint {
            kind,
            next_link: kind.listing_path(),
            delta_link,
            sweep,
            generation: self.generation.to_owned(),
            pages: 0,
            upserted: 0,
            removed: 0,
        }
    }

    async fn apply(&self, kind: EntryKind, values: &[Value], result: &mut KindSync) -> Result<(), SyncError> {
        let mut upserts = Vec::new();
        let mut removals = Vec::new();
        for object in values {
            let Some(id) = object.get("id").and_then(Value::as_str) else {
                continue;
            };
            if object.get("@removed").is_some() {
                removals.push(DirectoryEntry::key_of(self.tenant_id, kind, id));
                continue;
            }
            let Some(fields) = Fields::of(kind, object) else {
                continue;
            };
            if fields.is_whole() {
                upserts.extend(entry(self.tenant_id, kind, object, self.generation));
            } else {
                upserts.extend(self.merge(kind, fields).await?);
            }
        }
        self.snapshot.put_all(&upserts).await?;
        self.snapshot.delete_all(&removals).await?;
        result.upserted += upserts.len();
        result.removed += removals.len();
        Ok(())
    }

    /// A partial record merged into the stored entry; an object not stored yet is read whole
    /// (one request, for a record that is rare), and one that is gone by then is skipped.
    async fn merge(&self, kind: EntryKind, fields: Fields) -> Result<Option<DirectoryEntry>, SyncError> {
        let key = DirectoryEntry::key_of(self.tenant_id, kind, &fields.id);
        if let Some(stored) = self.snapshot.entry(&key).await? {
            return Ok(Some(fields.merged_into(stored)));
        }
        let path = format!("/{}/{}?$select={}", kind.collection(), fields.id, kind.select());
        match self.graph.get::<Value>(&path).await {
            Ok(object) => Ok(entry(self.tenant_id, kind, &object, self.generation)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Lists page by page into the snapshot from `at`; with `sweep`, at the end removes entries
    /// the listing did not write (objects deleted while the delta link was expired). At least
    /// one page is listed per invocation, so a listing always gets on; after that it stops at
    /// the deadline's reserve.
    async fn list(&self, mut at: ListingCheckpoint) -> Result<Progress, SyncError> {
        let kind = at.kind;
        let mut pages = self.graph.pages::<Value>(&at.next_link).after(at.pages);
        let mut listed_here = 0;
        loop {
            if listed_here > 0
                && self.deadline.is_near()
                && let Some(next) = pages
                    .next_link()
                    .filter(|l| is_own_listing_link(self.graph, kind, l))
            {
                at.next_link = next.to_owned();
                at.pages = pages.pages_read();
                tracing::info!(tenant = %self.tenant_id, kind = kind.collection(), pages = at.pages, upserted = at.upserted, "deadline near: the listing stops at a checkpoint");
                return Ok(Progress::Paused(at));
            }
            let Some(values) = pages.next_page().await? else {
                break;
            };
            listed_here += 1;
            let entries: Vec<DirectoryEntry> = values
                .iter()
                .filter_map(|o| entry(self.tenant_id, kind, o, &at.generation))
                .collect();
            self.snapshot.put_all(&entries).await?;
            at.upserted += entries.len();
        }
        let mut removed = 0;
        if at.sweep {
            let stale: Vec<Key> = self
                .snapshot
                .entries(self.tenant_id)
                .await?
                .into_iter()
                .filter(|e| e.kind == kind && e.generation != at.generation)
                .map(|e| DirectoryEntry::key_of(self.tenant_id, kind, &e.id))
                .collect();
            self.snapshot.delete_all(&stale).await?;
            removed = stale.len();
        }
        Ok(Progress::Done(KindSync {
            delta_link: at.delta_link,
            upserted: at.upserted,
            removed,
            full_listing: true,
        }))
    }
}

/// A delta's last page carried no link for the next sync (a transient fault: Graph always ends
/// a delta with one).
fn no_delta_link(kind: EntryKind) -> GraphError {
    GraphError::Transport {
        method: "GET".to_owned(),
        path: format!("/{}/delta", kind.collection()),
        reason: "the last delta page has no @odata.deltaLink".to_owned(),
        transient: true,
    }
}

/// A delta link to store, unless it is not one of Graph's own for `kind`: then none is stored,
/// and the next sync lists the kind in full.
pub fn own_delta(graph: &GraphClient, kind: EntryKind, link: Option<String>) -> Option<String> {
    let link = link?;
    if is_own_delta_link(graph, kind, &link) {
        Some(link)
    } else {
        tracing::warn!(
            ?kind,
            "Graph answered a delta link that is not its own; the next sync lists in full"
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A Graph client of the commercial cloud (nothing is sent).
    fn graph() -> GraphClient {
        GraphClient::new(
            reqwest::Client::new(),
            "https://graph.microsoft.com",
            secrecy::SecretString::from("t"),
            model::retry::RetryPolicy::quick(),
        )
    }

    #[test]
    fn only_graphs_own_delta_links_of_the_kind_are_kept_and_sent() {
        let graph = graph();
        let own = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc";
        assert!(is_own_delta_link(&graph, EntryKind::User, own));
        for hostile in [
            "https://evil.example/v1.0/users/delta?$deltatoken=abc",
            "https://graph.microsoft.com.evil.example/v1.0/users/delta?$deltatoken=abc",
            "https://graph.microsoft.com/beta/users/delta?$deltatoken=abc",
            "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=abc",
            "https://graph.microsoft.com/v1.0/users/delta/../../me?x",
        ] {
            assert!(!is_own_delta_link(&graph, EntryKind::User, hostile), "{hostile}");
        }
        // A link stored before these checks that is no delta link of the kind starts over.
        let fresh = delta_request(
            EntryKind::User,
            Some("https://graph.microsoft.com/beta/users/delta?$deltatoken=x"),
        );
        assert_eq!(fresh.url, EntryKind::User.latest_path());
        assert_eq!(
            delta_request(EntryKind::User, Some(own)).url,
            "/users/delta?$deltatoken=abc"
        );
    }

    #[test]
    fn only_graphs_own_listing_links_of_the_kind_are_kept_in_a_checkpoint() {
        let graph = graph();
        let own = "https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=abc";
        assert!(is_own_listing_link(&graph, EntryKind::User, own));
        for other in [
            "https://evil.example/v1.0/users?$skiptoken=abc",
            "https://graph.microsoft.com/v1.0/groups?$skiptoken=abc",
            "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=abc",
            "https://graph.microsoft.com/beta/users?$skiptoken=abc",
            "/users?$skiptoken=abc",
        ] {
            assert!(!is_own_listing_link(&graph, EntryKind::User, other), "{other}");
        }
    }

    fn stored(kind: EntryKind, name: &str, detail: Option<&str>) -> DirectoryEntry {
        DirectoryEntry {
            tenant_id: "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11".parse().expect("id"),
            kind,
            id: "g1".to_owned(),
            name: name.to_owned(),
            detail: detail.map(str::to_owned),
            generation: "r1".to_owned(),
        }
    }

    #[test]
    fn records_as_the_delta_overview_allows_them_are_merged() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/graph-users-delta-partial.json"
        );
        let page: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        let user = |id: &str| DirectoryEntry {
            id: id.to_owned(),
            ..stored(EntryKind::User, "bob@contoso.com", Some("Bob"))
        };
        let [renamed, moved] = [&page["value"][0], &page["value"][1]];
        let fields = Fields::of(EntryKind::User, renamed).expect("id");
        assert!(!fields.is_whole());
        let merged = fields.merged_into(user("87d349ed-44d7-43e1-9a83-5f2406dee5bd"));
        assert_eq!(
            (merged.name.as_str(), merged.detail.as_deref()),
            ("bob@contoso.com", Some("Robert Builder"))
        );
        let merged = Fields::of(EntryKind::User, moved)
            .expect("id")
            .merged_into(user("0b3c5a2e-0e4d-4f6e-8a1b-2c3d4e5f6a7b"));
        assert_eq!(
            (merged.name.as_str(), merged.detail.as_deref()),
            ("robert@contoso.com", Some("Bob"))
        );
    }

    #[test]
    fn a_partial_record_changes_only_what_it_carries() {
        let group = stored(EntryKind::Group, "Sales", Some("sales@contoso.com"));
        // A group whose mail changed, displayName left out: the name stays.
        let fields = Fields::of(
            EntryKind::Group,
            &json!({"id": "g1", "mail": "sales2@contoso.com"}),
        )
        .expect("id");
        assert!(!fields.is_whole());
        let merged = fields.merged_into(group.clone());
        assert_eq!(
            (merged.name.as_str(), merged.detail.as_deref()),
            ("Sales", Some("sales2@contoso.com"))
        );
        // A mail given as null is cleared, not kept.
        let fields = Fields::of(
            EntryKind::Group,
            &json!({"id": "g1", "displayName": "Sales EU", "mail": null}),
        )
        .expect("id");
        assert!(fields.is_whole());
        let merged = fields.merged_into(group);
        assert_eq!((merged.name.as_str(), merged.detail), ("Sales EU", None));
        assert!(Fields::of(EntryKind::User, &json!({"displayName": "no id"})).is_none());
    }
}
