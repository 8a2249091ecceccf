//! The two Microsoft 365 "virtual groups": created through Graph (welcome mail off and hidden from
//! Outlook, which can only be set at creation), filled with the protected users, and awaited
//! until Exchange sees them (transport rules can only name groups Exchange knows).

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin, Kind},
    fields::text,
    graph::{BatchRequest, GraphClient, MAX_BATCH, user_by_principal_name, users_by_address},
};
use model::vendor::ManagedNames;
use serde_json::{Value, json};
use state::store::ResourceKind;

use crate::{
    calls::CallError,
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
};

/// How long new groups may take to reach Exchange before the step fails (Graph documents up to
/// 45 minutes for some changes to unified groups).
const PROPAGATION_LIMIT: Duration = Duration::minutes(60);

fn groups<'a>(ctx: &'a StepContext<'_>) -> [(&'a str, &'a str); 2] {
    let n = ctx.names;
    [
        (&n.incoming_group, &n.incoming_group_nickname),
        (&n.outgoing_group, &n.outgoing_group_nickname),
    ]
}

/// The group with `nickname`, if it exists.
async fn find_group(graph: &GraphClient, nickname: &str) -> Result<Option<Value>, StepError> {
    let found: Value = graph
        .get(&format!(
            "/groups?$filter=mailNickname eq '{nickname}'&$select=id,displayName,mail,mailNickname"
        ))
        .await?;
    Ok(found.get("value").and_then(|v| v.get(0)).cloned())
}

/// Creates the incoming and outgoing groups where missing; records both.
pub async fn create_groups(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let mut created = Vec::new();
    for (name, nickname) in groups(ctx) {
        let group = match find_group(&graph, nickname).await? {
            Some(group) => group,
            None => {
                let body = json!({
                    "displayName": name,
                    "mailNickname": nickname,
                    "description": "Managed by m365-inline: mailboxes whose mail is scanned inline.",
                    "groupTypes": ["Unified"],
                    "mailEnabled": true,
                    "securityEnabled": false,
                    "visibility": "Private",
                    "resourceBehaviorOptions": ["WelcomeEmailDisabled", "HideGroupInOutlook"]
                });
                // Once only: after a lost answer the step runs again and finds the group.
                match graph.post_once::<Value>("/groups", &body).await {
                    Ok(group) => {
                        created.push(name);
                        group
                    }
                    // Made by an earlier run whose answer was lost, and not listed yet.
                    Err(err) if err.already_exists() => {
                        return Ok(Outcome::recheck(format!(
                            "waiting for Graph to list the group {name}, which exists"
                        )));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        };
        let id = text(&group, "id").unwrap_or_default();
        let mail = text(&group, "mail").unwrap_or_default();
        ctx.record(
            ResourceKind::Group,
            name,
            Some(id),
            &[("mail", mail), ("nickname", nickname)],
        )
        .await?;
    }
    Ok(Outcome::Done(
        (!created.is_empty()).then(|| format!("created {}", created.join(", "))),
    ))
}

/// How long Graph may answer "does not exist" for a group we created before the step gives up:
/// Entra is eventually consistent, and a new group can be unknown to the next request.
const REPLICATION_LIMIT: Duration = Duration::minutes(10);

/// Makes both virtual groups hold exactly the tenant's targeted users (and the members of
/// targeted groups): adds and removes in `$batch`es of at most 20; "already a member" and "not a
/// member" count as done; a group Graph does not know yet, right after its creation, is waited
/// for.
pub async fn set_group_members(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let targets = &ctx.tenant.policy_targets;
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let mut wanted: BTreeSet<String> = resolve_users(&graph, targets.users.iter().map(String::as_str))
        .await?
        .ids()
        .map_err(StepError::AdminAction)?;
    for group in &targets.groups {
        let path = format!("/groups/{group}/members/microsoft.graph.user?$select=id&$top=999");
        for member in graph.pages::<Value>(&path).collect_all().await? {
            wanted.extend(text(&member, "id").map(str::to_owned));
        }
    }
    let directory_objects = format!("{}/v1.0/directoryObjects", ctx.tenant.cloud.endpoints().graph);
    let (mut added, mut removed, mut sent) = (0, 0, 0);
    let mut unseen = Vec::new();
    for name in [&ctx.names.incoming_group, &ctx.names.outgoing_group] {
        let record = ctx.recorded(ResourceKind::Group, name).await?;
        let fresh = record
            .as_ref()
            .is_some_and(|r| Utc::now() - r.recorded_at < REPLICATION_LIMIT);
        let group = record.and_then(|r| r.external_id);
        let group = group.ok_or_else(|| StepError::Failed(format!("group {name} is not recorded")))?;
        let path = format!("/groups/{group}/members?$select=id&$top=999");
        let present: BTreeSet<String> = match graph.pages::<Value>(&path).collect_all().await {
            Ok(members) => members
                .iter()
                .filter_map(|m| text(m, "id").map(str::to_owned))
                .collect(),
            Err(err) if err.is_not_found() && fresh => {
                unseen.push(name.as_str());
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        let adds = wanted.difference(&present).map(|user| {
            BatchRequest::new(
                format!("add-{user}"),
                "POST",
                format!("/groups/{group}/members/$ref"),
            )
            .with_body(json!({"@odata.id": format!("{directory_objects}/{user}")}))
        });
        let removes = present.difference(&wanted).map(|user| {
            BatchRequest::new(
                format!("remove-{user}"),
                "DELETE",
                format!("/groups/{group}/members/{user}/$ref"),
            )
        });
        let requests: Vec<BatchRequest> = adds.chain(removes).collect();
        for chunk in requests.chunks(MAX_BATCH) {
            // Thousands of changes take many $batches: stop short of the deadline, and the next
            // run goes on from the membership Graph then lists.
            if sent > 0 && ctx.deadline.is_near() {
                return Ok(Outcome::after(
                    Duration::zero(),
                    format!(
                        "{added} membership(s) added and {removed} removed so far; the rest in the next run, before the deadline"
                    ),
                ));
            }
            sent += chunk.len();
            for (request, answer) in chunk.iter().zip(graph.batch(chunk).await?) {
                let adding = request.method == "POST";
                match answer.error(&request.method, &request.url) {
                    None if adding => added += 1,
                    None => removed += 1,
                    // "One or more added object references already exist": someone was quicker.
                    Some(err) if adding && err.already_exists() => {}
                    // Not a member any more: the removal is done.
                    Some(err) if !adding && err.is_not_found() => {}
                    // The new group is not known everywhere yet.
                    Some(err) if adding && err.is_not_found() && fresh => {
                        if !unseen.contains(&name.as_str()) {
                            unseen.push(name.as_str());
                        }
                    }
                    Some(err) => return Err(err.into()),
                }
            }
        }
    }
    if !unseen.is_empty() {
        return Ok(Outcome::recheck(format!(
            "waiting for Graph to know the new group(s) {}",
            unseen.join(", ")
        )));
    }
    Ok(Outcome::Done(Some(format!(
        "{} protected user(s); {added} membership(s) added, {removed} removed",
        wanted.len()
    ))))
}

/// Target users as the directory knows them.
#[derive(Debug, Default)]
pub struct ResolvedUsers {
    /// The object ids found.
    pub ids: BTreeSet<String>,
    /// Names found neither by principal name nor by mail address.
    pub missing: Vec<String>,
    /// Addresses that several users share.
    pub ambiguous: Vec<String>,
}

impl ResolvedUsers {
    /// The ids, or what the admin must fix (every missing and ambiguous name).
    pub fn ids(self) -> Result<BTreeSet<String>, String> {
        let mut problems = Vec::new();
        if !self.missing.is_empty() {
            problems.push(format!(
                "policy target user(s) not found in the tenant, by principal name or mail address: {}",
                self.missing.join(", ")
            ));
        }
        if !self.ambiguous.is_empty() {
            problems.push(format!(
                "policy target address(es) shared by several users, give their principal names: {}",
                self.ambiguous.join(", ")
            ));
        }
        if problems.is_empty() {
            Ok(self.ids)
        } else {
            Err(problems.join("; "))
        }
    }
}

/// The object ids of `upns`, read with `$batch`: by principal name, and a name that is no
/// principal name by the mail address it may be (a primary SMTP address that differs from the
/// UPN, or an alias). A user found neither way is the admin's to fix.
pub async fn resolve_users<'u>(
    graph: &GraphClient,
    upns: impl Iterator<Item = &'u str>,
) -> Result<ResolvedUsers, CallError> {
    let upns: Vec<&str> = upns.collect();
    let by_name: Vec<BatchRequest> = upns
        .iter()
        .enumerate()
        .map(|(i, upn)| {
            BatchRequest::new(
                i.to_string(),
                "GET",
                format!("{}?$select=id", user_by_principal_name(upn)),
            )
        })
        .collect();
    let mut resolved = ResolvedUsers::default();
    let mut unnamed = Vec::new();
    for ((request, answer), upn) in by_name.iter().zip(graph.batch(&by_name).await?).zip(&upns) {
        match answer.error("GET", &request.url) {
            None => resolved.ids.extend(
                answer
                    .body
                    .as_ref()
                    .and_then(|b| text(b, "id"))
                    .map(str::to_owned),
            ),
            Some(err) if err.is_not_found() => unnamed.push(*upn),
            Some(err) => return Err(err.into()),
        }
    }
    let by_address: Vec<BatchRequest> = unnamed
        .iter()
        .enumerate()
        .map(|(i, address)| BatchRequest::new(i.to_string(), "GET", users_by_address(address)))
        .collect();
    for ((request, answer), address) in by_address
        .iter()
        .zip(graph.batch(&by_address).await?)
        .zip(&unnamed)
    {
        if let Some(err) = answer.error("GET", &request.url) {
            return Err(err.into());
        }
        let found: Vec<String> = answer
            .values()
            .filter_map(|u| text(u, "id").map(str::to_owned))
            .collect();
        match found.as_slice() {
            [id] => {
                resolved.ids.insert(id.clone());
            }
            [] => resolved.missing.push((*address).to_owned()),
            _ => resolved.ambiguous.push((*address).to_owned()),
        }
    }
    Ok(resolved)
}

/// Waits until Exchange sees both groups.
pub async fn wait_for_groups(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    let mut missing = Vec::new();
    for (name, nickname) in groups(ctx) {
        match exchange
            .invoke(&Cmdlet::new("Get-UnifiedGroup").param("Identity", nickname))
            .await
        {
            Ok(found) if !found.is_empty() => {}
            Ok(_) => missing.push(name),
            Err(err) if err.kind() == Some(Kind::NotFound) => missing.push(name),
            Err(err) => return Err(err.into()),
        }
    }
    if missing.is_empty() {
        return Ok(Outcome::Done(None));
    }
    let created = ctx
        .recorded(ResourceKind::Group, &ctx.names.incoming_group)
        .await?
        .map(|r| r.recorded_at);
    if created.is_some_and(|at| Utc::now() - at > PROPAGATION_LIMIT) {
        return Err(StepError::Failed(format!(
            "Exchange still does not see {} after an hour",
            missing.join(", ")
        )));
    }
    Ok(Outcome::recheck(format!(
        "waiting for Exchange to see {}",
        missing.join(", ")
    )))
}

/// The calls of [`create_groups`].
pub fn create_groups_calls(_: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedCall> {
    PlannedCall::look_then_write(
        "graph",
        "GET /groups?$filter=mailNickname eq '{nickname}'",
        "POST /groups (Unified, WelcomeEmailDisabled, HideGroupInOutlook)",
        &[&names.incoming_group, &names.outgoing_group],
    )
}

/// The calls of [`set_group_members`].
pub fn set_group_members_calls(_: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedCall> {
    let add = "POST /$batch POST /groups/{id}/members/$ref";
    vec![
        PlannedCall::new("graph", "POST /$batch GET /users/{upn}?$select=id", None, false),
        PlannedCall::new("graph", add, Some(&names.incoming_group), true),
        PlannedCall::new("graph", add, Some(&names.outgoing_group), true),
    ]
}

/// The calls of [`wait_for_groups`].
pub fn wait_for_groups_calls(_: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedCall> {
    [&names.incoming_group, &names.outgoing_group]
        .into_iter()
        .map(|group| PlannedCall::new("exchange", "Get-UnifiedGroup", Some(group), false))
        .collect()
}
