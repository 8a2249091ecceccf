//! Each function through its library handler (and served as Lambda serves it), end to end.

pub mod api;
pub mod cli;
pub mod deprovision;
pub mod environment;
pub mod events;
pub mod lifecycle_events;
pub mod onboard;
pub mod pages;
pub mod permissions;
pub mod policy_targets;
pub mod promotion;
pub mod provision;
pub mod refresh;
pub mod runs;
pub mod served;
pub mod sync;
