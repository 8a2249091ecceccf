//! The lifecycle of a tenant's inline protection, above the vocabulary (`model`), the Microsoft
//! clients (`microsoft`) and the AWS adapters (`state`):
//!
//! - [`tasks`]: the task engine, a resumable step machine that knows no task kind;
//! - [`provisioning`], [`deprovisioning`], [`policy_targets`]: the three kinds of task, as peers;
//! - [`Lifecycle`]: the doors of `provision`, `deprovision` and `policy-targets`, and the
//!   continuations of every kind;
//! - [`onboarding`]: `onboard` (the consent link, its callback); [`verify`]: Verify, the check
//!   of a tenant's grant;
//! - [`console`]: the operator API (`api`): the fleet, a tenant, a task, a run, and the actions
//!   an operator takes, each through its function's door;
//! - [`sync`]: `daily-sync` and `sync-worker`; [`refresh`]: `token-refresh`; [`status`];
//!   [`reconsent`]: a tenant whose grant is gone, as any of them finds it;
//! - [`tokens`]: the one token path; [`clients`]: Microsoft clients made with it; [`calls`]:
//!   what their calls (and the store's) fail with, classified once;
//! - [`announce`]: a tenant's lifecycle change put on the event bus, after it is recorded;
//! - [`deadline`]: the invocation's deadline, kept back from by long work;
//! - [`function`]: the Lambda process every function's `main` runs; [`telemetry`]: its logs;
//!   [`span`]: the spans whose fields (tenant, task, step, run, message) every line carries;
//!   [`meter`]: its metrics, as CloudWatch Embedded Metric Format.
//!
//! | function | its services | where its logic is |
//! |---|---|---|
//! | `provision`, `deprovision`, `policy-targets` | [`Lifecycle`] | [`entry`], [`tasks`] and the kind's module |
//! | `onboard` | [`onboarding::Onboarding`] | [`onboarding`], [`verify`] |
//! | `status` | [`state::store::Store`] | [`status`] |
//! | `api` | [`console::Console`] | [`console`] |
//! | `daily-sync` | [`sync::DailySync`] | [`sync::daily`] |
//! | `sync-worker` | [`sync::Syncer`] | [`sync::worker`] |
//! | `token-refresh` | [`refresh::Refresher`] | [`refresh`] |

pub mod announce;
pub mod calls;
pub mod clients;
pub mod console;
pub mod deadline;
pub mod deprovisioning;
pub mod entry;
pub mod function;
pub mod meter;
pub mod onboarding;
pub mod policy_targets;
pub mod provisioning;
pub mod reconsent;
pub mod refresh;
pub mod span;
pub mod status;
pub mod sync;
pub mod tasks;
pub mod telemetry;
pub mod tokens;
pub mod verify;

pub use self::entry::{Answer, Lifecycle};

#[cfg(test)]
mod properties;
