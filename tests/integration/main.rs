//! End-to-end tests against real local endpoints: moto for AWS (started by `make test`), and
//! m365-sim and a DNS server in this process (the lab of `integration_tests::lab`). One test
//! binary, grouped by what it covers.

mod adapters;
mod faults;
mod fidelity;
mod functions;
mod harness;
mod house;
