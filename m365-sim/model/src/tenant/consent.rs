//! Consent of our app in the tenant: its service principal, the app roles granted to it, and
//! directory role assignments (the Exchange Administrator role among them).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Tenant;
use crate::{
    catalog::{self, EXCHANGE_ADMIN_ROLE, Resource},
    error::SimError,
};

/// A service principal in the tenant.
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    /// Object id.
    pub id: Uuid,
    /// appId of the application.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// Tenant that owns the application (Microsoft's for first-party apps).
    pub app_owner_organization_id: String,
}

/// An app role granted to a service principal (`appRoleAssignments`).
#[derive(Debug, Clone)]
pub struct AppRoleAssignment {
    /// Assignment id.
    pub id: Uuid,
    /// Principal (our app's service principal).
    pub principal_id: Uuid,
    /// App role id.
    pub app_role_id: String,
    /// Resource service principal id.
    pub resource_id: Uuid,
    /// When granted.
    pub created_at: DateTime<Utc>,
}

/// A directory role assignment (`roleManagement/directory/roleAssignments`).
#[derive(Debug, Clone)]
pub struct RoleAssignment {
    /// Assignment id.
    pub id: String,
    /// Principal id.
    pub principal_id: Uuid,
    /// Role definition (template) id.
    pub role_definition_id: String,
    /// Scope, normally "/".
    pub directory_scope_id: String,
    /// When it was made (simulated); listings show it once replication has passed.
    pub created_at: DateTime<Utc>,
}

/// Who signs in to the admin-consent page, as far as consent goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consenter {
    /// A Global Administrator of the tenant: may grant consent for the organization.
    Admin,
    /// A user of the tenant without the role.
    NotAdmin,
    /// Not an account of this tenant.
    Stranger,
}

impl Tenant {
    /// What `upn` may do on the admin-consent page: `admin@<initial domain>` (the tenant's own
    /// administrator, as in a new tenant) and users holding Global Administrator may consent.
    pub fn consenter(&self, upn: &str) -> Consenter {
        if upn.eq_ignore_ascii_case(&format!("admin@{}", self.initial_domain())) {
            return Consenter::Admin;
        }
        let Some(user) = self.find_user(upn) else {
            return Consenter::Stranger;
        };
        let global_admin = self
            .role_assignments
            .iter()
            .any(|r| r.principal_id == user.id && r.role_definition_id == catalog::GLOBAL_ADMIN_ROLE);
        if global_admin {
            Consenter::Admin
        } else {
            Consenter::NotAdmin
        }
    }

    /// Grants consent: creates our service principal (if missing) and its app role assignments.
    pub fn consent(
        &mut self,
        our_app: (&str, &str),
        roles: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), SimError> {
        let mut resolved = Vec::new();
        for r in roles {
            let role = catalog::app_role(r)
                .ok_or_else(|| SimError::BadRequest(format!("unknown app role {r:?}")))?;
            resolved.push(role);
        }
        if self.our_sp(our_app.0).is_none() {
            let sp = ServicePrincipal {
                id: self.ids.uuid(),
                app_id: our_app.0.to_owned(),
                display_name: our_app.1.to_owned(),
                app_owner_organization_id: "3a2b1c0d-0000-4000-8000-00000000f00d".into(),
            };
            self.service_principals.push(sp);
        }
        let sp_id = self.our_sp(our_app.0).map(|s| s.id).unwrap_or_default();
        self.app_role_assignments.retain(|a| a.principal_id != sp_id);
        for (_, role_id, resource) in resolved {
            let resource_id = match resource {
                Resource::Graph => self.service_principals[0].id,
                Resource::Exchange => self.service_principals[1].id,
            };
            let id = self.ids.uuid();
            self.app_role_assignments.push(AppRoleAssignment {
                id,
                principal_id: sp_id,
                app_role_id: role_id.to_owned(),
                resource_id,
                created_at: now,
            });
        }
        self.consented = true;
        Ok(())
    }

    /// Gives (`on`) or takes the Exchange Administrator role of our app's service principal, as
    /// an admin does in Entra ID; giving it twice changes nothing.
    pub fn set_exchange_admin(&mut self, app_id: &str, on: bool) -> Result<(), SimError> {
        let sp = self
            .our_sp(app_id)
            .map(|s| s.id)
            .ok_or_else(|| SimError::BadRequest("the app is not consented".into()))?;
        let held = |r: &RoleAssignment| r.principal_id == sp && r.role_definition_id == EXCHANGE_ADMIN_ROLE;
        if !on {
            self.role_assignments.retain(|r| !held(r));
        } else if !self.role_assignments.iter().any(held) {
            // Entra's assignment ids are opaque strings; the simulator's are GUID-ish, as Graph's.
            let id = self.ids.uuid().simple().to_string();
            self.role_assignments.push(RoleAssignment {
                id,
                principal_id: sp,
                role_definition_id: EXCHANGE_ADMIN_ROLE.into(),
                directory_scope_id: "/".into(),
                // An admin's assignment predates everything the product does.
                created_at: DateTime::<Utc>::MIN_UTC,
            });
        }
        Ok(())
    }

    /// Revokes consent: the app's role grants disappear; issued refresh tokens die.
    pub fn revoke_consent(&mut self, app_id: &str, now: DateTime<Utc>) {
        if let Some(sp) = self.our_sp(app_id).map(|s| s.id) {
            self.app_role_assignments.retain(|a| a.principal_id != sp);
        }
        self.consented = false;
        self.consent_revoked_at = Some(now);
    }

    /// Revokes the app's permissions as the portal's "Revoke permissions" does: the grants go,
    /// the service principal and the consent stay, and Entra keeps issuing tokens, without
    /// a `roles` claim.
    pub fn revoke_grants(&mut self, app_id: &str) {
        if let Some(sp) = self.our_sp(app_id).map(|s| s.id) {
            self.app_role_assignments.retain(|a| a.principal_id != sp);
        }
    }

    /// Our app's service principal.
    pub fn our_sp(&self, app_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|s| s.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Names of the app roles granted to `sp_id` on `resource`.
    pub fn granted_roles(&self, sp_id: Uuid, resource: Resource) -> Vec<String> {
        let resource_sp = match resource {
            Resource::Graph => self.service_principals[0].id,
            Resource::Exchange => self.service_principals[1].id,
        };
        self.app_role_assignments
            .iter()
            .filter(|a| a.principal_id == sp_id && a.resource_id == resource_sp)
            .filter_map(|a| catalog::app_role_by_id(&a.app_role_id).map(|r| r.0.to_owned()))
            .collect()
    }

    /// Directory role template ids held by a principal (the `wids` claim).
    pub fn directory_roles(&self, principal: Uuid) -> Vec<String> {
        self.role_assignments
            .iter()
            .filter(|r| r.principal_id == principal)
            .map(|r| r.role_definition_id.clone())
            .collect()
    }
}
