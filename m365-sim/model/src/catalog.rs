//! Well-known Microsoft identifiers the simulator mirrors: resources, app roles, directory roles.

/// Graph resource URI (`aud` of Graph tokens).
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Exchange Online resource URI (`aud` of Exchange tokens).
pub const EXCHANGE_RESOURCE: &str = "https://outlook.office365.com";
/// appId of the Microsoft Graph service principal.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// appId of the Office 365 Exchange Online service principal.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// Directory role template id of Exchange Administrator.
pub const EXCHANGE_ADMIN_ROLE: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
/// Directory role template id of Global Administrator.
pub const GLOBAL_ADMIN_ROLE: &str = "62e90394-69f5-4237-9190-012177145e10";
/// The `wids` entry Entra puts in every app-only token.
pub const APP_DEFAULT_WID: &str = "0997a1d0-0d1d-4acb-b408-d5ca73121e90";
/// App role `Exchange.ManageAsApp` on the Exchange Online resource.
pub const EXCHANGE_MANAGE_AS_APP: &str = "Exchange.ManageAsApp";

/// Which resource an app role belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Microsoft Graph.
    Graph,
    /// Exchange Online.
    Exchange,
}

impl Resource {
    /// The resource URI.
    pub fn uri(self) -> &'static str {
        match self {
            Resource::Graph => GRAPH_RESOURCE,
            Resource::Exchange => EXCHANGE_RESOURCE,
        }
    }

    /// Resource from a `scope` resource part, accepting only the real resource URIs.
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri.trim_end_matches('/') {
            GRAPH_RESOURCE => Some(Resource::Graph),
            EXCHANGE_RESOURCE => Some(Resource::Exchange),
            _ => None,
        }
    }
}

/// Application permissions (app roles) the simulator knows: (name, id, resource).
pub const APP_ROLES: &[(&str, &str, Resource)] = &[
    (
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        Resource::Graph,
    ),
    (
        "User.ReadWrite.All",
        "741f803b-c850-494e-b5df-cde7c675a1ca",
        Resource::Graph,
    ),
    (
        "Group.Read.All",
        "5b567255-7703-4780-807c-7be8301ae99b",
        Resource::Graph,
    ),
    (
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
        Resource::Graph,
    ),
    (
        "Group.Create",
        "bf7b1a76-6e77-406b-b258-bf5c7720e98f",
        Resource::Graph,
    ),
    (
        "GroupMember.Read.All",
        "98830695-27a2-44f7-8c18-0c3ebc9698f6",
        Resource::Graph,
    ),
    (
        "GroupMember.ReadWrite.All",
        "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
        Resource::Graph,
    ),
    (
        "Domain.Read.All",
        "dbb9058a-0e50-45d7-ae91-66909b5d4664",
        Resource::Graph,
    ),
    (
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
        Resource::Graph,
    ),
    (
        "Directory.Read.All",
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        Resource::Graph,
    ),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        Resource::Graph,
    ),
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        Resource::Graph,
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        Resource::Graph,
    ),
    (
        "RoleManagement.Read.Directory",
        "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
        Resource::Graph,
    ),
    (
        "RoleManagement.ReadWrite.Directory",
        "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        Resource::Graph,
    ),
    (
        "Sites.Read.All",
        "332a536c-c7ef-4017-ab91-336970924f0d",
        Resource::Graph,
    ),
    (
        "Files.Read.All",
        "01d4889c-1287-42c6-ac1f-5d1e02578ef6",
        Resource::Graph,
    ),
    (
        EXCHANGE_MANAGE_AS_APP,
        "dc50a0fb-09a3-484d-be87-e023b12c6440",
        Resource::Exchange,
    ),
];

/// Roles granted at consent unless a tenant is created with an explicit `app_roles` list: what
/// an app registration of m365-inline requests by default (none that can escalate).
pub const DEFAULT_APP_ROLES: &[&str] = &[
    "User.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Domain.Read.All",
    "Organization.Read.All",
    "Application.Read.All",
    "RoleManagement.Read.Directory",
    "Sites.Read.All",
    "Files.Read.All",
    EXCHANGE_MANAGE_AS_APP,
];

/// [`DEFAULT_APP_ROLES`], owned: what consent grants when no roles are named.
pub fn default_app_roles() -> Vec<String> {
    DEFAULT_APP_ROLES.iter().map(|s| (*s).to_owned()).collect()
}

/// Looks up an app role by name (case-insensitive).
pub fn app_role(name: &str) -> Option<(&'static str, &'static str, Resource)> {
    APP_ROLES
        .iter()
        .copied()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
}

/// Looks up an app role by id.
pub fn app_role_by_id(id: &str) -> Option<(&'static str, &'static str, Resource)> {
    APP_ROLES
        .iter()
        .copied()
        .find(|(_, i, _)| i.eq_ignore_ascii_case(id))
}
