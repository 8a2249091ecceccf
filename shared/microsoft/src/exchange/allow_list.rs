//! The Default connection-filter policy's IP Allow List: read as a list of entries, changed by
//! adding and removing exactly the given entries (the customer's own stay).

use serde_json::Value;

use super::{Cmdlet, ExchangeAdmin, ExchangeError, add_remove};
use crate::fields::strings;

/// The cmdlet reading the Default connection-filter policy.
pub fn get_filter_policy() -> Cmdlet {
    Cmdlet::new("Get-HostedConnectionFilterPolicy").param("Identity", "Default")
}

/// The entries of the IP Allow List in what [`get_filter_policy`] answered (empty when none).
pub fn allow_list_entries(policy: &[Value]) -> Vec<String> {
    policy
        .first()
        .map(|p| strings(p, "IPAllowList"))
        .unwrap_or_default()
}

/// The entries of the Default policy's IP Allow List (empty when it has none).
pub async fn allowed_ips(exchange: &impl ExchangeAdmin) -> Result<Vec<String>, ExchangeError> {
    Ok(allow_list_entries(&exchange.invoke(&get_filter_policy()).await?))
}

/// The cmdlet adding `add` to the Default policy's IP Allow List and removing `remove` from it.
pub fn set_allowed_ips(add: &[String], remove: &[String]) -> Cmdlet {
    Cmdlet::new("Set-HostedConnectionFilterPolicy")
        .param("Identity", "Default")
        .param("IPAllowList", add_remove(add, remove))
}
