//! The vendor's app registration as the simulator holds it: the redirect URIs the admin-consent
//! endpoint answers to, and the app roles an admin's consent to `/.default` grants. Set from
//! the configuration, or from a Graph `application` object (`web.redirectUris`,
//! `requiredResourceAccess` with `type: Role`), as `POST /applications` takes it.

use serde_json::Value;

use crate::{
    catalog::{self, EXCHANGE_APP_ID, GRAPH_APP_ID, Resource},
    error::SimError,
};

/// Redirect URIs and required app roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// Where the admin-consent endpoint may redirect (exact matches).
    pub redirect_uris: Vec<String>,
    /// The app roles consent grants, by name.
    pub requested_app_roles: Vec<String>,
}

impl Registration {
    /// Reads a Graph `application` object; an unknown resource, a role of another resource, a
    /// delegated scope or a redirect URI that is not a string is refused, naming it.
    pub fn from_application(application: &Value) -> Result<Self, SimError> {
        let bad = |reason: String| SimError::BadRequest(reason);
        let redirect_uris = application["web"]["redirectUris"]
            .as_array()
            .ok_or_else(|| bad("web.redirectUris: a list of redirect URIs is required".into()))?
            .iter()
            .map(|u| {
                u.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("web.redirectUris: {u} is not a string")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut requested_app_roles = Vec::new();
        let accesses = application["requiredResourceAccess"]
            .as_array()
            .ok_or_else(|| bad("requiredResourceAccess: a list is required".into()))?;
        for access in accesses {
            let resource = match access["resourceAppId"].as_str() {
                Some(GRAPH_APP_ID) => Resource::Graph,
                Some(EXCHANGE_APP_ID) => Resource::Exchange,
                other => {
                    return Err(bad(format!(
                        "requiredResourceAccess: unknown resourceAppId {other:?}"
                    )));
                }
            };
            for role in access["resourceAccess"].as_array().into_iter().flatten() {
                let id = role["id"].as_str().unwrap_or_default();
                if role["type"].as_str() != Some("Role") {
                    return Err(bad(format!(
                        "resourceAccess {id}: only application permissions (type Role) are simulated"
                    )));
                }
                match catalog::app_role_by_id(id) {
                    Some((name, _, of)) if of == resource => requested_app_roles.push(name.to_owned()),
                    Some((name, _, _)) => {
                        return Err(bad(format!(
                            "resourceAccess {id} ({name}) belongs to another resource"
                        )));
                    }
                    None => return Err(bad(format!("resourceAccess {id}: no such app role"))),
                }
            }
        }
        Ok(Self {
            redirect_uris,
            requested_app_roles,
        })
    }
}
