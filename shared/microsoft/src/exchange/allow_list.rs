//! The Default connection-filter policy's IP Allow List, read as a list of entries.

use super::{Cmdlet, ExchangeAdmin, ExchangeError};
use crate::fields::strings;

/// The cmdlet reading the Default connection-filter policy.
pub fn get_filter_policy() -> Cmdlet {
    Cmdlet::new("Get-HostedConnectionFilterPolicy").param("Identity", "Default")
}

/// The entries of the Default policy's IP Allow List (empty when it has none).
pub async fn allowed_ips(exchange: &impl ExchangeAdmin) -> Result<Vec<String>, ExchangeError> {
    let policy = exchange.invoke(&get_filter_policy()).await?;
    Ok(policy
        .first()
        .map(|p| strings(p, "IPAllowList"))
        .unwrap_or_default())
}
