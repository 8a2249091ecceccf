//! Contract and behaviour tests of m365-sim over HTTP, one module per surface.

mod common;

mod admin;
mod batch;
mod consent;
mod delta;
mod exchange;
mod faults;
mod fixtures;
mod graph;
mod process;
mod reference;
mod token;
