//! The steps of provisioning, each declared once, in the order they run: its service, which
//! requests want it, what it runs and the calls it makes (for `dry_run`). Names in records and
//! views are the variants in snake case.

use model::service::Service::{ExchangeOnline, Onedrive, SharepointOnline};
use strum::{EnumIter, IntoStaticStr};

use super::{
    request::ProvisionRequest,
    steps::{allow_lists, connectors, grants, groups, role, rules, tenant},
};
use crate::tasks::{Declaration, Step};

/// One step of provisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ProvisionStep {
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

impl Step for ProvisionStep {
    type Request = ProvisionRequest;

    fn declaration(self) -> Declaration<ProvisionRequest> {
        match self {
            Self::Preflight => {
                Declaration::alone(|ctx| Box::pin(tenant::preflight(ctx))).calls(tenant::preflight_calls)
            }
            Self::PromoteDelegates => {
                Declaration::with_request(|ctx, request| Box::pin(tenant::promote_delegates(ctx, request)))
                    .when(|request| request.options.promote_delegates_to_global_admin)
                    .calls(tenant::promote_delegates_calls)
            }
            Self::AssignExchangeRole => Declaration::alone(|ctx| Box::pin(role::assign_exchange_role(ctx)))
                .service(ExchangeOnline)
                .calls(role::assign_exchange_role_calls),
            Self::CheckExchange => Declaration::alone(|ctx| Box::pin(role::check_exchange(ctx)))
                .service(ExchangeOnline)
                .calls(role::check_exchange_calls),
            Self::CreateGroups => Declaration::alone(|ctx| Box::pin(groups::create_groups(ctx)))
                .service(ExchangeOnline)
                .calls(groups::create_groups_calls),
            Self::SetGroupMembers => Declaration::alone(|ctx| Box::pin(groups::set_group_members(ctx)))
                .service(ExchangeOnline)
                .calls(groups::set_group_members_calls),
            Self::WaitForGroups => Declaration::alone(|ctx| Box::pin(groups::wait_for_groups(ctx)))
                .service(ExchangeOnline)
                .calls(groups::wait_for_groups_calls),
            Self::CreateConnectors => Declaration::alone(|ctx| Box::pin(connectors::create_connectors(ctx)))
                .service(ExchangeOnline)
                .calls(connectors::create_connectors_calls),
            Self::CreateRules => Declaration::alone(|ctx| Box::pin(rules::create_rules(ctx)))
                .service(ExchangeOnline)
                .calls(rules::create_rules_calls),
            Self::AddSpoofPair => Declaration::alone(|ctx| Box::pin(allow_lists::add_spoof_pair(ctx)))
                .service(ExchangeOnline)
                .calls(allow_lists::add_spoof_pair_calls),
            Self::AddAllowedIps => Declaration::alone(|ctx| Box::pin(allow_lists::add_allowed_ips(ctx)))
                .service(ExchangeOnline)
                .when(|request: &ProvisionRequest| request.options.ip_allow_list)
                .calls(allow_lists::add_allowed_ips_calls),
            Self::EnableRules => Declaration::alone(|ctx| Box::pin(rules::enable_rules(ctx)))
                .service(ExchangeOnline)
                .calls(rules::enable_rules_calls),
            Self::CheckSharepoint => Declaration::alone(|ctx| Box::pin(grants::check_sharepoint(ctx)))
                .service(SharepointOnline)
                .calls(grants::check_sharepoint_calls),
            Self::CheckOnedrive => Declaration::alone(|ctx| Box::pin(grants::check_onedrive(ctx)))
                .service(Onedrive)
                .calls(grants::check_onedrive_calls),
        }
    }
}

#[cfg(test)]
mod tests {
    use model::vendor::ManagedNames;
    use strum::IntoEnumIterator;

    use super::*;
    use crate::{
        provisioning::{Provisioning, dry_run},
        tasks::TaskPlan,
    };

    fn request(json: serde_json::Value) -> ProvisionRequest {
        ProvisionRequest::parse(json).expect("valid")
    }

    #[test]
    fn the_order_is_the_design_order_and_rules_are_enabled_last() {
        let all = Provisioning::steps(&request(
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
        for kind in ProvisionStep::iter() {
            assert_eq!(ProvisionStep::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn options_add_and_remove_steps() {
        let only_exchange = request(serde_json::json!({
            "tenant_id": "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "site": "eu", "services": ["exchange_online"],
            "options": {"ip_allow_list": false, "promote_delegates_to_global_admin": true, "delegates": ["d@contoso.com"], "requested_by": "ops"}
        }));
        let kinds = Provisioning::steps(&only_exchange);
        assert!(kinds.contains(&ProvisionStep::PromoteDelegates));
        assert!(!kinds.contains(&ProvisionStep::AddAllowedIps));
        assert!(!kinds.contains(&ProvisionStep::CheckSharepoint));
        let plan = dry_run(&only_exchange, &ManagedNames::new("TMCAS")).plan;
        assert_eq!(plan.len(), kinds.len());
        assert!(plan.iter().all(|step| !step.calls.is_empty()));
    }

    #[test]
    fn only_delegate_promotion_needs_its_request() {
        let with_request: Vec<_> = ProvisionStep::iter()
            .filter(|step| matches!(step.declaration().run, crate::tasks::Run::WithRequest(_)))
            .collect();
        assert_eq!(with_request, [ProvisionStep::PromoteDelegates]);
    }
}
