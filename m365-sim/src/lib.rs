//! `m365-sim`: a stateful simulator of the Microsoft 365 surfaces m365-inline calls, on one
//! local origin: the Entra token endpoint, a Microsoft Graph v1.0 subset and the Exchange
//! Online admin `InvokeCommand` API, plus an admin API under `/_sim/` and DNS for its tenants'
//! domains. This crate is the surfaces (routing, bearer checks, Microsoft's answer shapes); what
//! they serve lives in [`model`] (`m365-sim-model`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), m365_sim::SimError> {
//! let sim = m365_sim::Simulator::start(m365_sim::SimConfig::default()).await?;
//! let tenant = sim.create_tenant(&m365_sim::TenantSpec { domains: vec!["contoso.com".into()], ..Default::default() })?;
//! println!("{} {tenant}", sim.base_url());
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod consent;
pub mod dns;
pub mod entra;
pub mod exchange;
mod fault;
pub mod graph;
pub mod reply;
pub mod server;

pub use m365_sim_model::{
    self as model,
    config::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimConfig},
    error::SimError,
    faults::{FaultSpec, Phase},
    stats::Surface,
    tenant::{
        DirectoryPatch, ExchangePreset, GroupSpec, GroupsSpec, RenameUser, TenantSpec, UserSpec, UsersSpec,
    },
};
pub use server::Simulator;
