//! The removal steps, each declared once, in the order they run: routing rules before the
//! outbound connectors they reference, and the app's service principal last (after it, no token
//! can be minted). `standard` runs the predecessor's five and schedules the token secret's
//! deletion; `full` adds the manual-cleanup list and forgets what the sync kept.

use strum::{EnumIter, IntoStaticStr};

use super::{
    DeprovisionRequest, Mode,
    steps::{self, Named},
};
use crate::tasks::{Declaration, Step};

/// One step of deprovisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum DeprovisionStep {
    /// The tenant leaves its site's daily sync.
    StopDailySync,
    /// The tenant's scheduled reports are disabled.
    StopReports,
    /// The four routing rules.
    RemoveRoutingRules,
    /// The two outbound connectors.
    RemoveOutboundConnectors,
    /// The two virtual groups.
    RemoveGroups,
    /// The skip-spam and junk rules (full mode, as every step below).
    RemoveFilterRules,
    /// The two inbound connectors.
    RemoveInboundConnectors,
    /// The spoofed-sender allow entry we added.
    RemoveSpoofPair,
    /// Exactly the IPs we added to the IP Allow List.
    RemoveAllowedIps,
    /// The directory role assignments we made.
    RemoveRoleAssignments,
    /// The app's service principal: the last Microsoft call.
    RemoveServicePrincipal,
    /// The directory snapshot, sync state and drift records.
    ForgetSyncRecords,
    /// The tenant's token secret (and any refresh token), scheduled for deletion (both modes).
    DeleteTokenSecret,
}

/// Full mode only: the predecessor's manual-cleanup list.
fn full(request: &DeprovisionRequest) -> bool {
    request.mode == Mode::Full
}

impl Step for DeprovisionStep {
    type Request = DeprovisionRequest;

    fn declaration(self) -> Declaration<DeprovisionRequest> {
        match self {
            Self::StopDailySync => Declaration::alone(|ctx| Box::pin(steps::stop_daily_sync(ctx))),
            Self::StopReports => Declaration::alone(|ctx| Box::pin(steps::stop_reports(ctx))),
            Self::RemoveRoutingRules => Declaration::with_request(|ctx, request| {
                Box::pin(steps::remove(ctx, request, Named::RoutingRules))
            }),
            Self::RemoveOutboundConnectors => Declaration::with_request(|ctx, request| {
                Box::pin(steps::remove(ctx, request, Named::OutboundConnectors))
            }),
            Self::RemoveGroups => {
                Declaration::with_request(|ctx, request| Box::pin(steps::remove_groups(ctx, request)))
            }
            Self::RemoveFilterRules => Declaration::with_request(|ctx, request| {
                Box::pin(steps::remove(ctx, request, Named::FilterRules))
            })
            .when(full),
            Self::RemoveInboundConnectors => Declaration::with_request(|ctx, request| {
                Box::pin(steps::remove(ctx, request, Named::InboundConnectors))
            })
            .when(full),
            Self::RemoveSpoofPair => {
                Declaration::with_request(|ctx, request| Box::pin(steps::remove_spoof_pair(ctx, request)))
                    .when(full)
            }
            Self::RemoveAllowedIps => {
                Declaration::with_request(|ctx, request| Box::pin(steps::remove_allowed_ips(ctx, request)))
                    .when(full)
            }
            Self::RemoveRoleAssignments => {
                Declaration::alone(|ctx| Box::pin(steps::remove_role_assignments(ctx))).when(full)
            }
            Self::RemoveServicePrincipal => {
                Declaration::alone(|ctx| Box::pin(steps::remove_service_principal(ctx))).when(full)
            }
            Self::ForgetSyncRecords => {
                Declaration::alone(|ctx| Box::pin(steps::forget_sync_records(ctx))).when(full)
            }
            Self::DeleteTokenSecret => Declaration::alone(|ctx| Box::pin(steps::delete_token_secret(ctx))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(mode: &str) -> Vec<&'static str> {
        let request = DeprovisionRequest::parse(serde_json::json!({
            "tenant_id": "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11", "mode": mode
        }))
        .expect("valid");
        DeprovisionStep::wanted_by(&request)
            .into_iter()
            .map(Step::name)
            .collect()
    }

    #[test]
    fn standard_is_the_predecessors_list_and_full_adds_the_cleanup_with_the_app_last_and_the_secret_after() {
        let standard = [
            "stop_daily_sync",
            "stop_reports",
            "remove_routing_rules",
            "remove_outbound_connectors",
            "remove_groups",
        ];
        assert_eq!(names("standard")[..5], standard);
        assert_eq!(names("standard")[5..], ["delete_token_secret"]);
        let full = names("full");
        assert_eq!(full[..5], standard);
        assert_eq!(
            full[5..],
            [
                "remove_filter_rules",
                "remove_inbound_connectors",
                "remove_spoof_pair",
                "remove_allowed_ips",
                "remove_role_assignments",
                "remove_service_principal",
                "forget_sync_records",
                "delete_token_secret"
            ]
        );
    }
}
