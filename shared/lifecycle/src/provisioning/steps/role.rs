//! The Exchange Administrator role for the app, and the check that Exchange answers.

use chrono::{Duration, Utc};
use microsoft::{
    exchange::{Cmdlet, ExchangeAdmin, ExchangeError, Kind},
    fields::text,
    identity::Resource,
};
use model::vendor::ManagedNames;
use state::store::ResourceKind;

use super::{roles, tenant};
use crate::{
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
    verify,
};

/// Key of the role assignment record.
pub const EXCHANGE_ROLE_KEY: &str = "exchange_administrator";

/// How long a new role may take to reach Exchange before the step gives up.
const ROLE_PROPAGATION: Duration = Duration::minutes(30);

/// How often a step waiting for the tenant's admin looks again.
const ADMIN_RECHECK: Duration = Duration::minutes(5);

/// Ensures the app's service principal holds Exchange Administrator: by default the tenant's
/// admin assigns it and the step waits, saying exactly what to do; a deployment that opted in
/// (`AppAssignsExchangeRole`) and whose grant holds `RoleManagement.ReadWrite.Directory`
/// assigns it itself.
pub async fn assign_exchange_role(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let sp = tenant::service_principal(ctx, &graph).await?;
    let sp_id = text(&sp, "id").unwrap_or_default().to_owned();
    if !ctx.ms.privileges.assign_exchange_role {
        return admin_assigns(ctx, &graph, &sp, &sp_id).await;
    }
    let id = match tenant::ensure_role(
        ctx,
        &graph,
        &sp_id,
        roles::EXCHANGE_ADMINISTRATOR,
        EXCHANGE_ROLE_KEY,
    )
    .await
    {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(tenant::replication_wait("the Exchange Administrator assignment")),
        // The optional permission is not granted: the assignment is the admin's, never a failure.
        Err(StepError::AdminAction(_)) => return admin_assigns(ctx, &graph, &sp, &sp_id).await,
        Err(err) => return Err(err),
    };
    let ours = ctx
        .recorded(ResourceKind::RoleAssignment, EXCHANGE_ROLE_KEY)
        .await?
        .is_some();
    if ours {
        // The role travels in the token: only a token minted from now on carries it. Also on a
        // retry: an earlier attempt may have assigned it and lost the answer (or the process).
        ctx.ms.tokens.invalidate(ctx.tenant.tenant_id, Resource::Exchange);
    }
    let who = if ours {
        "assigned by m365-inline"
    } else {
        "already assigned by the tenant's admin"
    };
    Ok(Outcome::Done(Some(format!(
        "Exchange Administrator {who} ({id})"
    ))))
}

/// The tenant's admin assigns the role: the step waits until Entra lists the assignment and
/// Exchange answers with it (a token minted from then on carries it), saying what to do.
async fn admin_assigns(
    ctx: &StepContext<'_>,
    graph: &microsoft::graph::GraphClient,
    sp: &serde_json::Value,
    sp_id: &str,
) -> Result<Outcome, StepError> {
    let name = text(sp, "displayName").unwrap_or("the vendor's app");
    let waiting_for_admin = Outcome::after(
        ADMIN_RECHECK,
        format!(
            "waiting until the tenant's admin assigns the Exchange Administrator role to the app \"{name}\" \
             (service principal {sp_id}): Microsoft Entra admin center > Roles & admins > Exchange Administrator > \
             Add assignments > select \"{name}\"; provisioning goes on by itself once it is assigned"
        ),
    );
    // `None`: the listing is refused (no RoleManagement.Read.Directory); Exchange's answer tells.
    let listed = match tenant::role_assignment(graph, sp_id, roles::EXCHANGE_ADMINISTRATOR).await {
        Ok(Some(id)) => Some(id),
        Ok(None) => return Ok(waiting_for_admin),
        Err(err) if err.is_forbidden() => None,
        Err(err) => return Err(err.into()),
    };
    // A token minted before the assignment never carries the role.
    ctx.ms.tokens.invalidate(ctx.tenant.tenant_id, Resource::Exchange);
    let exchange = ctx.ms.exchange(ctx.tenant).await?;
    match (exchange.invoke(&Cmdlet::new("Get-AcceptedDomain")).await, listed) {
        (Ok(_), Some(id)) => Ok(Outcome::Done(Some(format!(
            "Exchange Administrator assigned by the tenant's admin ({id})"
        )))),
        (Ok(_), None) => Ok(Outcome::Done(Some(
            "Exchange Administrator assigned by the tenant's admin".to_owned(),
        ))),
        (Err(err), Some(id)) if err.kind() == Some(Kind::RoleMissing) => Ok(Outcome::after(
            ADMIN_RECHECK,
            format!(
                "Exchange Administrator assigned by the tenant's admin ({id}); waiting for it to reach Exchange"
            ),
        )),
        (Err(err), None) if err.kind() == Some(Kind::RoleMissing) => Ok(waiting_for_admin),
        (Err(err), _) => Err(err.into()),
    }
}

/// Exchange answers with the role; lists accepted domains and other vendors' mail-flow objects.
pub async fn check_exchange(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let mut exchange = ctx.ms.exchange(ctx.tenant).await?;
    let mut fresh_token = false;
    let domains = loop {
        match exchange.invoke(&Cmdlet::new("Get-AcceptedDomain")).await {
            Ok(domains) => break domains,
            // The refused token may predate the role (ours, or the admin's): one new token.
            Err(err) if err.kind() == Some(Kind::RoleMissing) && !fresh_token => {
                ctx.ms.tokens.invalidate(ctx.tenant.tenant_id, Resource::Exchange);
                exchange = ctx.ms.exchange(ctx.tenant).await?;
                fresh_token = true;
            }
            Err(err) if err.kind() == Some(Kind::RoleMissing) => return role_pending(ctx, &err).await,
            Err(err) => return Err(err.into()),
        }
    };
    let foreign = verify::mail_routing(&exchange, ctx.names).await?;
    let accepted: Vec<&str> = domains.iter().filter_map(|d| text(d, "DomainName")).collect();
    let mut note = format!("accepted domains: {}", accepted.join(", "));
    if !foreign.is_empty() {
        note.push_str(&format!(
            "; other mail routing already present (check for conflicts): {}",
            foreign.join(", ")
        ));
    }
    Ok(Outcome::Done(Some(note)))
}

/// Exchange does not see the role yet: wait while it may still propagate, then ask the admin.
async fn role_pending(ctx: &StepContext<'_>, err: &ExchangeError) -> Result<Outcome, StepError> {
    let assigned_at = ctx
        .recorded(ResourceKind::RoleAssignment, EXCHANGE_ROLE_KEY)
        .await?
        .map(|r| r.recorded_at);
    match assigned_at {
        Some(at) if Utc::now() - at < ROLE_PROPAGATION => {
            // A token minted before the role was assigned never carries it.
            ctx.ms.tokens.invalidate(ctx.tenant.tenant_id, Resource::Exchange);
            Ok(Outcome::recheck(
                "the Exchange Administrator role is still reaching Exchange",
            ))
        }
        Some(_) => Err(StepError::AdminAction(format!(
            "Exchange refuses the app ({err}): assign the Exchange Administrator role to the app in Entra ID, then re-run provisioning"
        ))),
        // The admin's assignment: still reaching Exchange, or gone again. Theirs to fix; waited for.
        None => Ok(Outcome::after(
            ADMIN_RECHECK,
            "waiting until Exchange accepts the app: the tenant's admin assigns it the Exchange Administrator \
             role (Microsoft Entra admin center > Roles & admins > Exchange Administrator > Add assignments), \
             or a new assignment reaches Exchange",
        )),
    }
}

/// The calls of [`assign_exchange_role`].
pub fn assign_exchange_role_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    vec![
        PlannedCall::new(
            "graph",
            "GET /roleManagement/directory/roleAssignments?$filter=principalId eq '{sp}'",
            None,
            false,
        ),
        PlannedCall::new(
            "graph",
            "POST /roleManagement/directory/roleAssignments (Exchange Administrator)",
            None,
            true,
        ),
    ]
}

/// The calls of [`check_exchange`].
pub fn check_exchange_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    [
        "Get-AcceptedDomain",
        "Get-InboundConnector",
        "Get-OutboundConnector",
        "Get-TransportRule",
    ]
    .into_iter()
    .map(|cmdlet| PlannedCall::new("exchange", cmdlet, None, false))
    .collect()
}
