//! Support for the end-to-end tests and local runs: the template reader, the local stack built
//! from it, and the SDK configuration for the local AWS endpoint.

pub mod aws;
pub mod stack;
pub mod template;
