//! End-to-end tests against real local endpoints: moto for AWS (started by `make test`).
//! One test binary, one module per topic.

mod child;
mod crash;
mod deprovision;
mod events;
mod hostile;
mod policy_targets;
mod privilege;
mod provision;
mod races;
mod refresh;
mod runtime_api;
mod served;
mod store;
mod storm;
mod support;
mod sync;
mod template;
mod vault;
