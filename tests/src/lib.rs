//! The test world of m365-inline, shared by the end-to-end tests, the bench and `local-stack`:
//!
//! - [`lab::Lab`]: a private stack on moto, m365-sim and a DNS server in this process, and the
//!   functions' services wired from the environment a function process of the lab has;
//! - [`runtime_api::RuntimeApi`]: a local Lambda Runtime API for function processes;
//! - [`function_url::FunctionUrl`]: a Lambda function URL on loopback, and [`url_functions`]:
//!   `onboard` and `api` served on one; [`browser::Browser`]: the tenant admin's browser at the
//!   consent page; [`chromium::Chromium`]: a real headless Chromium for the operator's pages;
//! - [`capture::Capture`]: the suite's log capture, which the leak checks read; [`emf`]: the
//!   metric documents a function process wrote, checked against the EMF specification; [`bus`]:
//!   the lifecycle events the stack's bus delivered, checked against their schema; [`checker`]:
//!   the Python checkers both use;
//! - [`test_stack::TestStack`]: one test's private stack on moto and the adapters on it;
//! - [`stack`]: the template's table, queues, event bus and secrets on a local endpoint; [`template`]: the
//!   SAM template read as data; [`aws`]: the SDK configuration for the local endpoint.

pub mod aws;
pub mod browser;
pub mod bus;
pub mod capture;
pub mod checker;
pub mod chromium;
pub mod emf;
pub mod function_url;
pub mod lab;
pub mod runtime_api;
pub mod stack;
pub mod template;
pub mod test_stack;
pub mod url_functions;
