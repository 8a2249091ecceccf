//! The removal steps. Each removes what is recorded (or, adopting, what carries the seed's exact
//! names), treats "not found" as success, and forgets each record once its object is gone, so a
//! re-run after a crash finishes the job.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::Value;

use super::DeprovisionRequest;
use crate::provisioning::{
    context::{StepContext, text},
    error::StepError,
    steps::Outcome,
};
use microsoft::exchange::{Cmdlet, ExchangeAdmin, Kind, add_remove};
use state::store::ResourceKind;

type Ctx<'a> = StepContext<'a, DeprovisionRequest>;

/// Runs the step named `name`.
pub async fn run(name: String, ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
    let n = ctx.names;
    match name.as_str() {
        "stop_daily_sync" => Ok(Outcome::Done(Some(
            "the tenant left its site's daily sync".to_owned(),
        ))),
        "stop_reports" => stop_reports(ctx).await,
        "remove_routing_rules" => {
            let rules = [
                &n.rule_incoming_domain,
                &n.rule_incoming_user,
                &n.rule_outgoing_domain,
                &n.rule_outgoing_user,
            ];
            remove_named(ctx, "TransportRule", ResourceKind::TransportRule, &rules).await
        }
        "remove_outbound_connectors" => {
            remove_named(
                ctx,
                "OutboundConnector",
                ResourceKind::OutboundConnector,
                &[&n.outbound_incoming, &n.outbound_outgoing],
            )
            .await
        }
        "remove_groups" => remove_groups(ctx).await,
        "remove_filter_rules" => {
            remove_named(
                ctx,
                "TransportRule",
                ResourceKind::TransportRule,
                &[&n.rule_skip_spam, &n.rule_junk],
            )
            .await
        }
        "remove_inbound_connectors" => {
            remove_named(
                ctx,
                "InboundConnector",
                ResourceKind::InboundConnector,
                &[&n.inbound_incoming, &n.inbound_outgoing],
            )
            .await
        }
        "remove_spoof_pair" => remove_spoof_pair(ctx).await,
        "remove_allowed_ips" => remove_allowed_ips(ctx).await,
        "remove_role_assignments" => remove_role_assignments(ctx).await,
        "remove_service_principal" => remove_service_principal(ctx).await,
        "delete_token_secret" => {
            ctx.ms
                .tokens
                .vault()
                .schedule_deletion(ctx.tenant.tenant_id, 7)
                .await
                .map_err(crate::tokens::TokenError::from)?;
            Ok(Outcome::Done(Some(
                "the tenant's token secret is scheduled for deletion in 7 days".to_owned(),
            )))
        }
        other => Err(StepError::Failed(format!(
            "{other:?} is not a deprovisioning step"
        ))),
    }
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
async fn stop_reports(ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
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
    ctx: &Ctx<'_>,
    noun: &str,
    kind: ResourceKind,
    names: &[&String],
) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let (mut removed, mut absent) = (Vec::new(), Vec::new());
    for name in names {
        let ours = ctx.recorded(kind, name).await?.is_some();
        if !ours && !ctx.request.adopt_existing {
            continue;
        }
        match exchange
            .invoke(&Cmdlet::new(format!("Remove-{noun}")).param("Identity", name.as_str()))
            .await
        {
            Ok(_) => removed.push((*name).clone()),
            Err(err) if err.kind() == Some(Kind::NotFound) => absent.push((*name).clone()),
            Err(err) => return Err(err.into()),
        }
        ctx.forget(kind, name).await?;
    }
    Ok(Outcome::Done(summary(&removed, &absent)))
}

/// Deletes the virtual groups (recorded ids, or adopting, found by exact display name).
async fn remove_groups(ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let (mut removed, mut absent) = (Vec::new(), Vec::new());
    for name in [&ctx.names.incoming_group, &ctx.names.outgoing_group] {
        let mut ids: BTreeSet<String> = ctx
            .recorded(ResourceKind::Group, name)
            .await?
            .and_then(|r| r.external_id)
            .into_iter()
            .collect();
        if ctx.request.adopt_existing {
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
async fn remove_spoof_pair(ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
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
        None if ctx.request.adopt_existing => items
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
async fn remove_allowed_ips(ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let ours: Vec<String> = ctx
        .store
        .resources(ctx.tenant.tenant_id)
        .await?
        .into_iter()
        .filter(|r| r.kind == ResourceKind::AllowedIp)
        .map(|r| r.key)
        .collect();
    let candidates: BTreeSet<String> = if ctx.request.adopt_existing {
        ours.iter()
            .cloned()
            .chain(ctx.vendor.egress_ips.iter().cloned())
            .collect()
    } else {
        ours.iter().cloned().collect()
    };
    let get = Cmdlet::new("Get-HostedConnectionFilterPolicy").param("Identity", "Default");
    let policy = exchange
        .invoke(&get)
        .await?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    let present: BTreeSet<String> = policy["IPAllowList"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let (live, gone): (Vec<String>, Vec<String>) =
        candidates.into_iter().partition(|ip| present.contains(ip));
    if !live.is_empty() {
        let set = Cmdlet::new("Set-HostedConnectionFilterPolicy")
            .param("Identity", "Default")
            .param("IPAllowList", add_remove(&[], &live));
        exchange.invoke(&set).await?;
    }
    for ip in &ours {
        ctx.forget(ResourceKind::AllowedIp, ip).await?;
    }
    Ok(Outcome::Done(summary(&live, &gone)))
}

/// Deletes the directory role assignments we made.
async fn remove_role_assignments(ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let (mut removed, mut absent) = (Vec::new(), Vec::new());
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
                Err(err) => return Err(err.into()),
            }
        }
        ctx.forget(ResourceKind::RoleAssignment, &assignment.key).await?;
    }
    Ok(Outcome::Done(summary(&removed, &absent)))
}

/// Deletes the app's service principal: the last Microsoft call (it ends our access).
async fn remove_service_principal(ctx: &Ctx<'_>) -> Result<Outcome, StepError> {
    let resources = ctx.store.resources(ctx.tenant.tenant_id).await?;
    let Some(sp) = resources
        .into_iter()
        .find(|r| r.kind == ResourceKind::ServicePrincipal)
    else {
        return Ok(Outcome::Done(Some("no service principal recorded".to_owned())));
    };
    if let Some(id) = &sp.external_id {
        let graph = ctx.ms.graph(ctx.tenant).await?;
        match graph.delete(&format!("/servicePrincipals/{id}")).await {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(err.into()),
        }
    }
    ctx.forget(ResourceKind::ServicePrincipal, &sp.key).await?;
    Ok(Outcome::Done(Some(format!(
        "service principal of app {} removed",
        sp.key
    ))))
}
