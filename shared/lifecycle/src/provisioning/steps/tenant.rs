//! Tenant-wide steps: preflight and the (legacy, gated) delegate promotion.

use chrono::Utc;
use microsoft::{
    fields::text,
    graph::{GraphClient, user_by_principal_name},
};
use model::{permissions::Permission, vendor::ManagedNames};
use serde_json::{Value, json};
use state::store::{AuditRecord, ResourceKind};

use super::roles;
use crate::{
    calls::CallError,
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
    verify,
};

/// Tokens for both resources, the organization, the app's service principal and its grants.
pub async fn preflight(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    // Minting the Exchange token proves the Exchange grant's consent; using it waits for the role.
    ctx.ms.exchange(ctx.tenant).await?;
    let organization: Value = graph
        .get("/organization?$select=id,displayName,verifiedDomains")
        .await?;
    let org = organization
        .get("value")
        .and_then(|v| v.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    if text(&org, "id").is_some_and(|id| !id.eq_ignore_ascii_case(&ctx.tenant.tenant_id.to_string())) {
        return Err(StepError::Failed(
            "the token's organization is not the requested tenant".to_owned(),
        ));
    }
    let sp = service_principal(ctx, &graph).await?;
    let sp_id = text(&sp, "id").unwrap_or_default().to_owned();
    ctx.record(
        ResourceKind::ServicePrincipal,
        ctx.ms.tokens.app(ctx.tenant.cloud).await?.client_id.as_str(),
        Some(&sp_id),
        &[],
    )
    .await?;
    let grants: Value = graph
        .get(&format!(
            "/servicePrincipals/{sp_id}/appRoleAssignments?$select=appRoleId,resourceId"
        ))
        .await?;
    let granted: Vec<&str> = grants["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| text(g, "appRoleId"))
        .collect();
    // The grant against the permission manifest, as Verify checks it: the default set is
    // required (a service's own grant is proven by that service's step), opt-ins are not.
    let missing = names(verify::lacking(&verify::required(&[]), &granted));
    if !missing.is_empty() {
        return Err(StepError::Reconsent(format!(
            "the tenant's grant lacks {}: its admin must grant admin consent to the app again (the app registration requests them)",
            missing.join(", ")
        )));
    }
    let opt_ins: Vec<&Permission> = model::permissions::all().iter().filter(|p| !p.default).collect();
    let optional = names(verify::lacking(&opt_ins, &granted));
    let name = text(&org, "displayName").unwrap_or("the tenant");
    let mut note = format!(
        "{name}: app consented with {} application permission(s), every one the manifest requires",
        granted.len()
    );
    if !optional.is_empty() {
        note.push_str(&format!(
            "; without the optional {} (the tenant's admin does that work)",
            optional.join(", ")
        ));
    }
    Ok(Outcome::Done(Some(note)))
}

/// The permissions' names.
fn names(permissions: Vec<&'static Permission>) -> Vec<&'static str> {
    permissions.iter().map(|p| p.name.as_str()).collect()
}

/// The app's service principal in the tenant; missing means the admin has not consented.
pub async fn service_principal(ctx: &StepContext<'_>, graph: &GraphClient) -> Result<Value, StepError> {
    let app = ctx.ms.tokens.app(ctx.tenant.cloud).await?;
    let path = format!(
        "/servicePrincipals(appId='{}')?$select=id,appId,displayName",
        app.client_id
    );
    match graph.get::<Value>(&path).await {
        Ok(sp) => Ok(sp),
        Err(err) if err.is_not_found() => Err(StepError::Reconsent(format!(
            "the app {} is not consented in this tenant: a Global Administrator must grant admin consent, then re-run provisioning",
            app.client_id
        ))),
        Err(err) => Err(err.into()),
    }
}

/// Assigns Global Administrator to each named delegate (legacy option, off unless the deployment
/// allows it): every delegate must be in one of the tenant's verified domains, checked before
/// any assignment, and each assignment is written to the durable audit trail with who asked.
pub async fn promote_delegates(
    ctx: &StepContext<'_>,
    request: &ProvisionRequest,
) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let verified = verified_domains(&graph).await?;
    let outside: Vec<&str> = request
        .options
        .delegates
        .iter()
        .map(|upn| upn.as_str())
        .filter(|upn| {
            let domain = upn.rsplit('@').next().unwrap_or_default().to_ascii_lowercase();
            !verified.contains(&domain)
        })
        .collect();
    if !outside.is_empty() {
        return Err(StepError::Failed(format!(
            "delegate(s) {} are not in a verified domain of the tenant ({}); nobody was promoted",
            outside.join(", "),
            verified.join(", ")
        )));
    }
    let requested_by = request.options.requested_by.clone().unwrap_or_default();
    let mut promoted = Vec::new();
    for upn in &request.options.delegates {
        let user: Value = graph
            .get(&format!("{}?$select=id", user_by_principal_name(upn.as_str())))
            .await
            .map_err(|err| {
                if err.is_not_found() {
                    StepError::AdminAction(format!(
                        "delegate account {} does not exist in the tenant",
                        upn.as_str()
                    ))
                } else {
                    err.into()
                }
            })?;
        let user_id = text(&user, "id").unwrap_or_default();
        let key = format!("global_administrator:{}", upn.as_str());
        let Some(assignment) = ensure_role(ctx, &graph, user_id, roles::GLOBAL_ADMINISTRATOR, &key).await?
        else {
            return Ok(replication_wait("the Global Administrator assignment"));
        };
        if let Some(task_id) = ctx.task {
            let entry = AuditRecord {
                tenant_id: ctx.tenant.tenant_id,
                action: "global_administrator_assigned".to_owned(),
                subject: upn.as_str().to_owned(),
                task_id,
                requested_by: requested_by.clone(),
                reference: assignment.clone(),
                at: Utc::now(),
            };
            ctx.store.put(&entry).await.map_err(CallError::from)?;
        }
        tracing::warn!(
            audit = true,
            tenant = %ctx.tenant.tenant_id,
            delegate = upn.as_str(),
            requested_by = requested_by.as_str(),
            assignment = assignment.as_str(),
            "Global Administrator assigned to a delegate account (promote_delegates_to_global_admin)"
        );
        promoted.push(upn.as_str().to_owned());
    }
    Ok(Outcome::Done(Some(format!(
        "Global Administrator assigned to {} (asked by {requested_by}; audited)",
        promoted.join(", ")
    ))))
}

/// Ensures `principal` holds `role`, recording the assignment as ours only if we make it, and
/// answers its id; `None` when Entra says it exists but does not list it yet (an assignment an
/// earlier run made, still replicating): the step waits. The intent is recorded before the
/// assignment, so a crash in between cannot orphan it.
pub async fn ensure_role(
    ctx: &StepContext<'_>,
    graph: &GraphClient,
    principal: &str,
    role: &str,
    key: &str,
) -> Result<Option<String>, StepError> {
    let no_permission = |err: microsoft::graph::GraphError| {
        if err.is_forbidden() {
            StepError::AdminAction(format!(
                "the app may not manage directory roles ({err}): assign the role {role} to principal {principal} in \
                 Entra ID (Roles and administrators), or grant RoleManagement.ReadWrite.Directory, then re-run provisioning"
            ))
        } else {
            err.into()
        }
    };
    let found = role_assignment(graph, principal, role)
        .await
        .map_err(no_permission)?;
    let ours = ctx.recorded(ResourceKind::RoleAssignment, key).await?;
    match (found, ours) {
        (Some(id), Some(_)) => {
            record_assignment(ctx, key, Some(&id), role, principal).await?;
            Ok(Some(id))
        }
        // Assigned by someone else (the admin by hand): used, never recorded as ours.
        (Some(id), None) => Ok(Some(id)),
        (None, ours) => {
            record_assignment(ctx, key, None, role, principal).await?;
            let body = json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"});
            let created = graph
                .post_once::<Value>("/roleManagement/directory/roleAssignments", &body)
                .await;
            // Made by an earlier run of ours (its intent is recorded) and not listed yet.
            if let Err(err) = &created
                && err.already_exists()
                && ours.is_some()
            {
                return Ok(None);
            }
            // The intent stays only if the assignment may have been made (an unknown outcome).
            if let Err(err) = &created
                && err.status().is_some_and(|s| (400..500).contains(&s) && s != 429)
            {
                ctx.forget(ResourceKind::RoleAssignment, key).await?;
            }
            let created: Value = created.map_err(no_permission)?;
            let id = text(&created, "id").unwrap_or_default().to_owned();
            record_assignment(ctx, key, Some(&id), role, principal).await?;
            Ok(Some(id))
        }
    }
}

/// The id of `principal`'s assignment of `role`, if Entra lists one.
pub async fn role_assignment(
    graph: &GraphClient,
    principal: &str,
    role: &str,
) -> Result<Option<String>, microsoft::graph::GraphError> {
    let filter = format!(
        "/roleManagement/directory/roleAssignments?$filter=principalId eq '{principal}' and roleDefinitionId eq '{role}'&$select=id"
    );
    let existing: Value = graph.get(&filter).await?;
    Ok(existing["value"][0]["id"].as_str().map(str::to_owned))
}

/// The tenant's verified domains, lower-case (a delegate or a targeted domain must be one).
pub async fn verified_domains(graph: &GraphClient) -> Result<Vec<String>, microsoft::graph::GraphError> {
    let listed: Value = graph.get("/domains?$select=id,isVerified").await?;
    Ok(listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["isVerified"] == Value::Bool(true))
        .filter_map(|d| d["id"].as_str().map(str::to_ascii_lowercase))
        .collect())
}

/// Records the role assignment `key` as ours (`id` unknown while only the intent is recorded).
async fn record_assignment(
    ctx: &StepContext<'_>,
    key: &str,
    id: Option<&str>,
    role: &str,
    principal: &str,
) -> Result<(), StepError> {
    let details = [("role", role), ("principal", principal)];
    ctx.record(ResourceKind::RoleAssignment, key, id, &details).await
}

/// The wait for an assignment Entra has made but does not list yet.
pub fn replication_wait(what: &str) -> Outcome {
    Outcome::recheck(format!("waiting for Entra ID to list {what}"))
}

/// The calls of [`preflight`].
pub fn preflight_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    let token = "POST /{tenant}/oauth2/v2.0/token scope=";
    vec![
        PlannedCall::new(
            "token",
            &format!("{token}https://graph.microsoft.com/.default"),
            None,
            false,
        ),
        PlannedCall::new(
            "token",
            &format!("{token}https://outlook.office365.com/.default"),
            None,
            false,
        ),
        PlannedCall::new(
            "graph",
            "GET /organization?$select=id,displayName,verifiedDomains",
            None,
            false,
        ),
        PlannedCall::new(
            "graph",
            "GET /servicePrincipals(appId='{client_id}')?$select=id,appId,displayName",
            None,
            false,
        ),
        PlannedCall::new(
            "graph",
            "GET /servicePrincipals/{id}/appRoleAssignments?$select=appRoleId,resourceId",
            None,
            false,
        ),
    ]
}

/// The calls of [`promote_delegates`].
pub fn promote_delegates_calls(request: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    let assign = "POST /roleManagement/directory/roleAssignments (Global Administrator)";
    let domains = PlannedCall::new("graph", "GET /domains?$select=id,isVerified", None, false);
    std::iter::once(domains)
        .chain(
            request
                .options
                .delegates
                .iter()
                .map(|upn| PlannedCall::new("graph", assign, Some(upn.as_str()), true)),
        )
        .collect()
}
