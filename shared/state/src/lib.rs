//! Where m365-inline keeps things, through the AWS SDK:
//!
//! - [`store::Store`]: the one DynamoDB table (tenants, tasks and steps, managed resources),
//!   every lifecycle write conditional on the version read;
//! - [`vault::Vault`]: one Secrets Manager secret per tenant for its tokens, and the app's own
//!   credentials, held in `secrecy` types;
//! - [`queue::Queue`]: task continuations and per-tenant sync messages on SQS;
//! - [`bus::EventBus`]: lifecycle notices on the stack's EventBridge bus;
//! - [`signing::KmsKey`]: the app's certificate key in KMS, which signs its client assertions;
//! - [`seal::MacKey`]: an HMAC key in KMS that seals values handed to a browser and read back;
//! - [`parameters`]: the vendor document from SSM Parameter Store, read once per process;
//! - [`config`]: the environment that names the table, secrets and queues; [`aws`]: the SDK's
//!   configuration and error descriptions for operators.

pub mod aws;
pub mod bus;
pub mod config;
pub mod parameters;
pub mod queue;
pub mod seal;
pub mod signing;
pub mod store;
pub mod vault;
