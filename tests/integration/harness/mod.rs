//! The harness the other tests stand on: a function run in its own process.

pub mod child;
