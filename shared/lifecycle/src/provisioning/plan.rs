//! The steps of provisioning, in order (DESIGN §6), and the calls each makes (for `dry_run`).

use serde::Serialize;

use super::request::ProvisionRequest;
use model::{service::Service, vendor::ManagedNames};

/// One step of provisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Tokens for both resources, the organization, the app's service principal and its grants.
    Preflight,
    /// Global Administrator for the named delegates (legacy option; audited).
    PromoteDelegates,
    /// The Exchange Administrator role for the app, which app-only Exchange access needs.
    AssignExchangeRole,
    /// Exchange answers; accepted domains; objects of other vendors that may conflict.
    CheckExchange,
    /// The two virtual groups.
    CreateGroups,
    /// The protected users and groups' members in the virtual groups.
    SetGroupMembers,
    /// Until Exchange sees the new groups (they propagate slowly).
    WaitForGroups,
    /// The four connectors.
    CreateConnectors,
    /// The six transport rules, disabled.
    CreateRules,
    /// The spoofed-sender allow pair.
    AddSpoofPair,
    /// The vendor IPs in the connection-filter IP Allow List.
    AddAllowedIps,
    /// Turn the rules on: the last step, so mail is only rerouted once everything is in place.
    EnableRules,
    /// SharePoint Online grant, proved by reading the root site.
    CheckSharepoint,
    /// OneDrive grant, proved by reading a user's drive.
    CheckOnedrive,
}

/// Every step kind, for looking steps up by name.
const ALL: [StepKind; 14] = [
    StepKind::Preflight,
    StepKind::PromoteDelegates,
    StepKind::AssignExchangeRole,
    StepKind::CheckExchange,
    StepKind::CreateGroups,
    StepKind::SetGroupMembers,
    StepKind::WaitForGroups,
    StepKind::CreateConnectors,
    StepKind::CreateRules,
    StepKind::AddSpoofPair,
    StepKind::AddAllowedIps,
    StepKind::EnableRules,
    StepKind::CheckSharepoint,
    StepKind::CheckOnedrive,
];

impl StepKind {
    /// The step's name in records and views.
    pub fn name(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::PromoteDelegates => "promote_delegates",
            Self::AssignExchangeRole => "assign_exchange_role",
            Self::CheckExchange => "check_exchange",
            Self::CreateGroups => "create_groups",
            Self::SetGroupMembers => "set_group_members",
            Self::WaitForGroups => "wait_for_groups",
            Self::CreateConnectors => "create_connectors",
            Self::CreateRules => "create_rules",
            Self::AddSpoofPair => "add_spoof_pair",
            Self::AddAllowedIps => "add_allowed_ips",
            Self::EnableRules => "enable_rules",
            Self::CheckSharepoint => "check_sharepoint",
            Self::CheckOnedrive => "check_onedrive",
        }
    }

    /// The step of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The service the step belongs to; `None` for tenant-wide steps.
    pub fn service(self) -> Option<Service> {
        match self {
            Self::Preflight | Self::PromoteDelegates => None,
            Self::CheckSharepoint => Some(Service::SharepointOnline),
            Self::CheckOnedrive => Some(Service::Onedrive),
            _ => Some(Service::ExchangeOnline),
        }
    }
}

/// The steps for `request`, in the order they run: tenant-wide first, then each service.
pub fn steps(request: &ProvisionRequest) -> Vec<StepKind> {
    let mut steps = vec![StepKind::Preflight];
    if request.options.promote_delegates_to_global_admin {
        steps.push(StepKind::PromoteDelegates);
    }
    for service in Service::ALL.into_iter().filter(|s| request.services.contains(s)) {
        match service {
            Service::ExchangeOnline => {
                steps.extend([
                    StepKind::AssignExchangeRole,
                    StepKind::CheckExchange,
                    StepKind::CreateGroups,
                    StepKind::SetGroupMembers,
                    StepKind::WaitForGroups,
                    StepKind::CreateConnectors,
                    StepKind::CreateRules,
                    StepKind::AddSpoofPair,
                ]);
                if request.options.ip_allow_list {
                    steps.push(StepKind::AddAllowedIps);
                }
                steps.push(StepKind::EnableRules);
            }
            Service::SharepointOnline => steps.push(StepKind::CheckSharepoint),
            Service::Onedrive => steps.push(StepKind::CheckOnedrive),
        }
    }
    steps
}

/// One call a step makes, for the `dry_run` plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCall {
    /// `graph`, `exchange` or `token`.
    pub surface: &'static str,
    /// HTTP method and path, or the cmdlet.
    pub call: String,
    /// The object it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Whether it changes the tenant (only when the object is missing).
    pub writes: bool,
}

/// A step with its calls, for the `dry_run` plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// The service, or `tenant`.
    pub service: &'static str,
    /// The step.
    pub step: StepKind,
    /// Its calls in order.
    pub calls: Vec<PlannedCall>,
}

fn call(surface: &'static str, call: &str, target: Option<&str>, writes: bool) -> PlannedCall {
    PlannedCall {
        surface,
        call: call.to_owned(),
        target: target.map(str::to_owned),
        writes,
    }
}

/// For each target: the look-up, then the write made only when the look-up finds nothing to do.
fn look_then_write(surface: &'static str, look: &str, write: &str, targets: &[&str]) -> Vec<PlannedCall> {
    targets
        .iter()
        .flat_map(|target| {
            [
                call(surface, look, Some(target), false),
                call(surface, write, Some(target), true),
            ]
        })
        .collect()
}

/// The full ordered plan of calls for `request`; nothing is called.
pub fn dry_run(request: &ProvisionRequest, names: &ManagedNames) -> Vec<PlannedStep> {
    steps(request)
        .into_iter()
        .map(|step| {
            let calls = match step {
                StepKind::Preflight => vec![
                    call(
                        "token",
                        "POST /{tenant}/oauth2/v2.0/token scope=https://graph.microsoft.com/.default",
                        None,
                        false,
                    ),
                    call(
                        "token",
                        "POST /{tenant}/oauth2/v2.0/token scope=https://outlook.office365.com/.default",
                        None,
                        false,
                    ),
                    call(
                        "graph",
                        "GET /organization?$select=id,displayName,verifiedDomains",
                        None,
                        false,
                    ),
                    call(
                        "graph",
                        "GET /servicePrincipals(appId='{client_id}')?$select=id,appId,displayName",
                        None,
                        false,
                    ),
                    call(
                        "graph",
                        "GET /servicePrincipals/{id}/appRoleAssignments?$select=appRoleId,resourceId",
                        None,
                        false,
                    ),
                ],
                StepKind::PromoteDelegates => request
                    .options
                    .delegates
                    .iter()
                    .map(|upn| {
                        call(
                            "graph",
                            "POST /roleManagement/directory/roleAssignments (Global Administrator)",
                            Some(upn.as_str()),
                            true,
                        )
                    })
                    .collect(),
                StepKind::AssignExchangeRole => vec![
                    call(
                        "graph",
                        "GET /roleManagement/directory/roleAssignments?$filter=principalId eq '{sp}'",
                        None,
                        false,
                    ),
                    call(
                        "graph",
                        "POST /roleManagement/directory/roleAssignments (Exchange Administrator)",
                        None,
                        true,
                    ),
                ],
                StepKind::CheckExchange => [
                    "Get-AcceptedDomain",
                    "Get-InboundConnector",
                    "Get-OutboundConnector",
                    "Get-TransportRule",
                ]
                .into_iter()
                .map(|cmdlet| call("exchange", cmdlet, None, false))
                .collect(),
                StepKind::CreateGroups => look_then_write(
                    "graph",
                    "GET /groups?$filter=mailNickname eq '{nickname}'",
                    "POST /groups (Unified, WelcomeEmailDisabled, HideGroupInOutlook)",
                    &[&names.incoming_group, &names.outgoing_group],
                ),
                StepKind::SetGroupMembers => vec![
                    call("graph", "POST /$batch GET /users/{upn}?$select=id", None, false),
                    call(
                        "graph",
                        "POST /$batch POST /groups/{id}/members/$ref",
                        Some(&names.incoming_group),
                        true,
                    ),
                    call(
                        "graph",
                        "POST /$batch POST /groups/{id}/members/$ref",
                        Some(&names.outgoing_group),
                        true,
                    ),
                ],
                StepKind::WaitForGroups => [&names.incoming_group, &names.outgoing_group]
                    .into_iter()
                    .map(|group| call("exchange", "Get-UnifiedGroup", Some(group), false))
                    .collect(),
                StepKind::CreateConnectors => [
                    look_then_write(
                        "exchange",
                        "Get-OutboundConnector",
                        "New-OutboundConnector",
                        &[&names.outbound_incoming, &names.outbound_outgoing],
                    ),
                    look_then_write(
                        "exchange",
                        "Get-InboundConnector",
                        "New-InboundConnector",
                        &[&names.inbound_incoming, &names.inbound_outgoing],
                    ),
                ]
                .concat(),
                StepKind::CreateRules => look_then_write(
                    "exchange",
                    "Get-TransportRule",
                    "New-TransportRule (Enabled: false)",
                    &names.rules(),
                ),
                StepKind::AddSpoofPair => vec![
                    call("exchange", "Get-TenantAllowBlockListSpoofItems", None, false),
                    call("exchange", "New-TenantAllowBlockListSpoofItems", None, true),
                ],
                StepKind::AddAllowedIps => vec![
                    call(
                        "exchange",
                        "Get-HostedConnectionFilterPolicy Default",
                        None,
                        false,
                    ),
                    call(
                        "exchange",
                        "Set-HostedConnectionFilterPolicy Default IPAllowList @{Add=<missing vendor IPs>}",
                        None,
                        true,
                    ),
                ],
                StepKind::EnableRules => look_then_write(
                    "exchange",
                    "Get-TransportRule",
                    "Enable-TransportRule",
                    &names.rules(),
                ),
                StepKind::CheckSharepoint => {
                    vec![call("graph", "GET /sites/root?$select=id,webUrl", None, false)]
                }
                StepKind::CheckOnedrive => vec![
                    call("graph", "GET /users?$top=1&$select=id", None, false),
                    call("graph", "GET /users/{id}/drive?$select=id", None, false),
                ],
            };
            PlannedStep {
                service: crate::view::scope_name(step.service()),
                step,
                calls,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> ProvisionRequest {
        ProvisionRequest::parse(json).expect("valid")
    }

    #[test]
    fn the_order_is_the_design_order_and_rules_are_enabled_last() {
        let all = steps(&request(
            serde_json::json!({"tenant_id": "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "site": "eu"}),
        ));
        let names: Vec<_> = all.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "preflight",
                "assign_exchange_role",
                "check_exchange",
                "create_groups",
                "set_group_members",
                "wait_for_groups",
                "create_connectors",
                "create_rules",
                "add_spoof_pair",
                "add_allowed_ips",
                "enable_rules",
                "check_sharepoint",
                "check_onedrive"
            ]
        );
        for kind in ALL {
            assert_eq!(StepKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn options_add_and_remove_steps() {
        let only_exchange = request(serde_json::json!({
            "tenant_id": "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "site": "eu", "services": ["exchange_online"],
            "options": {"ip_allow_list": false, "promote_delegates_to_global_admin": true, "delegates": ["d@contoso.com"]}
        }));
        let kinds = steps(&only_exchange);
        assert!(kinds.contains(&StepKind::PromoteDelegates));
        assert!(!kinds.contains(&StepKind::AddAllowedIps));
        assert!(!kinds.contains(&StepKind::CheckSharepoint));
        let plan = dry_run(&only_exchange, &ManagedNames::new("TMCAS"));
        assert_eq!(plan.len(), kinds.len());
        assert!(plan.iter().all(|step| !step.calls.is_empty()));
    }
}
