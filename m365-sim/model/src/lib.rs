//! m365-sim's model: everything the simulator knows, and nothing about HTTP.
//!
//! - [`state::SimState`]: the tenants (by id and domain), issued tokens, faults, request counts
//!   and the simulated clock, shared by every request handler;
//! - [`tenant::Tenant`]: one tenant's directory, consent and Exchange objects, and the
//!   `/_sim/` inputs that create and change it ([`tenant::TenantSpec`], ...);
//! - [`exchange`]: the cmdlets the product runs, with Exchange's validation, on a tenant;
//! - [`token`], [`assertion`]: tokens the simulator signs, and the client assertions it checks;
//! - [`faults`], [`stats`], [`clock`], [`ids`], [`ip`], [`catalog`] (Microsoft's well-known
//!   ids), [`config`] and [`error`].

pub mod assertion;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod error;
pub mod exchange;
pub mod faults;
pub mod ids;
pub mod ip;
pub mod registration;
pub mod state;
pub mod stats;
pub mod tenant;
pub mod token;
