//! One simulated tenant: its directory (domains, users, groups, service principals, role
//! assignments), its consent state and its Exchange configuration.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::catalog::{self, EXCHANGE_ADMIN_ROLE, EXCHANGE_APP_ID, GRAPH_APP_ID, Resource};
use crate::error::SimError;
use crate::exchange::store::ExchangeStore;
use crate::ids::{IdGen, user_name};

/// A domain of the tenant.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Fully qualified name, lower case.
    pub name: String,
    /// The `*.onmicrosoft.com` domain created with the tenant.
    pub is_initial: bool,
    /// The default domain for new users.
    pub is_default: bool,
    /// Whether ownership is verified.
    pub is_verified: bool,
}

/// A user. Kept small on purpose: a 100,000-user tenant is a few megabytes.
#[derive(Debug, Clone)]
pub struct User {
    /// Object id.
    pub id: Uuid,
    /// User principal name (also the primary SMTP address).
    pub upn: Box<str>,
    /// Display name, "Given Surname".
    pub display_name: Box<str>,
    /// Change sequence of the last change (delta queries).
    pub changed_seq: u64,
    /// Change sequence of the deletion, 0 while the user exists.
    pub deleted_seq: u64,
}

impl User {
    /// Whether the user still exists.
    pub fn alive(&self) -> bool {
        self.deleted_seq == 0
    }
}

/// A group (Microsoft 365 "Unified" or security).
#[derive(Debug, Clone)]
pub struct Group {
    /// Object id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Mail nickname (alias).
    pub mail_nickname: String,
    /// Description.
    pub description: Option<String>,
    /// `groupTypes` contains "Unified".
    pub unified: bool,
    /// `mailEnabled`.
    pub mail_enabled: bool,
    /// `securityEnabled`.
    pub security_enabled: bool,
    /// `visibility`.
    pub visibility: Option<String>,
    /// `resourceBehaviorOptions`, settable only at creation.
    pub resource_behavior_options: Vec<String>,
    /// Member object ids, in insertion order.
    pub members: Vec<Uuid>,
    /// Owner object ids.
    pub owners: Vec<Uuid>,
    /// Creation time (simulated).
    pub created_at: DateTime<Utc>,
    /// When Exchange starts seeing the group (`Get-UnifiedGroup`, transport rule references).
    pub exchange_visible_at: DateTime<Utc>,
    /// Change sequence of the last change.
    pub changed_seq: u64,
    /// Change sequence of the deletion, 0 while the group exists.
    pub deleted_seq: u64,
    /// Membership changes: (sequence, member id, added?), for `members@delta`.
    pub member_log: Vec<(u64, Uuid, bool)>,
}

impl Group {
    /// Whether the group still exists.
    pub fn alive(&self) -> bool {
        self.deleted_seq == 0
    }

    /// Primary SMTP address.
    pub fn mail(&self, default_domain: &str) -> Option<String> {
        self.mail_enabled
            .then(|| format!("{}@{}", self.mail_nickname, default_domain))
    }
}

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
}

/// Users in a tenant-creation or directory-patch request: a count to generate or explicit users.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UsersSpec {
    /// Generate this many users with deterministic names and ids.
    Count(u64),
    /// These users.
    List(Vec<UserSpec>),
}

/// One explicit user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// UPN; a bare local part gets the default domain.
    pub user_principal_name: String,
    /// Display name; derived from the UPN when absent.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Groups in a tenant-creation request: a count to generate or explicit groups.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum GroupsSpec {
    /// Generate this many Unified groups, each with up to 3 members.
    Count(u64),
    /// These groups.
    List(Vec<GroupSpec>),
}

/// One explicit group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Display name.
    pub display_name: String,
    /// Mail nickname; derived from the display name when absent.
    #[serde(default)]
    pub mail_nickname: Option<String>,
    /// Members as UPNs or object ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// Microsoft 365 group (default) or security group.
    #[serde(default = "yes")]
    pub unified: bool,
}

fn yes() -> bool {
    true
}

/// Body of `POST /_sim/tenants`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Tenant id; generated from the seed when absent.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Organization display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Verified custom domains; the first becomes the default domain.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The `*.onmicrosoft.com` domain; derived when absent.
    #[serde(default)]
    pub initial_domain: Option<String>,
    /// Users to create.
    #[serde(default)]
    pub users: Option<UsersSpec>,
    /// Groups to create (visible to Exchange at once).
    #[serde(default)]
    pub groups: Option<GroupsSpec>,
    /// Initial IP Allow List of the Default connection filter policy (the customer's own entries).
    #[serde(default)]
    pub ip_allow_list: Vec<String>,
    /// Whether the app is consented (default true).
    #[serde(default)]
    pub consented: Option<bool>,
    /// App roles granted at consent (names such as `User.Read.All`, `Exchange.ManageAsApp`).
    #[serde(default)]
    pub app_roles: Option<Vec<String>>,
    /// Whether the app's service principal already holds Exchange Administrator (default true).
    #[serde(default)]
    pub exchange_admin_role: Option<bool>,
    /// Delay before new Graph groups become visible to Exchange (default from the config).
    #[serde(default)]
    pub group_propagation_seconds: Option<u64>,
    /// Pre-existing Exchange objects, each a parameter set of the matching `New-*` cmdlet.
    #[serde(default)]
    pub exchange: Option<ExchangePreset>,
}

/// Pre-existing Exchange objects of a new tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangePreset {
    /// `New-InboundConnector` parameter sets.
    #[serde(default)]
    pub inbound_connectors: Vec<serde_json::Map<String, Value>>,
    /// `New-OutboundConnector` parameter sets.
    #[serde(default)]
    pub outbound_connectors: Vec<serde_json::Map<String, Value>>,
    /// `New-TransportRule` parameter sets.
    #[serde(default)]
    pub transport_rules: Vec<serde_json::Map<String, Value>>,
    /// `New-TenantAllowBlockListSpoofItems` parameter sets.
    #[serde(default)]
    pub spoof_items: Vec<serde_json::Map<String, Value>>,
}

/// Body of `PATCH /_sim/tenants/{id}/directory`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryPatch {
    /// Users to add.
    #[serde(default)]
    pub add_users: Option<UsersSpec>,
    /// Users to delete, by UPN or id.
    #[serde(default)]
    pub remove_users: Vec<String>,
    /// Users to rename.
    #[serde(default)]
    pub rename_users: Vec<RenameUser>,
    /// Verified domains to add.
    #[serde(default)]
    pub add_domains: Vec<String>,
    /// Domains to remove.
    #[serde(default)]
    pub remove_domains: Vec<String>,
}

/// One rename in a [`DirectoryPatch`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameUser {
    /// Current UPN or id.
    pub user: String,
    /// New UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// New display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

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
            group_propagation: TimeDelta::seconds(
                spec.group_propagation_seconds
                    .unwrap_or(default_propagation)
                    .min(i64::MAX as u64 / 2000) as i64,
            ),
            exchange: ExchangeStore::default(),
        };
        t.exchange.filter_policy_guid = t.ids.uuid();
        for ip in &spec.ip_allow_list {
            crate::exchange::params::check_ipv4_entry(ip).map_err(SimError::BadRequest)?;
            t.exchange.ip_allow.push(ip.clone());
        }
        if let Some(u) = &spec.users {
            t.add_users(u)?;
        }
        if let Some(g) = &spec.groups {
            t.add_groups(g, now)?;
        }
        if spec.consented.unwrap_or(true) {
            let roles: Vec<String> = match &spec.app_roles {
                Some(r) => r.clone(),
                None => catalog::DEFAULT_APP_ROLES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            };
            t.consent(our_app, &roles, now)?;
            if spec.exchange_admin_role.unwrap_or(true) {
                let sp = t.our_sp(our_app.0).map(|s| s.id);
                if let Some(sp) = sp {
                    let id = t.ids.uuid().to_string();
                    t.role_assignments.push(RoleAssignment {
                        id,
                        principal_id: sp,
                        role_definition_id: EXCHANGE_ADMIN_ROLE.into(),
                        directory_scope_id: "/".into(),
                    });
                }
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

    /// Revokes consent: the app's role grants disappear; issued refresh tokens die.
    pub fn revoke_consent(&mut self, app_id: &str, now: DateTime<Utc>) {
        if let Some(sp) = self.our_sp(app_id).map(|s| s.id) {
            self.app_role_assignments.retain(|a| a.principal_id != sp);
        }
        self.consented = false;
        self.consent_revoked_at = Some(now);
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

    /// Live user by id or UPN (case-insensitive).
    pub fn find_user(&self, key: &str) -> Option<&User> {
        self.user_index(key).map(|i| &self.users[i]).filter(|u| u.alive())
    }

    fn user_index(&self, key: &str) -> Option<usize> {
        if let Ok(id) = Uuid::parse_str(key) {
            return self.user_by_id.get(&id).map(|i| *i as usize);
        }
        self.user_by_upn
            .get(key.to_ascii_lowercase().as_str())
            .map(|i| *i as usize)
    }

    /// Number of live users.
    pub fn live_user_count(&self) -> usize {
        self.users.iter().filter(|u| u.alive()).count()
    }

    /// Adds users (generated or explicit).
    pub fn add_users(&mut self, spec: &UsersSpec) -> Result<Vec<Uuid>, SimError> {
        let mut out = Vec::new();
        match spec {
            UsersSpec::Count(n) => {
                let domain = self.default_domain().to_owned();
                for _ in 0..*n {
                    let k = self.generated_users;
                    self.generated_users += 1;
                    let (given, surname) = user_name(self.name_seed, k);
                    let upn = format!("{}.{}{}@{}", given, surname, k + 1, domain).to_ascii_lowercase();
                    let display = format!("{given} {surname}");
                    out.push(self.insert_user(&upn, &display)?);
                }
            }
            UsersSpec::List(list) => {
                for u in list {
                    let upn = if u.user_principal_name.contains('@') {
                        u.user_principal_name.to_ascii_lowercase()
                    } else {
                        format!("{}@{}", u.user_principal_name, self.default_domain()).to_ascii_lowercase()
                    };
                    let display = u
                        .display_name
                        .clone()
                        .unwrap_or_else(|| upn.split('@').next().unwrap_or_default().replace('.', " "));
                    out.push(self.insert_user(&upn, &display)?);
                }
            }
        }
        Ok(out)
    }

    fn insert_user(&mut self, upn: &str, display: &str) -> Result<Uuid, SimError> {
        if self
            .user_by_upn
            .get(upn)
            .is_some_and(|i| self.users[*i as usize].alive())
        {
            return Err(SimError::Conflict(format!("user {upn} already exists")));
        }
        let id = self.ids.uuid();
        let seq = self.next_seq();
        let idx = self.users.len() as u32;
        self.users.push(User {
            id,
            upn: upn.into(),
            display_name: display.into(),
            changed_seq: seq,
            deleted_seq: 0,
        });
        self.user_by_id.insert(id, idx);
        self.user_by_upn.insert(upn.into(), idx);
        Ok(id)
    }

    /// Deletes a user (a tombstone remains for delta) and removes it from every group.
    pub fn remove_user(&mut self, key: &str) -> Result<(), SimError> {
        let idx = self
            .user_index(key)
            .filter(|i| self.users[*i].alive())
            .ok_or_else(|| SimError::NotFound(format!("user {key}")))?;
        let seq = self.next_seq();
        let id = self.users[idx].id;
        self.users[idx].deleted_seq = seq;
        self.users[idx].changed_seq = seq;
        for g in self.groups.iter_mut().filter(|g| g.alive()) {
            if let Some(p) = g.members.iter().position(|m| *m == id) {
                g.members.remove(p);
                g.member_log.push((seq, id, false));
                g.changed_seq = seq;
            }
        }
        Ok(())
    }

    /// Renames a user.
    pub fn rename_user(&mut self, r: &RenameUser) -> Result<(), SimError> {
        let idx = self
            .user_index(&r.user)
            .filter(|i| self.users[*i].alive())
            .ok_or_else(|| SimError::NotFound(format!("user {}", r.user)))?;
        let seq = self.next_seq();
        if let Some(upn) = &r.user_principal_name {
            let upn = upn.to_ascii_lowercase();
            if self
                .user_by_upn
                .get(upn.as_str())
                .is_some_and(|i| *i as usize != idx)
            {
                return Err(SimError::Conflict(format!("user {upn} already exists")));
            }
            let old = self.users[idx].upn.clone();
            self.user_by_upn.remove(&old);
            self.user_by_upn.insert(upn.as_str().into(), idx as u32);
            self.users[idx].upn = upn.into();
        }
        if let Some(d) = &r.display_name {
            self.users[idx].display_name = d.as_str().into();
        }
        self.users[idx].changed_seq = seq;
        Ok(())
    }

    /// Adds a verified domain.
    pub fn add_domain(&mut self, name: &str) -> Result<(), SimError> {
        let name = name.trim().to_ascii_lowercase();
        if !valid_domain(&name) || self.domains.iter().any(|d| d.name == name) {
            return Err(SimError::Conflict(format!("invalid or duplicate domain {name}")));
        }
        self.domains.push(Domain {
            name,
            is_initial: false,
            is_default: false,
            is_verified: true,
        });
        Ok(())
    }

    /// Removes a domain (never the initial one).
    pub fn remove_domain(&mut self, name: &str) -> Result<(), SimError> {
        let name = name.trim().to_ascii_lowercase();
        let pos = self
            .domains
            .iter()
            .position(|d| d.name == name && !d.is_initial)
            .ok_or_else(|| SimError::NotFound(format!("domain {name}")))?;
        let was_default = self.domains[pos].is_default;
        self.domains.remove(pos);
        if was_default && let Some(d) = self.domains.iter_mut().find(|d| d.is_initial) {
            d.is_default = true;
        }
        Ok(())
    }

    fn add_groups(&mut self, spec: &GroupsSpec, now: DateTime<Utc>) -> Result<(), SimError> {
        let list: Vec<GroupSpec> = match spec {
            GroupsSpec::Count(n) => (0..*n)
                .map(|i| {
                    let live: Vec<String> = self
                        .users
                        .iter()
                        .filter(|u| u.alive())
                        .skip((i as usize * 3) % self.users.len().max(1))
                        .take(3)
                        .map(|u| u.id.to_string())
                        .collect();
                    GroupSpec {
                        display_name: format!("Group {}", i + 1),
                        mail_nickname: Some(format!("group{}", i + 1)),
                        members: live,
                        unified: true,
                    }
                })
                .collect(),
            GroupsSpec::List(l) => l.clone(),
        };
        for g in list {
            let mut members = Vec::new();
            for m in &g.members {
                let u = self
                    .find_user(m)
                    .ok_or_else(|| SimError::BadRequest(format!("unknown member {m}")))?;
                members.push(u.id);
            }
            let nickname = g.mail_nickname.clone().unwrap_or_else(|| {
                g.display_name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            });
            let id = self.ids.uuid();
            let seq = self.next_seq();
            self.groups.push(Group {
                id,
                display_name: g.display_name.clone(),
                mail_nickname: nickname,
                description: None,
                unified: g.unified,
                mail_enabled: g.unified,
                security_enabled: !g.unified,
                visibility: g.unified.then(|| "Private".to_owned()),
                resource_behavior_options: Vec::new(),
                member_log: members.iter().map(|m| (seq, *m, true)).collect(),
                members,
                owners: Vec::new(),
                created_at: now,
                exchange_visible_at: now,
                changed_seq: seq,
                deleted_seq: 0,
            });
        }
        Ok(())
    }

    /// Live group by id.
    pub fn find_group(&self, id: &str) -> Option<&Group> {
        let id = Uuid::parse_str(id).ok()?;
        self.groups.iter().find(|g| g.id == id && g.alive())
    }

    /// Live group by id, mutable.
    pub fn find_group_mut(&mut self, id: &str) -> Option<&mut Group> {
        let id = Uuid::parse_str(id).ok()?;
        self.groups.iter_mut().find(|g| g.id == id && g.alive())
    }

    /// Whether a directory object (user, group or service principal) exists.
    pub fn object_kind(&self, id: Uuid) -> Option<&'static str> {
        if self
            .user_by_id
            .get(&id)
            .is_some_and(|i| self.users[*i as usize].alive())
        {
            Some("#microsoft.graph.user")
        } else if self.groups.iter().any(|g| g.id == id && g.alive()) {
            Some("#microsoft.graph.group")
        } else if self.service_principals.iter().any(|s| s.id == id) {
            Some("#microsoft.graph.servicePrincipal")
        } else {
            None
        }
    }

    /// User by id (alive or not), for rendering members.
    pub fn user_by_id(&self, id: Uuid) -> Option<&User> {
        self.user_by_id.get(&id).map(|i| &self.users[*i as usize])
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

/// A plausible DNS name: labels of letters, digits and hyphens, at least one dot.
pub fn valid_domain(name: &str) -> bool {
    name.contains('.')
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
