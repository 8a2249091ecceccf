//! What one tenant's sync did, as the worker logs it and the tests read it.

use model::tenant::TenantId;

use super::state::EntryKind;
use serde::Serialize;

/// How a tenant's sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Synced.
    Synced,
    /// Not synced, on purpose (see `reason`).
    Skipped,
    /// Partly synced (a full listing stopped at its checkpoint, or time ran out before the
    /// rest): the tenant's message was queued again to go on.
    Continued,
}

/// What one tenant's sync did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantReport {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Synced or skipped.
    pub outcome: Outcome,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Users added or changed / removed in the snapshot.
    pub users: (usize, usize),
    /// Groups added or changed / removed in the snapshot.
    pub groups: (usize, usize),
    /// Whether a full listing was made (first sync, expired delta link).
    pub full_listing: bool,
    /// Verified domains new since the last sync.
    pub new_domains: Vec<String>,
    /// Rules whose domain condition was updated.
    pub rules_updated: Vec<String>,
    /// Drift found and repaired.
    pub drift: Vec<String>,
    /// Domains whose MX does not route to Exchange Online.
    pub mx_problems: Vec<String>,
    /// Exchange HTTP requests the worker itself sent (batches and direct cmdlets; repairs
    /// through provisioning steps are not counted here).
    pub exchange_http_requests: usize,
    /// Found synced already in this run (a second delivery of its message): nothing was done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

impl TenantReport {
    /// What the sync wrote of `kind`: added or changed, removed.
    pub(super) fn counts(&mut self, kind: EntryKind) -> &mut (usize, usize) {
        match kind {
            EntryKind::User => &mut self.users,
            EntryKind::Group => &mut self.groups,
        }
    }

    /// A tenant not synced, on purpose, for `reason`.
    pub(super) fn skipped(tenant_id: TenantId, reason: String) -> Self {
        tracing::info!(tenant = %tenant_id, %reason, "tenant skipped");
        Self {
            tenant_id,
            outcome: Outcome::Skipped,
            reason: Some(reason),
            users: (0, 0),
            groups: (0, 0),
            full_listing: false,
            new_domains: Vec::new(),
            rules_updated: Vec::new(),
            drift: Vec::new(),
            mx_problems: Vec::new(),
            exchange_http_requests: 0,
            duplicate: false,
        }
    }

    /// A tenant found synced already in `run_id`.
    pub(super) fn duplicate(tenant_id: TenantId, run_id: &str) -> Self {
        Self {
            duplicate: true,
            ..Self::skipped(tenant_id, format!("already synced in run {run_id}"))
        }
    }
}
