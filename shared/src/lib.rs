//! Building blocks shared by every m365-inline function: validated domain types, the sites table,
//! configuration from the environment, JSON-lines tracing, event parsing, the DynamoDB state store
//! and the Secrets Manager token vault.

pub use state::{aws, queue, store, vault};

/// Configuration from the environment (moving to the crates that read it).
pub mod config {
    pub use microsoft::endpoints::EndpointOverrides;
    pub use state::config::*;
}

pub use microsoft::{exchange, graph, http, identity};
pub use model::{cloud, event, policy, rate, retry, service, sites, task, tenant, validation, vendor};

pub mod deprovisioning;
pub mod function;
pub mod policy_targets;
pub mod provisioning;
pub mod refresh;
pub mod status;
pub mod sync;
pub mod telemetry;
pub mod tokens;
pub mod view;

#[cfg(test)]
mod properties;
