//! Building blocks shared by every m365-inline function: validated domain types, the sites table,
//! configuration from the environment, JSON-lines tracing, event parsing, the DynamoDB state store
//! and the Secrets Manager token vault.

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
