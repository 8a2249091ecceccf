//! The removal steps. Each removes what is recorded (or, adopting, what carries the predecessor's
//! exact names), treats "not found" as success, and forgets each record once its object is gone, so a
//! re-run after a crash finishes the job.

use std::collections::BTreeSet;

use chrono::Utc;
use microsoft::{
    exchange::{self, Cmdlet, ExchangeAdmin, Kind, allowed_ips, set_allowed_ips},
    fields::text,
};
use model::vendor::ManagedNames;
use serde_json::Value;
use state::store::{Key, ResourceKind, item_key, key::tenant_partition};

use super::DeprovisionRequest;
use crate::{
    sync::{
        snapshot::Snapshot,
        state::{DRIFT_PREFIX, SyncState, snapshot_partition},
    },
    tasks::{Outcome, StepContext, StepError},
    tokens::TokenError,
};

/// Leaves the site's daily sync: the tenant left the site index when it left `active`.
pub async fn stop_daily_sync(_: &StepContext<'_>) -> Result<Outcome, StepError> {
    Ok(Outcome::Done(Some(
        "the tenant left its site's daily sync".to_owned(),
    )))
}

/// The named Exchange objects removed together by one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// The four routing rules (before the outbound connectors they reference).
    RoutingRules,
    /// The two outbound connectors.
    OutboundConnectors,
    /// The skip-spam and junk rules.
    FilterRules,
    /// The two inbound connectors.
    InboundConnectors,
}

impl Named {
    /// The cmdlets' noun, the records' kind and the objects' names.
    fn objects(self, names: &ManagedNames) -> (&'static str, ResourceKind, Vec<&str>) {
        let rules = ("TransportRule", ResourceKind::TransportRule);
        let (noun, kind) = match self {
            Self::RoutingRules | Self::FilterRules => rules,
            Self::OutboundConnectors => ("OutboundConnector", ResourceKind::OutboundConnector),
            Self::InboundConnectors => ("InboundConnector", ResourceKind::InboundConnector),
        };
        let objects = match self {
            Self::RoutingRules => names.routing_rules().to_vec(),
            Self::OutboundConnectors => vec![names.outbound_incoming.as_str(), &names.outbound_outgoing],
            Self::FilterRules => vec![names.rule_skip_spam.as_str(), &names.rule_junk],
            Self::InboundConnectors => vec![names.inbound_incoming.as_str(), &names.inbound_outgoing],
        };
        (noun, kind, objects)
    }
}

/// Removes the `named` objects that are ours (recorded) or, adopting, that exist.
pub async fn remove(
    ctx: &StepContext<'_>,
    request: &DeprovisionRequest,
    named: Named,
) -> Result<Outcome, StepError> {
    let (noun, kind, mut objects) = named.objects(ctx.names);
    // The further parts of a domain rule split to fit Exchange's rule size, where recorded.
    let resources = match named {
        Named::RoutingRules => ctx.store.resources(ctx.tenant.tenant_id).await?,
        _ => Vec::new(),
    };
    objects.extend(
        resources
            .iter()
            .filter(|r| r.kind == ResourceKind::TransportRule)
            .filter(|r| {
                ctx.names
                    .domain_rule_of(&r.key)
                    .is_some_and(|(_, index)| index > 0)
            })
            .map(|r| r.key.as_str()),
    );
    remove_named(ctx, request, noun, kind, &objects).await
}

/// Schedules the tenant's token secret for deletion (recoverable for 7 days): with it goes any
/// delegated refresh token. Provisioning or deprovisioning the tenant again restores it.
pub async fn delete_token_secret(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    ctx.ms
        .tokens
        .vault()
        .schedule_deletion(ctx.tenant.tenant_id, 7)
        .await
        .map_err(TokenError::from)?;
    Ok(Outcome::Done(Some(
        "the tenant's token secret is scheduled for deletion in 7 days".to_owned(),
    )))
}

/// Forgets what the sync kept of the tenant: its directory snapshot (every user's and group's
/// name), its sync state and its drift records.
pub async fn forget_sync_records(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let tenant = ctx.tenant.tenant_id;
    let snapshot = ctx.store.query_prefix(&snapshot_partition(tenant), "").await?;
    let drift = ctx
        .store
        .query_prefix(&tenant_partition(tenant), DRIFT_PREFIX)
        .await?;
    let entries = snapshot.len();
    let mut keys: Vec<Key> = snapshot.iter().chain(&drift).filter_map(item_key).collect();
    keys.push(SyncState::key_of(tenant));
    Snapshot::new(ctx.store.client().clone(), ctx.store.clone(), ctx.ms.retry)
        .delete_all(&keys)
        .await
        .map_err(|err| StepError::Failed(err.to_string()))?;
    Ok(Outcome::Done(Some(format!(
        "forgot the directory snapshot ({entries} entries), {} drift record(s) and the sync state",
        drift.len()
    ))))
}

/// "Removed: ...; not present: ..." for the step's outcome.
fn summary(removed: &[String], absent: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    if !removed.is_empty() {
        parts.push(format!("removed: {}", removed.join(", ")));
    }
    if !absent.is_empty() {
        parts.push(format!("already gone: {}", absent.join(", ")));
    }
    Some(if parts.is_empty() {
        "nothing of ours to remove".to_owned()
    } else {
        parts.join("; ")
    })
}

/// Disables the tenant's scheduled reports.
pub async fn stop_reports(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let mut stopped = 0;
    for mut report in ctx.store.report_schedules(ctx.tenant.tenant_id).await? {
        if report.enabled {
            report.enabled = false;
            report.updated_at = Utc::now();
            ctx.store.put(&report).await?;
            stopped += 1;
        }
    }
    Ok(Outcome::Done(Some(format!(
        "{stopped} scheduled report(s) stopped"
    ))))
}

/// Removes the named objects of `noun` that are ours (recorded) or, adopting, that exist.
async fn remove_named(
    ctx: &StepContext<'_>,
    request: &DeprovisionRequest,
    noun: &str,
    kind: ResourceKind,
    names: &[&str],
) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let (mut removed, mut absent) = (Vec::new(), Vec::new());
    for name in names {
        let ours = ctx.recorded(kind, name).await?.is_some();
        if !ours && !request.adopt_existing {
            continue;
        }
        match exchange::remove(&exchange, noun, name).await? {
            true => removed.push((*name).to_owned()),
            false => absent.push((*name).to_owned()),
        }
        ctx.forget(kind, name).await?;
    }
    Ok(Outcome::Done(summary(&removed, &absent)))
}

/// Deletes the virtual groups (recorded ids, or adopting, found by exact display name).
pub async fn remove_groups(
    ctx: &StepContext<'_>,
    request: &DeprovisionRequest,
) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let (mut removed, mut absent) = (Vec::new(), Vec::new());
    for name in [&ctx.names.incoming_group, &ctx.names.outgoing_group] {
        let mut ids: BTreeSet<String> = ctx
            .recorded(ResourceKind::Group, name)
            .await?
            .and_then(|r| r.external_id)
            .into_iter()
            .collect();
        if request.adopt_existing {
            let found: Value = graph
                .get(&format!(
                    "/groups?$filter=displayName eq '{name}'&$select=id,displayName"
                ))
                .await?;
            let exact = found["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|g| text(g, "displayName") == Some(name.as_str()));
            ids.extend(exact.filter_map(|g| text(g, "id")).map(str::to_owned));
        }
        if ids.is_empty() {
            ctx.forget(ResourceKind::Group, name).await?;
            continue;
        }
        for id in ids {
            match graph.delete(&format!("/groups/{id}")).await {
                Ok(()) => removed.push(name.clone()),
                Err(err) if err.is_not_found() => absent.push(name.clone()),
                Err(err) => return Err(err.into()),
            }
        }
        ctx.forget(ResourceKind::Group, name).await?;
    }
    Ok(Outcome::Done(summary(&removed, &absent)))
}

/// Removes the spoof entries we added (by recorded id; adopting, those matching the vendor's pair).
pub async fn remove_spoof_pair(
    ctx: &StepContext<'_>,
    request: &DeprovisionRequest,
) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let spoof = &ctx.vendor.spoof;
    let key = spoof.key();
    let recorded = ctx.recorded(ResourceKind::SpoofItem, &key).await?;
    let items = exchange
        .invoke(&Cmdlet::new("Get-TenantAllowBlockListSpoofItems").param("Identity", "Default"))
        .await?;
    let matching = |item: &&Value| spoof.matches(item);
    let present: BTreeSet<String> = items
        .iter()
        .filter_map(|i| text(i, "Identity"))
        .map(str::to_owned)
        .collect();
    let ids: Vec<String> = match &recorded {
        Some(record) => match &record.external_id {
            Some(id) => vec![id.clone()],
            // Intent recorded, id not yet: the entry for the pair appeared through us.
            None => items
                .iter()
                .filter(matching)
                .filter_map(|i| text(i, "Identity"))
                .map(str::to_owned)
                .collect(),
        },
        None if request.adopt_existing => items
            .iter()
            .filter(matching)
            .filter_map(|i| text(i, "Identity"))
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    let (gone, live): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| !present.contains(id));
    if !live.is_empty() {
        let remove = Cmdlet::new("Remove-TenantAllowBlockListSpoofItems")
            .param("Identity", "Default")
            .param("Ids", live.clone());
        match exchange.invoke(&remove).await {
            Ok(_) => {}
            Err(err) if err.kind() == Some(Kind::NotFound) => {}
            Err(err) => return Err(err.into()),
        }
    }
    ctx.forget(ResourceKind::SpoofItem, &key).await?;
    Ok(Outcome::Done(summary(&live, &gone)))
}

/// Removes exactly the IPs we added (adopting: the vendor's IPs) with the add/remove form; the
/// customer's own entries stay.
pub async fn remove_allowed_ips(
    ctx: &StepContext<'_>,
    request: &DeprovisionRequest,
) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let ours: Vec<String> = ctx
        .store
        .resources(ctx.tenant.tenant_id)
        .await?
        .into_iter()
        .filter(|r| r.kind == ResourceKind::AllowedIp)
        .map(|r| r.key)
        .collect();
    let candidates: BTreeSet<String> = if request.adopt_existing {
        ours.iter()
            .cloned()
            .chain(ctx.vendor.egress_ips.iter().cloned())
            .collect()
    } else {
        ours.iter().cloned().collect()
    };
    let present: BTreeSet<String> = allowed_ips(&exchange).await?.into_iter().collect();
    let (live, gone): (Vec<String>, Vec<String>) =
        candidates.into_iter().partition(|ip| present.contains(ip));
    if !live.is_empty() {
        exchange.invoke(&set_allowed_ips(&[], &live)).await?;
    }
    for ip in &ours {
        ctx.forget(ResourceKind::AllowedIp, ip).await?;
    }
    Ok(Outcome::Done(summary(&live, &gone)))
}

/// Deletes the directory role assignments we made.
pub async fn remove_role_assignments(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let (mut removed, mut absent, mut left) = (Vec::new(), Vec::new(), Vec::new());
    let resources = ctx.store.resources(ctx.tenant.tenant_id).await?;
    for assignment in resources
        .iter()
        .filter(|r| r.kind == ResourceKind::RoleAssignment)
    {
        if let Some(id) = &assignment.external_id {
            match graph
                .delete(&format!("/roleManagement/directory/roleAssignments/{id}"))
                .await
            {
                Ok(()) => removed.push(assignment.key.clone()),
                Err(err) if err.is_not_found() => absent.push(assignment.key.clone()),
                // RoleManagement.ReadWrite.Directory no longer granted: the admin's to remove
                // (kept recorded, so the manual-cleanup list names it).
                Err(err) if err.is_forbidden() => {
                    left.push(assignment.key.clone());
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
        }
        ctx.forget(ResourceKind::RoleAssignment, &assignment.key).await?;
    }
    let mut note = summary(&removed, &absent).unwrap_or_default();
    if !left.is_empty() {
        note.push_str(&format!(
            "; left for the tenant's admin (manual cleanup): {}",
            left.join(", ")
        ));
    }
    Ok(Outcome::Done((!note.is_empty()).then_some(note)))
}

/// Deletes the app's service principal: the last Microsoft call (it ends our access).
pub async fn remove_service_principal(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let resources = ctx.store.resources(ctx.tenant.tenant_id).await?;
    let Some(sp) = resources
        .into_iter()
        .find(|r| r.kind == ResourceKind::ServicePrincipal)
    else {
        return Ok(Outcome::Done(Some("no service principal recorded".to_owned())));
    };
    // By default the app cannot delete itself (no Application.ReadWrite.All): its removal is
    // the last item of the manual-cleanup list (the record stays, so the list names it).
    let for_the_admin = Outcome::Done(Some(
        "the app's service principal is left for the tenant's admin (the last item of manual cleanup)"
            .to_owned(),
    ));
    if !ctx.ms.privileges.remove_service_principal {
        return Ok(for_the_admin);
    }
    if let Some(id) = &sp.external_id {
        let graph = ctx.ms.graph(ctx.tenant).await?;
        match graph.delete(&format!("/servicePrincipals/{id}")).await {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {}
            Err(err) if err.is_forbidden() => return Ok(for_the_admin),
            Err(err) => return Err(err.into()),
        }
    }
    ctx.forget(ResourceKind::ServicePrincipal, &sp.key).await?;
    Ok(Outcome::Done(Some(format!(
        "service principal of app {} removed",
        sp.key
    ))))
}
