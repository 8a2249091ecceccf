//! What a real tenant does that a friendly simulator would not: each test pins one behaviour of
//! Microsoft 365 from its documentation or from production callers (each test names its source;
//! docs/design.md, "External systems", says how the simulator stands in), and fails if the
//! product goes back to assuming the friendly version.

pub mod batch;
pub mod connectors;
pub mod consent;
pub mod consistency;
pub mod delta;
pub mod discovery;
pub mod grants;
pub mod mx;
pub mod request_ids;
pub mod sites;
pub mod users;
