//! The vocabulary every m365-inline crate speaks, with no I/O of its own:
//!
//! - ids and states: [`tenant::TenantId`], [`task::TaskId`], lifecycle, task and step statuses;
//! - what an operator chooses: [`sites::Site`] (and its daily sync time), [`cloud::Cloud`],
//!   [`service::Service`], [`policy`] targets, a tenant's [`label`]s (display name, customer
//!   reference, tags);
//! - the vendor's facts and the object names derived from them ([`vendor::VendorConfig`]);
//! - reading the outside world safely: [`event`] parsing and [`validation`] with errors that name
//!   the field, [`config`] sources with errors that name the variable;
//! - what the bus hears: a tenant's lifecycle change as a [`notice::Notice`];
//! - how work is paced: the [`retry::RetryPolicy`] of every Microsoft call and a [`rate::RateLimiter`].

pub mod cloud;
pub mod config;
pub mod event;
pub mod label;
pub mod notice;
pub mod permissions;
pub mod policy;
pub mod rate;
pub mod retry;
pub mod service;
pub mod sites;
pub mod task;
pub mod tenant;
pub mod validation;
pub mod vendor;
