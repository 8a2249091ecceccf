//! `servicePrincipals`, `servicePrincipals(appId='...')`, their `appRoleAssignments`, and
//! `roleManagement/directory/roleAssignments`.

use m365_sim_model::{
    catalog,
    clock::graph_time,
    tenant::{RoleAssignment, ServicePrincipal, Tenant},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, GraphReply, GraphRequest, bad_request, directory_bad_request, error, not_found, odata};

fn sp_json(t: &Tenant, s: &ServicePrincipal) -> serde_json::Map<String, Value> {
    let roles: Vec<Value> = if s.app_id == catalog::GRAPH_APP_ID || s.app_id == catalog::EXCHANGE_APP_ID {
        let resource = if s.app_id == catalog::GRAPH_APP_ID {
            catalog::Resource::Graph
        } else {
            catalog::Resource::Exchange
        };
        catalog::APP_ROLES
            .iter()
            .filter(|r| r.2 == resource)
            .map(|(name, id, _)| {
                json!({"allowedMemberTypes": ["Application"], "id": id, "isEnabled": true, "value": name, "displayName": name, "description": name, "origin": "Application"})
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("deletedDateTime".into(), Value::Null);
    m.insert("accountEnabled".into(), json!(true));
    m.insert("appId".into(), json!(s.app_id));
    m.insert("appDisplayName".into(), json!(s.display_name));
    m.insert("displayName".into(), json!(s.display_name));
    m.insert(
        "appOwnerOrganizationId".into(),
        json!(s.app_owner_organization_id),
    );
    m.insert("servicePrincipalType".into(), json!("Application"));
    m.insert("signInAudience".into(), json!("AzureADMultipleOrgs"));
    m.insert("appRoles".into(), json!(roles));
    m.insert("servicePrincipalNames".into(), json!([s.app_id]));
    m.insert("tags".into(), json!([]));
    let _ = t;
    m
}

/// Finds a service principal by object id or by the `servicePrincipals(appId='...')` key.
fn find_sp<'a>(t: &'a Tenant, key: &str) -> Option<&'a ServicePrincipal> {
    if let Some(inner) = key
        .strip_prefix("servicePrincipals(")
        .and_then(|k| k.strip_suffix(')'))
    {
        let app = inner.strip_prefix("appId=")?.trim_matches('\'');
        return t
            .service_principals
            .iter()
            .find(|s| s.app_id.eq_ignore_ascii_case(app));
    }
    let id = Uuid::parse_str(key).ok()?;
    t.service_principals.iter().find(|s| s.id == id)
}

/// `GET /servicePrincipals` (supports `$filter=appId eq '...'`).
pub fn list_service_principals(t: &Tenant, req: &GraphRequest) -> GraphReply {
    let filter = or_reply!(odata::filter(&req.query));
    let value: Vec<Value> = t
        .service_principals
        .iter()
        .map(|s| sp_json(t, s))
        .filter(|m| odata::matches_object(&filter, m))
        .map(Value::Object)
        .collect();
    GraphReply::ok(
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": value}),
    )
}

/// `GET /servicePrincipals/{id}` or `GET /servicePrincipals(appId='...')`.
pub fn service_principal(t: &Tenant, _req: &GraphRequest, key: &str) -> GraphReply {
    match find_sp(t, key) {
        Some(s) => {
            let mut m = sp_json(t, s);
            m.insert(
                "@odata.context".into(),
                json!("https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity"),
            );
            GraphReply::ok(Value::Object(m))
        }
        None => not_found(key.trim_start_matches("servicePrincipals(").trim_end_matches(')')),
    }
}

/// `GET /servicePrincipals/{id}/appRoleAssignments`.
pub fn app_role_assignments(t: &Tenant, key: &str) -> GraphReply {
    let Some(s) = find_sp(t, key) else {
        return not_found(key);
    };
    let value: Vec<Value> = t
        .app_role_assignments
        .iter()
        .filter(|a| a.principal_id == s.id)
        .map(|a| {
            let resource = t.service_principals.iter().find(|r| r.id == a.resource_id);
            json!({
                "id": a.id,
                "deletedDateTime": null,
                "appRoleId": a.app_role_id,
                "createdDateTime": graph_time(a.created_at),
                "principalDisplayName": s.display_name,
                "principalId": a.principal_id,
                "principalType": "ServicePrincipal",
                "resourceDisplayName": resource.map(|r| r.display_name.clone()),
                "resourceId": a.resource_id,
            })
        })
        .collect();
    GraphReply::ok(json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('{}')/appRoleAssignments", s.id),
        "value": value,
    }))
}

fn ra_json(r: &RoleAssignment) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("principalId".into(), json!(r.principal_id));
    m.insert("roleDefinitionId".into(), json!(r.role_definition_id));
    m.insert("directoryScopeId".into(), json!(r.directory_scope_id));
    m
}

/// `GET /roleManagement/directory/roleAssignments` (supports `$filter` on principalId / roleDefinitionId).
pub fn list_role_assignments(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest) -> GraphReply {
    let filter = or_reply!(odata::filter(&req.query));
    let value: Vec<Value> = t
        .role_assignments
        .iter()
        .filter(|r| !t.replicating(r.created_at, ctx.now))
        .map(ra_json)
        .filter(|m| odata::matches_object(&filter, m))
        .map(Value::Object)
        .collect();
    GraphReply::ok(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments",
        "value": value,
    }))
}

/// `GET /roleManagement/directory/roleAssignments/{id}`.
pub fn get_role_assignment(t: &Tenant, id: &str) -> GraphReply {
    match t.role_assignments.iter().find(|r| r.id == id) {
        Some(r) => {
            let mut m = ra_json(r);
            m.insert(
                "@odata.context".into(),
                json!("https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity"),
            );
            GraphReply::ok(Value::Object(m))
        }
        None => not_found(id),
    }
}

/// `POST /roleManagement/directory/roleAssignments` `{principalId, roleDefinitionId, directoryScopeId}`.
/// Tokens minted afterwards carry the role in `wids`; tokens minted before do not.
pub fn create_role_assignment(ctx: &Ctx<'_>, t: &mut Tenant, req: &GraphRequest) -> GraphReply {
    let Some(b) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    // rbacapplication-post-roleassignments: roleDefinitionId and principalId are required, and
    // "either directoryScopeId or appScopeId"; nothing else is a property of the type.
    const PROPERTIES: [&str; 5] = [
        "@odata.type",
        "principalId",
        "roleDefinitionId",
        "directoryScopeId",
        "appScopeId",
    ];
    if let Some(unknown) = b.keys().find(|k| !PROPERTIES.contains(&k.as_str())) {
        return bad_request(format!(
            "Property '{unknown}' does not exist on type 'microsoft.graph.unifiedRoleAssignment'. Make sure to only use property names that are defined by the type or mark the type as open type."
        ));
    }
    let field = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(principal), Some(role)) = (field("principalId"), field("roleDefinitionId")) else {
        return directory_bad_request("principalId and roleDefinitionId are required.");
    };
    let Some(scope) = field("directoryScopeId").or_else(|| field("appScopeId")) else {
        return directory_bad_request("Either directoryScopeId or appScopeId is required.");
    };
    let Ok(pid) = Uuid::parse_str(&principal) else {
        return directory_bad_request(format!("Invalid object identifier '{principal}'."));
    };
    if t.object_kind(pid).is_none() {
        return not_found(&principal);
    }
    if Uuid::parse_str(&role).is_err() {
        return error(
            404,
            "Request_ResourceNotFound",
            format!("Role definition '{role}' was not found."),
        );
    }
    if t.role_assignments.iter().any(|r| {
        r.principal_id == pid
            && r.role_definition_id.eq_ignore_ascii_case(&role)
            && r.directory_scope_id == scope
    }) {
        return directory_bad_request(
            "A conflicting object with one or more of the specified property values is present in the directory.",
        );
    }
    // Entra's assignment ids are opaque strings; keep the GUID-ish shape.
    let id = t.ids.uuid().simple().to_string();
    let r = RoleAssignment {
        id,
        principal_id: pid,
        role_definition_id: role.to_ascii_lowercase(),
        directory_scope_id: scope,
        created_at: ctx.now,
    };
    let mut m = ra_json(&r);
    m.insert(
        "@odata.context".into(),
        json!("https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity"),
    );
    t.role_assignments.push(r);
    GraphReply::created(Value::Object(m))
}

/// `DELETE /servicePrincipals/{id}`: the enterprise application goes, with its app role grants
/// and directory role assignments; for the consented app that ends the consent (tokens already
/// issued stay valid until they expire, as in Entra). Microsoft's own principals cannot be deleted.
pub fn delete_service_principal(t: &mut Tenant, id: &str, now: chrono::DateTime<chrono::Utc>) -> GraphReply {
    let Some(index) = t
        .service_principals
        .iter()
        .position(|s| s.id.to_string().eq_ignore_ascii_case(id))
    else {
        return not_found(id);
    };
    if index < 2 {
        return error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let sp = t.service_principals[index].clone();
    t.revoke_consent(&sp.app_id, now);
    t.role_assignments.retain(|r| r.principal_id != sp.id);
    t.service_principals.remove(index);
    GraphReply::no_content()
}

/// `DELETE /roleManagement/directory/roleAssignments/{id}`.
pub fn delete_role_assignment(t: &mut Tenant, id: &str) -> GraphReply {
    let before = t.role_assignments.len();
    t.role_assignments.retain(|r| r.id != id);
    if t.role_assignments.len() == before {
        not_found(id)
    } else {
        GraphReply::no_content()
    }
}
