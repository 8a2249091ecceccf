//! The removal steps, in order: routing rules before the outbound connectors they reference,
//! and the app's service principal last (after it, no token can be minted).

use super::{DeprovisionRequest, Mode};

/// The seed's deprovisioning.
const STANDARD: [&str; 5] = [
    "stop_daily_sync",
    "stop_reports",
    "remove_routing_rules",
    "remove_outbound_connectors",
    "remove_groups",
];

/// The manual-cleanup list, removed automatically in `full` mode.
const CLEANUP: [&str; 7] = [
    "remove_filter_rules",
    "remove_inbound_connectors",
    "remove_spoof_pair",
    "remove_allowed_ips",
    "remove_role_assignments",
    "remove_service_principal",
    "delete_token_secret",
];

/// The step names for `request`, in the order they run.
pub fn steps(request: &DeprovisionRequest) -> Vec<&'static str> {
    let mut steps = STANDARD.to_vec();
    if request.mode == Mode::Full {
        steps.extend(CLEANUP);
    }
    steps
}
