//! The `/_sim/` admin API's inputs: a tenant to create, users and groups to add, a directory
//! patch, and the Exchange objects a tenant already has.

use serde::Deserialize;
use serde_json::Value;

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
    /// Primary SMTP address, when it differs from the UPN.
    #[serde(default)]
    pub mail: Option<String>,
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
#[serde(default, deny_unknown_fields)]
pub struct TenantSpec {
    /// Tenant id; generated from the seed when absent.
    pub tenant_id: Option<String>,
    /// Organization display name.
    pub display_name: Option<String>,
    /// Verified custom domains; the first becomes the default domain.
    pub domains: Vec<String>,
    /// The `*.onmicrosoft.com` domain; derived when absent.
    pub initial_domain: Option<String>,
    /// Users to create.
    pub users: Option<UsersSpec>,
    /// Groups to create (visible to Exchange at once).
    pub groups: Option<GroupsSpec>,
    /// Initial IP Allow List of the Default connection filter policy (the customer's own entries).
    pub ip_allow_list: Vec<String>,
    /// Whether the app is consented (default true).
    pub consented: Option<bool>,
    /// App roles granted at consent (names such as `User.Read.All`, `Exchange.ManageAsApp`).
    pub app_roles: Option<Vec<String>>,
    /// Whether the app's service principal already holds Exchange Administrator (default true).
    pub exchange_admin_role: Option<bool>,
    /// Delay before new Graph groups become visible to Exchange (default from the config).
    pub group_propagation_seconds: Option<u64>,
    /// Replication lag: for this long after its creation a group is unknown to requests that
    /// name it, and a new role assignment or spoof entry is missing from listings (default 0).
    pub replication_lag_seconds: Option<u64>,
    /// Pre-existing Exchange objects, each a parameter set of the matching `New-*` cmdlet.
    pub exchange: Option<ExchangePreset>,
}

/// Pre-existing Exchange objects of a new tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangePreset {
    /// `New-InboundConnector` parameter sets.
    pub inbound_connectors: Vec<serde_json::Map<String, Value>>,
    /// `New-OutboundConnector` parameter sets.
    pub outbound_connectors: Vec<serde_json::Map<String, Value>>,
    /// `New-TransportRule` parameter sets.
    pub transport_rules: Vec<serde_json::Map<String, Value>>,
    /// `New-TenantAllowBlockListSpoofItems` parameter sets.
    pub spoof_items: Vec<serde_json::Map<String, Value>>,
}

/// Body of `PATCH /_sim/tenants/{id}/directory`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryPatch {
    /// Users to add.
    pub add_users: Option<UsersSpec>,
    /// Users to delete, by UPN or id.
    pub remove_users: Vec<String>,
    /// Users to rename.
    pub rename_users: Vec<RenameUser>,
    /// Verified domains to add.
    pub add_domains: Vec<String>,
    /// Domains to remove.
    pub remove_domains: Vec<String>,
    /// Domains whose Exchange Online MX Microsoft moves to `*.mx.microsoft` (DNSSEC): their
    /// `serviceConfigurationRecords` and the simulated DNS change together.
    pub dnssec_mx_domains: Vec<String>,
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
