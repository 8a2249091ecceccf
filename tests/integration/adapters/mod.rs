//! The AWS adapters and the template against moto: the state store, the token vault, and the
//! template the local stack is made from, and what it gives on-call (dashboard, queries, outputs).

pub mod observability;
pub mod parameters;
pub mod seal;
pub mod store;
pub mod template;
pub mod vault;
