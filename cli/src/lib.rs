//! `m365-inline`: the operator's command line. It runs a tenant's whole lifecycle and watches the
//! fleet through the operator API (`api`; the deployed stack's `ApiUrl`, SigV4-signed with the
//! caller's AWS credentials, or the local stack's URL from `.env.local`), and makes the app
//! registration's definition and its certificate for the stack's KMS signing key.
//!
//! Exit status: 0 done; 1 refused or failed (the message says what to do); 3 a watched task
//! ended `failed`.

pub mod api;
mod commands;
pub mod output;
pub mod proxy;
pub mod watch;

use clap::{Parser, Subcommand, ValueEnum};

pub use self::commands::{Outcome, run};

/// The operator's command line of m365-inline.
#[derive(Debug, Parser)]
#[command(name = "m365-inline", version)]
pub struct Cli {
    /// The operator API's base URL (the stack's `ApiUrl`); else `API_URL`, else `.env.local`'s.
    #[arg(long, global = true)]
    pub api_url: Option<String>,
    /// How to print answers.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// The API's JSON, for scripts.
    Json,
}

/// A command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The fleet's tenants (`tenants list`).
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// One tenant: `show` (state, attention, services, resources, last sync, recent tasks) or
    /// `label` (display name, customer reference, tags).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The fleet at a glance: tenants by state, who needs attention, each site's last run, the
    /// last token refresh.
    Fleet,
    /// A task per service and step; `--watch` follows it until it ends.
    Task {
        /// The task.
        task_id: String,
        /// Follow it until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// The web pages of the API in your browser: serves on 127.0.0.1 and forwards each page
    /// request to the API's `/ui/`, signed with your AWS credentials.
    Ui {
        /// The loopback port to serve on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// A site's run on a UTC date: queued, synced, failed, skipped, its failures.
    Run {
        /// The site (`eu`, `us`, ...).
        site: String,
        /// The date (`YYYY-MM-DD`).
        date: String,
    },
    /// Provisions a tenant (its admin must have consented: see `consent-link`).
    Provision {
        /// The tenant's id.
        tenant_id: String,
        /// Its site.
        #[arg(long)]
        site: String,
        /// The services (default: all three); repeat for more.
        #[arg(long = "service")]
        services: Vec<String>,
        /// The rest of the request (policy targets, options) as the `provision` function takes it.
        #[arg(long)]
        request_file: Option<std::path::PathBuf>,
        /// Follow the task until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// Deprovisions a tenant.
    Deprovision {
        /// The tenant's id.
        tenant_id: String,
        /// `standard` leaves the tenant's own objects, `full` removes everything we made.
        #[arg(long, default_value = "standard")]
        mode: String,
        /// Go on although messages are held in quarantine.
        #[arg(long)]
        acknowledge_quarantine: bool,
        /// Follow the task until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// Replaces a tenant's policy targets (`{"domains", "users", "groups"}` in a file).
    PolicyTargets {
        /// The tenant's id.
        tenant_id: String,
        /// The targets as JSON.
        #[arg(long)]
        targets_file: std::path::PathBuf,
        /// Follow the task until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// A consent link for a tenant's admin (by id or any of its domains).
    ConsentLink {
        /// The tenant's id or a domain.
        tenant: String,
        /// Its site.
        #[arg(long)]
        site: String,
        /// Start provisioning once the admin consents.
        #[arg(long)]
        provision: bool,
    },
    /// Verify: the tenant's grant checked, item by item.
    Verify {
        /// The tenant's id.
        tenant_id: String,
    },
    /// A site's daily sync now (`--site`), or one tenant's sync now (`--tenant`).
    Sync {
        /// The site.
        #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant")]
        site: Option<String>,
        /// The run's UTC date (default today); a site syncs once per date.
        #[arg(long, requires = "site", conflicts_with = "tenant")]
        date: Option<String>,
        /// The tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Stops a tenant's daily sync and token refresh (its tasks still run).
    Pause {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Starts a paused tenant's daily sync and token refresh again.
    Resume {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Writes (to standard output) a self-signed certificate of the app's KMS signing key, to
    /// upload to the app registration's "Certificates & secrets" and to put, as
    /// `certificate_pem`, in the app-credentials secret. KMS signs it; the key never leaves KMS.
    AppCertificate {
        /// The KMS key: id, ARN or alias (the stack's `AppSigningKeyArn` output).
        #[arg(long)]
        key_id: String,
        /// The certificate's subject (and issuer) common name.
        #[arg(long, default_value = "m365-inline")]
        common_name: String,
        /// Days the certificate is valid; make and register the next one before they end.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Writes (to standard output) the multi-tenant app registration as Graph's `application`
    /// object: every permission of the default set (and of the opt-ins named) as an app role,
    /// and the consent callback as its redirect URI. Create it in the vendor's own tenant of
    /// each cloud with `POST {graph}/v1.0/applications` (README: The app registration).
    AppRegistration {
        /// The consent callback (the onboard function's URL + `/consent/callback`); repeat for more.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A template parameter whose escalating permission the deployment opts in to
        /// (`AppAssignsExchangeRole`, `AppRemovesItself`); repeat for both.
        #[arg(long = "opt-in")]
        opt_ins: Vec<String>,
        /// The app's display name (what tenant admins see on the consent page).
        #[arg(long, default_value = "m365-inline")]
        display_name: String,
    },
}

/// `tenants …`.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Lists tenants, narrowed by state, site, tag or attention; every page unless `--limit`.
    List {
        /// Only this lifecycle state.
        #[arg(long)]
        state: Option<String>,
        /// Only this site.
        #[arg(long)]
        site: Option<String>,
        /// Only tenants with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only tenants someone must act on.
        #[arg(long)]
        attention: bool,
        /// At most this many (one page, 1-100).
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// `tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// One tenant in detail.
    Show {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Sets a tenant's display name, customer reference or tags (`--tag` repeated replaces them).
    Label {
        /// The tenant's id.
        tenant_id: String,
        /// The name you know it by (`""` clears it).
        #[arg(long)]
        name: Option<String>,
        /// Your reference (`""` clears it).
        #[arg(long = "ref")]
        customer_ref: Option<String>,
        /// A tag; repeat for more; `--clear-tags` removes them all.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Removes every tag.
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
    },
}

/// Why a command failed, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// KMS could not read or sign with the key.
    #[error(
        "{0}\nThe key must be an RSA key with KeyUsage SIGN_VERIFY, and your AWS credentials need kms:GetPublicKey and kms:Sign on it (the stack's key policy lets administrators read the public key but not sign: deploy with AppCertificateSignerArn set to your role for the signing, then clear it)."
    )]
    Kms(String),
    /// The registration cannot be made from these arguments.
    #[error("{0}")]
    Registration(String),
    /// No API URL anywhere.
    #[error(
        "no operator API to talk to: give --api-url (the stack's ApiUrl output) or set API_URL; locally, run `make local-up` here (it writes API_URL to .env.local) and serve the functions with `cargo lambda watch`"
    )]
    NoApi,
    /// The API URL does not read.
    #[error("--api-url {0}: give the stack's ApiUrl output")]
    BadApiUrl(String),
    /// Signing needs a region.
    #[error("no AWS region to sign for: set AWS_REGION (or a profile's region) to the stack's region")]
    NoRegion,
    /// No credentials to sign with.
    #[error(
        "no AWS credentials to sign the request with ({0}): set AWS_PROFILE or the AWS_* variables to a principal allowed lambda:InvokeFunctionUrl on the api function"
    )]
    Credentials(String),
    /// The pages' proxy could not serve.
    #[error("m365-inline ui: {0}; try another --port")]
    Proxy(String),
    /// The API did not answer.
    #[error(
        "cannot reach the operator API at {url} ({reason}): locally, is `cargo lambda watch` running on the port in .local/watch.port? Deployed, is it the stack's ApiUrl?"
    )]
    Unreachable {
        /// The base URL.
        url: String,
        /// What the connection met.
        reason: String,
    },
    /// The API refused or failed.
    #[error("{message} ({error_type}, HTTP {status}){}", hint(error_type))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's `errorType`.
        error_type: String,
        /// The API's message.
        message: String,
    },
    /// A file named by an argument could not be read.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

/// What to do after an API error of this kind.
fn hint(error_type: &str) -> &'static str {
    match error_type {
        "Retryable" => "; nothing was changed that a retry would repeat: run the command again",
        "Forbidden" | "AccessDenied" => {
            "; your AWS principal needs lambda:InvokeFunctionUrl on the api function"
        }
        _ => "",
    }
}
