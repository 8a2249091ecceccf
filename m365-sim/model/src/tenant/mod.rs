//! One simulated tenant: its directory (domains, users, groups), the consent of our app
//! (service principals, app role and directory role assignments) and its Exchange objects; and
//! the `/_sim/` inputs that create and change it.

mod consent;
mod directory;
mod exchange;
mod spec;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

pub use self::{
    consent::{AppRoleAssignment, Consenter, RoleAssignment, ServicePrincipal},
    directory::{Domain, Group, RENAMED_DISPLAY_NAME, RENAMED_UPN, User, exchange_online_mx, valid_domain},
    exchange::{ExchangeStore, ExoObject},
    spec::{
        DirectoryPatch, ExchangePreset, GroupSpec, GroupsSpec, RenameUser, TenantSpec, UserSpec, UsersSpec,
    },
};
use crate::{
    catalog::{self, EXCHANGE_APP_ID, GRAPH_APP_ID},
    error::SimError,
    ids::IdGen,
    ip::check_ipv4_entry,
};

/// A simulated tenant.
#[derive(Debug)]
pub struct Tenant {
    /// Tenant id (lower-case GUID text).
    pub id: String,
    /// Organization display name.
    pub display_name: String,
    /// Creation time (simulated).
    pub created_at: DateTime<Utc>,
    /// Deterministic id generator of this tenant.
    pub ids: IdGen,
    /// Seed used for generated names.
    pub name_seed: u64,
    /// Domains.
    pub domains: Vec<Domain>,
    /// How long a new object stays unseen (see [`Tenant::replicating`]).
    pub replication_lag: TimeDelta,
    /// Whether an incremental delta round shows a renamed user with only the properties the
    /// rename changed (Graph promises "at least the properties that have been updated").
    pub delta_changed_properties_only: bool,
    /// Users, in creation order (deleted users stay as tombstones for delta).
    pub users: Vec<User>,
    user_by_id: HashMap<Uuid, u32>,
    user_by_upn: HashMap<Box<str>, u32>,
    generated_users: u64,
    /// Groups, in creation order (deleted groups stay as tombstones).
    pub groups: Vec<Group>,
    /// Service principals: [0] Microsoft Graph, [1] Exchange Online, then our app when consented.
    pub service_principals: Vec<ServicePrincipal>,
    /// App role assignments of our app.
    pub app_role_assignments: Vec<AppRoleAssignment>,
    /// Directory role assignments.
    pub role_assignments: Vec<RoleAssignment>,
    /// Whether the app is consented.
    pub consented: bool,
    /// When consent was last revoked (refresh tokens issued before are dead).
    pub consent_revoked_at: Option<DateTime<Utc>>,
    /// Monotonic change sequence for delta queries.
    pub seq: u64,
    /// Delay before new groups reach Exchange.
    pub group_propagation: TimeDelta,
    /// Exchange Online configuration.
    pub exchange: ExchangeStore,
}

impl Tenant {
    /// Whether an object created at `created` is still replicating at `now`: Entra and the
    /// Tenant Allow/Block List are eventually consistent, so a read right after a write may not
    /// see it.
    pub fn replicating(&self, created: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now < created + self.replication_lag
    }

    /// Builds a tenant from a spec. `our_app` is (appId, display name).
    pub fn new(
        id: String,
        spec: &TenantSpec,
        seed: u64,
        our_app: (&str, &str),
        now: DateTime<Utc>,
        default_propagation: u64,
    ) -> Result<Self, SimError> {
        let mut ids = IdGen::new(seed, &id);
        let short: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect();
        let slug = spec
            .domains
            .first()
            .and_then(|d| d.split('.').next())
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| format!("sim{short}"));
        let initial = spec
            .initial_domain
            .clone()
            .unwrap_or_else(|| format!("{slug}.onmicrosoft.com"));
        let mut domains = vec![Domain {
            name: initial.to_ascii_lowercase(),
            is_initial: true,
            is_default: spec.domains.is_empty(),
            is_verified: true,
            dnssec_mx: false,
        }];
        for (i, d) in spec.domains.iter().enumerate() {
            let name = d.trim().to_ascii_lowercase();
            if !valid_domain(&name) || domains.iter().any(|x| x.name == name) {
                return Err(SimError::BadRequest(format!("invalid or duplicate domain {d:?}")));
            }
            domains.push(Domain {
                name,
                is_initial: false,
                is_default: i == 0,
                is_verified: true,
                dnssec_mx: false,
            });
        }
        let graph_sp = ServicePrincipal {
            id: ids.uuid(),
            app_id: GRAPH_APP_ID.into(),
            display_name: "Microsoft Graph".into(),
            app_owner_organization_id: "f8cdef31-a31e-4b4a-93e4-5f571e91255a".into(),
        };
        let exo_sp = ServicePrincipal {
            id: ids.uuid(),
            app_id: EXCHANGE_APP_ID.into(),
            display_name: "Office 365 Exchange Online".into(),
            app_owner_organization_id: "f8cdef31-a31e-4b4a-93e4-5f571e91255a".into(),
        };
        let name_seed = ids.next_u64();
        let mut t = Tenant {
            display_name: spec
                .display_name
                .clone()
                .unwrap_or_else(|| format!("Simulated Tenant {short}")),
            id,
            created_at: now,
            ids,
            name_seed,
            domains,
            users: Vec::new(),
            user_by_id: HashMap::new(),
            user_by_upn: HashMap::new(),
            generated_users: 0,
            groups: Vec::new(),
            service_principals: vec![graph_sp, exo_sp],
            app_role_assignments: Vec::new(),
            role_assignments: Vec::new(),
            consented: false,
            consent_revoked_at: None,
            seq: 1,
            group_propagation: propagation(spec.group_propagation_seconds.unwrap_or(default_propagation)),
            delta_changed_properties_only: false,
            replication_lag: propagation(spec.replication_lag_seconds.unwrap_or(0)),
            exchange: ExchangeStore::default(),
        };
        t.exchange.filter_policy_guid = t.ids.uuid();
        for ip in &spec.ip_allow_list {
            check_ipv4_entry(ip).map_err(SimError::BadRequest)?;
            t.exchange.ip_allow.push(ip.clone());
        }
        if let Some(u) = &spec.users {
            t.add_users(u)?;
        }
        if let Some(g) = &spec.groups {
            t.add_groups(g, now)?;
        }
        if spec.consented.unwrap_or(true) {
            let roles = spec.app_roles.clone().unwrap_or_else(catalog::default_app_roles);
            t.consent(our_app, &roles, now)?;
            if spec.exchange_admin_role.unwrap_or(true) {
                t.set_exchange_admin(our_app.0, true)?;
            }
        }
        Ok(t)
    }

    /// Bumps and returns the change sequence.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The default domain.
    pub fn default_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.is_default)
            .or(self.domains.first())
            .map(|d| d.name.as_str())
            .unwrap_or("")
    }

    /// The initial `*.onmicrosoft.com` domain.
    pub fn initial_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.is_initial)
            .map(|d| d.name.as_str())
            .unwrap_or("")
    }

    /// The admin dump served by `GET /_sim/tenants/{id}`.
    pub fn dump(&self, app_id: &str, now: DateTime<Utc>) -> Value {
        let dd = self.default_domain().to_owned();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .filter(|g| g.alive())
            .map(|g| {
                json!({
                    "id": g.id,
                    "displayName": g.display_name,
                    "mailNickname": g.mail_nickname,
                    "mail": g.mail(&dd),
                    "groupTypes": if g.unified { vec!["Unified"] } else { vec![] },
                    "resourceBehaviorOptions": g.resource_behavior_options,
                    "visibility": g.visibility,
                    "members": g.members.iter().map(|m| {
                        let upn = self.user_by_id(*m).map(|u| u.upn.to_string());
                        json!({"id": m, "userPrincipalName": upn})
                    }).collect::<Vec<_>>(),
                    "owners": g.owners,
                    "visibleToExchange": g.exchange_visible_at <= now,
                    "exchangeVisibleAt": crate::clock::graph_time(g.exchange_visible_at),
                })
            })
            .collect();
        let sps: Vec<Value> = self
            .service_principals
            .iter()
            .map(|s| {
                let roles: Vec<Value> = self
                    .app_role_assignments
                    .iter()
                    .filter(|a| a.principal_id == s.id)
                    .map(|a| {
                        let name = catalog::app_role_by_id(&a.app_role_id).map(|r| r.0);
                        json!({"id": a.id, "appRoleId": a.app_role_id, "appRole": name, "resourceId": a.resource_id})
                    })
                    .collect();
                json!({"id": s.id, "appId": s.app_id, "displayName": s.display_name, "appRoleAssignments": roles})
            })
            .collect();
        let ras: Vec<Value> = self
            .role_assignments
            .iter()
            .map(|r| json!({"id": r.id, "principalId": r.principal_id, "roleDefinitionId": r.role_definition_id, "directoryScopeId": r.directory_scope_id}))
            .collect();
        json!({
            "tenant_id": self.id,
            "display_name": self.display_name,
            "consented": self.consented,
            "our_app_id": app_id,
            "accepted_domains": self.domains.iter().map(|d| json!({"name": d.name, "default": d.is_default, "initial": d.is_initial, "verified": d.is_verified})).collect::<Vec<_>>(),
            "user_count": self.live_user_count(),
            "group_propagation_seconds": self.group_propagation.num_seconds(),
            "groups": groups,
            "service_principals": sps,
            "role_assignments": ras,
            "exchange": self.exchange.dump(),
        })
    }
}

/// A group propagation delay of `seconds`, held to what `TimeDelta` can add to any instant.
pub fn propagation(seconds: u64) -> TimeDelta {
    TimeDelta::seconds(seconds.min(i64::MAX as u64 / 2000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{EXCHANGE_ADMIN_ROLE, Resource};

    fn tenant(spec: TenantSpec) -> Tenant {
        Tenant::new(
            "0d0b7a4e-0000-4000-8000-000000000001".into(),
            &spec,
            7,
            ("app", "App"),
            Utc::now(),
            0,
        )
        .expect("tenant")
    }

    #[test]
    fn same_seed_same_users() {
        let spec = TenantSpec {
            users: Some(UsersSpec::Count(50)),
            ..Default::default()
        };
        let a = tenant(spec.clone());
        let b = tenant(spec);
        assert_eq!(a.users.len(), 50);
        assert_eq!(
            a.users.iter().map(|u| (u.id, u.upn.clone())).collect::<Vec<_>>(),
            b.users.iter().map(|u| (u.id, u.upn.clone())).collect::<Vec<_>>()
        );
    }

    #[test]
    fn hundred_thousand_users_fit() {
        let t = tenant(TenantSpec {
            users: Some(UsersSpec::Count(100_000)),
            ..Default::default()
        });
        assert_eq!(t.live_user_count(), 100_000);
        // Rough footprint per user: the struct plus its strings plus two index entries.
        let per_user = std::mem::size_of::<User>() + 40 + 16 + 48;
        assert!(per_user * 100_000 < 40 * 1024 * 1024);
        let u = &t.users[99_999];
        assert_eq!(t.find_user(&u.upn.to_uppercase()).map(|x| x.id), Some(u.id));
    }

    #[test]
    fn remove_user_leaves_groups() {
        let mut t = tenant(TenantSpec {
            users: Some(UsersSpec::Count(3)),
            groups: Some(GroupsSpec::Count(1)),
            ..Default::default()
        });
        let first = t.users[0].id.to_string();
        assert!(t.groups[0].members.contains(&t.users[0].id));
        t.remove_user(&first).expect("remove");
        assert!(t.find_user(&first).is_none());
        assert!(!t.groups[0].members.iter().any(|m| m.to_string() == first));
        assert!(t.remove_user(&first).is_err());
    }

    #[test]
    fn consent_and_roles() {
        let mut t = tenant(TenantSpec::default());
        let sp = t.our_sp("app").expect("sp").id;
        assert!(
            t.granted_roles(sp, Resource::Graph)
                .contains(&"User.Read.All".to_owned())
        );
        assert_eq!(
            t.granted_roles(sp, Resource::Exchange),
            vec!["Exchange.ManageAsApp".to_owned()]
        );
        assert_eq!(t.directory_roles(sp), vec![EXCHANGE_ADMIN_ROLE.to_owned()]);
        t.revoke_consent("app", Utc::now());
        assert!(t.granted_roles(sp, Resource::Graph).is_empty());
        assert!(!t.consented);
    }
}
