//! SharePoint Online and OneDrive: their grants are proved by calling, not by reading a manifest.

use microsoft::{fields::text, graph::GraphError};
use model::vendor::ManagedNames;
use serde_json::Value;

use crate::{
    provisioning::ProvisionRequest,
    tasks::{Outcome, PlannedCall, StepContext, StepError},
};

fn missing_grant(err: GraphError, permission: &str, service: &str) -> StepError {
    if matches!(err.status(), Some(401 | 403)) {
        StepError::AdminAction(format!(
            "{service}: the app lacks {permission} ({err}); a Global Administrator must grant it with admin consent, then re-run provisioning"
        ))
    } else {
        err.into()
    }
}

/// Reads the root site.
pub async fn check_sharepoint(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let site: Value = graph
        .get("/sites/root?$select=id,webUrl")
        .await
        .map_err(|err| missing_grant(err, "Sites.Read.All", "SharePoint Online"))?;
    Ok(Outcome::Done(
        text(&site, "webUrl").map(|url| format!("root site {url} readable")),
    ))
}

/// Reads a user's drive.
pub async fn check_onedrive(ctx: &StepContext<'_>) -> Result<Outcome, StepError> {
    let graph = ctx.ms.graph(ctx.tenant).await?;
    let users: Value = graph.get("/users?$top=1&$select=id").await?;
    let Some(user) = users
        .get("value")
        .and_then(|v| v.get(0))
        .and_then(|u| text(u, "id"))
        .map(str::to_owned)
    else {
        return Ok(Outcome::Done(Some("no users to check a drive with".to_owned())));
    };
    match graph
        .get::<Value>(&format!("/users/{user}/drive?$select=id"))
        .await
    {
        Ok(_) => Ok(Outcome::Done(Some("a user's drive is readable".to_owned()))),
        // A user without a OneDrive licence has no drive; the grant itself was accepted.
        Err(err) if err.is_not_found() => Ok(Outcome::Done(Some(
            "the first user has no drive; grant accepted".to_owned(),
        ))),
        Err(err) => Err(missing_grant(err, "Files.Read.All", "OneDrive")),
    }
}

/// The calls of [`check_sharepoint`].
pub fn check_sharepoint_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    vec![PlannedCall::new(
        "graph",
        "GET /sites/root?$select=id,webUrl",
        None,
        false,
    )]
}

/// The calls of [`check_onedrive`].
pub fn check_onedrive_calls(_: &ProvisionRequest, _: &ManagedNames) -> Vec<PlannedCall> {
    vec![
        PlannedCall::new("graph", "GET /users?$top=1&$select=id", None, false),
        PlannedCall::new("graph", "GET /users/{id}/drive?$select=id", None, false),
    ]
}
