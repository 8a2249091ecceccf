//! The tenant's directory: domains, users and groups, and the changes the simulator's admin
//! API makes to them (users added, renamed, removed; domains added and removed; groups added
//! and found).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{GroupSpec, GroupsSpec, RenameUser, Tenant, UsersSpec};
use crate::{error::SimError, ids::user_name};

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
    /// Whether Exchange Online moved its MX to a DNSSEC-signed `*.mx.microsoft` host.
    pub dnssec_mx: bool,
}

impl Domain {
    /// The Exchange Online MX host Microsoft gives the domain:
    /// `<domain-with-dashes>.mail.protection.outlook.com`, or after the DNSSEC move
    /// `<domain-with-dashes>.r-v1.mx.microsoft` (one letter before `-v1`; the contract fixture pins the form).
    pub fn exchange_mx(&self) -> String {
        if self.dnssec_mx {
            format!("{}.r-v1.mx.microsoft", self.name.replace('.', "-"))
        } else {
            exchange_online_mx(&self.name)
        }
    }
}

/// The Exchange Online MX host of a domain not moved to DNSSEC:
/// `<domain-with-dashes>.mail.protection.outlook.com`.
pub fn exchange_online_mx(domain: &str) -> String {
    format!("{}.mail.protection.outlook.com", domain.replace('.', "-"))
}

/// A user. Kept small on purpose: a 100,000-user tenant is a few megabytes.
#[derive(Debug, Clone)]
pub struct User {
    /// Object id.
    pub id: Uuid,
    /// User principal name.
    pub upn: Box<str>,
    /// Primary SMTP address where it differs from the UPN.
    pub mail: Option<Box<str>>,
    /// Display name, "Given Surname".
    pub display_name: Box<str>,
    /// Change sequence of the last change (delta queries).
    pub changed_seq: u64,
    /// Change sequence of the deletion, 0 while the user exists.
    pub deleted_seq: u64,
    /// What the last rename changed ([`RENAMED_UPN`], [`RENAMED_DISPLAY_NAME`]); 0 for none.
    pub renamed: u8,
}

/// [`User::renamed`]: the user principal name changed.
pub const RENAMED_UPN: u8 = 1;
/// [`User::renamed`]: the display name changed.
pub const RENAMED_DISPLAY_NAME: u8 = 2;

impl User {
    /// The primary SMTP address: the UPN unless the user was given another.
    pub fn mail(&self) -> &str {
        self.mail.as_deref().unwrap_or(&self.upn)
    }

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
    /// Members added through Graph after the group's creation, with when: a listing of the
    /// members leaves them out while they replicate.
    pub joined: Vec<(Uuid, DateTime<Utc>)>,
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

impl Tenant {
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
                    out.push(self.insert_user(&upn, &display, None)?);
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
                    let mail = u.mail.as_deref().map(str::to_ascii_lowercase);
                    out.push(self.insert_user(&upn, &display, mail)?);
                }
            }
        }
        Ok(out)
    }

    fn insert_user(&mut self, upn: &str, display: &str, mail: Option<String>) -> Result<Uuid, SimError> {
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
            mail: mail.map(Into::into),
            display_name: display.into(),
            changed_seq: seq,
            deleted_seq: 0,
            renamed: 0,
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
        let mut renamed = 0;
        if let Some(upn) = &r.user_principal_name {
            renamed |= RENAMED_UPN;
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
            renamed |= RENAMED_DISPLAY_NAME;
            self.users[idx].display_name = d.as_str().into();
        }
        self.users[idx].changed_seq = seq;
        self.users[idx].renamed = renamed;
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
            dnssec_mx: false,
        });
        Ok(())
    }

    /// Moves a domain's Exchange Online MX to its DNSSEC host, as Microsoft's migration does.
    pub fn move_mx_to_dnssec(&mut self, name: &str) -> Result<(), SimError> {
        let domain = self
            .domains
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| SimError::NotFound(format!("domain {name}")))?;
        domain.dnssec_mx = true;
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

    pub(super) fn add_groups(&mut self, spec: &GroupsSpec, now: DateTime<Utc>) -> Result<(), SimError> {
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
                joined: Vec::new(),
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
}

/// A plausible DNS name: labels of letters, digits and hyphens, at least one dot.
pub fn valid_domain(name: &str) -> bool {
    name.contains('.')
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
