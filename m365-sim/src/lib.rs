//! `m365-sim`: a stateful simulator of the Microsoft 365 surfaces m365-inline calls, on one
//! local origin: the Entra token endpoint, a Microsoft Graph v1.0 subset and the Exchange
//! Online admin `InvokeCommand` API, plus an admin API under `/_sim/`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), m365_sim::SimError> {
//! let sim = m365_sim::Simulator::start(m365_sim::SimConfig::default()).await?;
//! let tenant = sim.create_tenant(&m365_sim::TenantSpec { domains: vec!["contoso.com".into()], ..Default::default() })?;
//! println!("{} {tenant}", sim.base_url());
//! # Ok(()) }
//! ```

pub mod admin;
pub mod assertion;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod dns;
pub mod entra;
pub mod error;
pub mod exchange;
pub mod faults;
pub mod graph;
pub mod ids;
pub mod reply;
pub mod server;
pub mod state;
pub mod stats;
pub mod tenant;
pub mod token;

pub use config::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimConfig};
pub use error::SimError;
pub use faults::{FaultSpec, Phase};
pub use server::Simulator;
pub use stats::Surface;
pub use tenant::{
    DirectoryPatch, ExchangePreset, GroupSpec, GroupsSpec, RenameUser, TenantSpec, UserSpec, UsersSpec,
};
