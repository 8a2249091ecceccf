//! Building blocks shared by every m365-inline function: validated domain types, the sites table,
//! configuration from the environment, JSON-lines tracing, event parsing, the DynamoDB state store
//! and the Secrets Manager token vault.

pub mod aws;
pub mod cloud;
pub mod config;
pub mod deprovisioning;
pub mod event;
pub mod exchange;
pub mod function;
pub mod graph;
pub mod http;
pub mod identity;
pub mod policy;
pub mod policy_targets;
pub mod provisioning;
pub mod queue;
pub mod rate;
pub mod refresh;
pub mod retry;
pub mod service;
pub mod sites;
pub mod status;
pub mod store;
pub mod sync;
pub mod task;
pub mod telemetry;
pub mod tenant;
pub mod tokens;
pub mod validation;
pub mod vault;
pub mod vendor;
pub mod view;

#[cfg(test)]
mod properties;
