//! The one test world of the tests and the bench: a private AWS stack on moto (created from the
//! template), an in-process m365-sim, a DNS server on loopback answering for its tenants'
//! domains, and the functions' services wired the way each function's `main` wires them, from
//! the environment a function process of the lab has.

use std::{collections::BTreeMap, future::Future};

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use lifecycle::{
    Lifecycle,
    refresh::Refresher,
    sync::{DailySync, Syncer},
};
use m365_sim::{SimConfig, Simulator, dns::DnsServer};
use model::{
    service::Service,
    sites::Site,
    tenant::{LifecycleState, TenantId},
    vendor::VendorConfig,
};
use serde::Serialize;
use serde_json::{Value, json};
use state::{
    store::{ResourceKind, TenantRecord},
    vault::StoredTokens,
};

use crate::capture::Capture;
pub use crate::test_stack::{TestStack, vendor_json};

/// Every function, by package name (= binary name = SAM `Binary`).
pub const FUNCTIONS: [&str; 9] = [
    "provision",
    "onboard",
    "status",
    "deprovision",
    "policy-targets",
    "daily-sync",
    "sync-worker",
    "token-refresh",
    "api",
];

/// What a lab is for: tests (quick retries, every log line checked for leaked secrets) or the
/// bench (the functions' own retry policy, nothing captured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The test suite.
    Test,
    /// `make bench`.
    Bench,
}

/// A tenant lab; see the module docs.
pub struct Lab {
    /// The private AWS stack.
    pub aws: TestStack,
    /// The Microsoft simulator (in this process).
    pub sim: Simulator,
    /// MX answers for the tenants' domains.
    pub dns: DnsServer,
    /// The task functions' services, as their `main` builds them.
    pub lifecycle: Lifecycle,
    purpose: Purpose,
    /// Where the suite's trace capture stood when a test's lab started (see `Drop`).
    log_mark: usize,
}

/// The vendor configuration of the tests and the bench.
pub fn vendor() -> VendorConfig {
    VendorConfig::parse(&vendor_json()).expect("test vendor configuration")
}

/// A random tenant id.
pub fn tenant_id() -> TenantId {
    uuid::Uuid::new_v4()
        .to_string()
        .parse()
        .expect("a v4 GUID is a tenant id")
}

/// The MX host Exchange Online gives `domain`.
pub use m365_sim::model::tenant::exchange_online_mx as exchange_mx;

/// Runs a function's library `handler` with its `services` and `event`, as the runtime would; the
/// answer as JSON.
pub async fn invoke<'s, S, R, F>(
    handler: impl FnOnce(&'s S, LambdaEvent<Value>) -> F,
    services: &'s S,
    event: Value,
) -> Result<Value, Diagnostic>
where
    F: Future<Output = Result<R, Diagnostic>>,
    R: Serialize,
{
    let answer = handler(services, LambdaEvent::new(event, lambda_context())).await?;
    Ok(serde_json::to_value(answer).expect("the answer serializes"))
}

/// A provisioning request for `tenant` on `us`: every service, `users` targeted, the IP allow list.
pub fn provision_request(tenant: TenantId, users: &[impl Serialize]) -> Value {
    json!({
        "tenant_id": tenant.to_string(), "site": "us",
        "services": ["exchange_online", "sharepoint_online", "onedrive"],
        "policy_targets": {"users": users},
        "options": {"ip_allow_list": true}
    })
}

/// A Lambda context with a deadline 15 minutes away (Lambda's longest), so a slow test never runs
/// out of time; tests of the deadline give their own.
pub fn lambda_context() -> Context {
    lambda_context_until(std::time::SystemTime::now() + std::time::Duration::from_secs(900))
}

/// A Lambda context whose deadline is `deadline`.
pub fn lambda_context_until(deadline: std::time::SystemTime) -> Context {
    let mut context = Context::default();
    context.deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis() as u64;
    context.request_id = uuid::Uuid::new_v4().to_string();
    context
}

impl Lab {
    /// A test lab with the simulator's default configuration.
    pub async fn start() -> Self {
        Self::with_sim(SimConfig::default()).await
    }

    /// A test lab with a simulator configured by `config`; the app authenticates with the
    /// client secret (`AppCredentialKind` client-secret).
    pub async fn with_sim(config: SimConfig) -> Self {
        Self::open(config, "client-secret", client_secret, Purpose::Test).await
    }

    /// A test lab of a deployment whose `AppCredentialKind` is `kind` and whose app-credentials
    /// secret is `app(&sim)`.
    pub async fn with_app(config: SimConfig, kind: &str, app: impl FnOnce(&Simulator) -> Value) -> Self {
        Self::open(config, kind, app, Purpose::Test).await
    }

    /// A test lab of the default deployment: the app's certificate key is the stack's KMS key
    /// (`AppCredentialKind` kms-certificate), its certificate registered on the simulated app.
    pub async fn with_kms_certificate(config: SimConfig) -> Self {
        Self::open(config, "kms-certificate", client_secret, Purpose::Test).await
    }

    /// The bench's lab: default simulator, the client secret, the functions' own retries.
    pub async fn for_bench() -> Self {
        Self::open(
            SimConfig::default(),
            "client-secret",
            client_secret,
            Purpose::Bench,
        )
        .await
    }

    /// `app` gives the app secret's document, unless the stack signs with KMS: then the document
    /// is the client id and the certificate this makes for the key.
    async fn open(
        mut config: SimConfig,
        kind: &str,
        app: impl FnOnce(&Simulator) -> Value,
        purpose: Purpose,
    ) -> Self {
        // Every test with a lab runs under the suite's trace-level capture.
        let log_mark = match purpose {
            Purpose::Test => Capture::global().mark(),
            Purpose::Bench => 0,
        };
        let aws = TestStack::with_app_credentials(kind, None).await;
        let certificate = match aws.signing_key() {
            Some(key) => Some(
                key.certificate("m365-inline lab", chrono::Duration::days(30))
                    .await
                    .expect("a certificate for the stack's signing key"),
            ),
            None => None,
        };
        config.certificate_pem = certificate.clone().or(config.certificate_pem);
        let sim = Simulator::start(config).await.expect("the simulator starts");
        let dns = DnsServer::start().await.expect("the DNS server starts");
        let document = match certificate {
            Some(certificate_pem) => {
                json!({"client_id": sim.client_id(), "certificate_pem": certificate_pem})
            }
            None => app(&sim),
        };
        aws.put_app_credentials(&document.to_string()).await;
        // provision's process runs every task kind's continuations: its environment holds the others'.
        let lifecycle = Lifecycle::from_source(
            &aws.sdk,
            &env_of(&aws.stack.functions["provision"], &sim, &dns, purpose),
        )
        .expect("the lab configures every function");
        Self {
            aws,
            sim,
            dns,
            lifecycle,
            purpose,
            log_mark,
        }
    }

    /// The environment of this lab's functions together (every variable any of them is given),
    /// with the lab's settings (see [`Lab::env_of_function`]).
    pub fn function_env(&self) -> BTreeMap<String, String> {
        env_of(&self.aws.stack.env, &self.sim, &self.dns, self.purpose)
    }

    /// The environment of `function`'s process in this lab: only what the template gives that
    /// function, with the AWS endpoint and credentials, every Microsoft base URL pointed at the
    /// simulator, the DNS server, and for tests retries that never sleep long (they inject faults).
    pub fn env_of_function(&self, function: &str) -> BTreeMap<String, String> {
        let own = self
            .aws
            .stack
            .functions
            .get(function)
            .unwrap_or_else(|| panic!("the template has no function {function}"));
        env_of(own, &self.sim, &self.dns, self.purpose)
    }

    /// Fresh task services: a new Lambda process (empty caches).
    pub fn fresh_lifecycle(&self) -> Lifecycle {
        Lifecycle::from_source(&self.aws.sdk, &self.env_of_function("provision"))
            .expect("the lab configures the task functions")
    }

    /// A sync worker as `sync-worker`'s `main` builds it (a new process: empty caches).
    pub fn syncer(&self) -> Syncer {
        Syncer::from_source(&self.aws.sdk, &self.env_of_function("sync-worker"))
            .expect("the lab configures sync-worker")
    }

    /// The fan-out as `daily-sync`'s `main` builds it.
    pub fn daily_sync(&self) -> DailySync {
        DailySync::from_source(&self.aws.sdk, &self.env_of_function("daily-sync"))
            .expect("the lab configures daily-sync")
    }

    /// A refresher as `token-refresh`'s `main` builds it (a new process: empty caches).
    pub fn refresher(&self) -> Refresher {
        Refresher::from_source(&self.aws.sdk, &self.env_of_function("token-refresh"))
            .expect("the lab configures token-refresh")
    }

    /// Runs `provision` with `event` through the library handler, as the runtime would.
    pub async fn provision(&self, event: Value) -> Result<Value, Diagnostic> {
        self.provision_in(&self.lifecycle, event).await
    }

    /// Runs `provision` with `event` in the process whose services are `lifecycle`.
    pub async fn provision_in(&self, lifecycle: &Lifecycle, event: Value) -> Result<Value, Diagnostic> {
        invoke(provision::handler, lifecycle, event).await
    }

    /// Runs `deprovision` with `event` through the library handler, as the runtime would.
    pub async fn deprovision(&self, event: Value) -> Result<Value, Diagnostic> {
        self.deprovision_in(&self.lifecycle, event).await
    }

    /// Runs `deprovision` with `event` in the process whose services are `lifecycle`.
    pub async fn deprovision_in(&self, lifecycle: &Lifecycle, event: Value) -> Result<Value, Diagnostic> {
        invoke(deprovision::handler, lifecycle, event).await
    }

    /// Runs `policy-targets` with `event` through the library handler, as the runtime would.
    pub async fn policy_targets(&self, event: Value) -> Result<Value, Diagnostic> {
        invoke(policy_targets::handler, &self.lifecycle, event).await
    }

    /// Creates a simulated tenant from a `POST /_sim/tenants` body; returns its id.
    pub fn tenant(&self, mut spec: Value) -> TenantId {
        // The lab's app registration requests the opt-in permissions too (see `env_of`), so
        // consent grants them unless the spec says otherwise.
        if spec.get("app_roles").is_none() {
            spec["app_roles"] = json!(opted_in_app_roles());
        }
        let spec = serde_json::from_value(spec).expect("tenant spec");
        let id = self.sim.create_tenant(&spec).expect("tenant created");
        id.parse().expect("the simulator's tenant ids are GUIDs")
    }

    /// A tenant as customers have them, on `domain`: three users (alice, bob, carol), their own
    /// IP Allow List entry `own_ip`, and the app consented but without the Exchange role yet.
    pub fn customer_tenant(&self, domain: &str, own_ip: &str) -> TenantId {
        let users: Vec<Value> = ["alice", "bob", "carol"]
            .iter()
            .map(|n| json!({"user_principal_name": format!("{n}@{domain}")}))
            .collect();
        self.tenant(json!({
            "display_name": "Contoso",
            "domains": [domain],
            "users": users,
            "ip_allow_list": [own_ip],
            "exchange_admin_role": false
        }))
    }

    /// A simulated tenant with `users` users on its own domain (its MX at Exchange Online),
    /// recorded as active on `site` as provisioning leaves it (without our objects).
    pub async fn active_tenant(&self, site: Site, users: u64) -> TenantId {
        let domain = format!("t{}.example", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let tenant = self.tenant(json!({"domains": [domain], "users": users}));
        self.dns.set_mx(&domain, &[&exchange_mx(&domain)]);
        let mut record = TenantRecord::new(
            tenant,
            site,
            vec![Service::ExchangeOnline],
            LifecycleState::Active,
        );
        self.aws.store.create(&mut record).await.expect("tenant record");
        tenant
    }

    /// The tenant's record in the state table (it must exist).
    pub async fn record(&self, tenant: TenantId) -> TenantRecord {
        let record = self.aws.store.tenant(tenant).await.expect("read the tenant");
        record.expect("the tenant is recorded")
    }

    /// The keys of the tenant's recorded resources of `kind`, in key order.
    pub async fn recorded(&self, tenant: TenantId, kind: ResourceKind) -> Vec<String> {
        let all = self.aws.store.resources(tenant).await.expect("resources");
        all.into_iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.key)
            .collect()
    }

    /// The tenant's token secret (it must exist).
    pub async fn stored_tokens(&self, tenant: TenantId) -> StoredTokens {
        let stored = self
            .aws
            .vault
            .read_tokens(tenant)
            .await
            .expect("read the token secret");
        stored.expect("the tenant has a token secret")
    }

    /// The simulator's dump of a tenant.
    pub fn dump(&self, tenant: TenantId) -> Value {
        self.sim.tenant_dump(&tenant.to_string()).expect("tenant dump")
    }

    /// Whether m365-sim saw no request at all for the tenant since its stats were last reset.
    pub fn untouched(&self, tenant: TenantId) -> bool {
        self.sim.stats()["tenants"][tenant.to_string()].is_null()
    }

    /// The tenant's requests on every surface since the simulator's stats were last reset.
    pub fn counts(&self, tenant: TenantId) -> TenantCounts {
        let stats = self.sim.stats();
        let of = |surface: &str| {
            let counts = &stats["tenants"][tenant.to_string()][surface];
            Counts {
                requests: counts["requests"].as_u64().unwrap_or(0),
                writes: counts["writes"].as_u64().unwrap_or(0),
                round_trips: counts["round_trips"].as_u64().unwrap_or(0),
                untraced: counts["untraced"].as_u64().unwrap_or(0),
            }
        };
        TenantCounts {
            token: of("token"),
            graph: of("graph"),
            exchange: of("exchange"),
        }
    }

    /// Adds a simulator fault from a `POST /_sim/faults` body; returns its id.
    pub fn fault(&self, spec: Value) -> u64 {
        let spec = serde_json::from_value(spec).expect("fault spec");
        self.sim.add_fault(spec).expect("fault added")
    }

    /// Adds `latency_ms` to every Microsoft request (token, Graph, each `$batch` sub-request,
    /// each Exchange cmdlet); returns the fault's id.
    pub fn latency(&self, latency_ms: u64) -> u64 {
        self.fault(json!({"surface": "*", "latency_ms": latency_ms}))
    }

    /// How many times the armed faults were hit (a fault that never matched proves nothing).
    pub fn fault_hits(&self) -> u64 {
        let faults = self.sim.faults();
        faults["faults"]
            .as_array()
            .map_or(0, |all| all.iter().filter_map(|f| f["hits"].as_u64()).sum())
    }

    /// How many requests the fault `id` met so far.
    pub fn hits_of(&self, id: u64) -> u64 {
        let faults = self.sim.faults();
        let fault = faults["faults"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["id"].as_u64() == Some(id));
        fault.and_then(|f| f["hits"].as_u64()).unwrap_or(0)
    }

    /// Every token this lab's simulator issued, and the app's client secret.
    pub fn secrets(&self) -> Vec<String> {
        let issued = self.sim.issued_tokens();
        issued["tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["token"].as_str().map(str::to_owned))
            .chain([self.sim.client_secret().to_owned()])
            .collect()
    }

    /// No issued token or client secret is stored in any item of the state table (task records,
    /// errors, resources, snapshots).
    pub async fn assert_no_secret_in_the_table(&self) {
        let client = aws_sdk_dynamodb::Client::new(&self.aws.sdk);
        let mut items = client
            .scan()
            .table_name(&self.aws.stack.table_name)
            .into_paginator()
            .items()
            .send();
        let mut table = String::new();
        while let Some(item) = items.next().await {
            table.push_str(&format!("{:?}", item.expect("scan the state table")));
        }
        assert!(!table.is_empty(), "the table holds the lab's records");
        let leaked = self
            .secrets()
            .into_iter()
            .filter(|s| table.contains(s.as_str()))
            .count();
        assert_eq!(
            leaked, 0,
            "issued tokens or the client secret stored in the state table"
        );
    }
}

/// The app-credentials secret with the simulator's client secret.
fn client_secret(sim: &Simulator) -> Value {
    json!({"client_id": sim.client_id(), "client_secret": sim.client_secret()})
}

fn env_of(
    stack_env: &BTreeMap<String, String>,
    sim: &Simulator,
    dns: &DnsServer,
    purpose: Purpose,
) -> BTreeMap<String, String> {
    let mut env = stack_env.clone();
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        if let Ok(value) = std::env::var(name) {
            env.insert(name.to_owned(), value);
        }
    }
    env.entry("AWS_REGION".to_owned())
        .or_insert_with(|| "us-east-1".to_owned());
    let base = sim.base_url();
    for name in ["M365_LOGIN_URL", "M365_GRAPH_URL", "M365_EXCHANGE_URL"] {
        env.insert(name.to_owned(), base.clone());
    }
    env.insert("M365_TEST_ENDPOINTS".to_owned(), "loopback".to_owned());
    // The lab deploys with both opt-ins, as most tests exercise the app assigning its own role and
    // removing itself; tests of the default deployment build their services without them.
    for opt_in in ["APP_ASSIGNS_EXCHANGE_ROLE", "APP_REMOVES_ITSELF"] {
        if let Some(value) = env.get_mut(opt_in) {
            "true".clone_into(value);
        }
    }
    env.insert("DNS_SERVER".to_owned(), dns.addr().to_string());
    // Services built in this process are handed the document the stack put in Parameter Store;
    // a function's process reads the parameter itself (`VENDOR_CONFIG_PARAMETER` wins).
    if env.contains_key(state::parameters::VENDOR_CONFIG_PARAMETER) {
        env.insert("VENDOR_CONFIG".to_owned(), crate::test_stack::vendor_json());
    }
    if purpose == Purpose::Test {
        env.insert("M365_RETRY_MIN_DELAY_MS".to_owned(), "1".to_owned());
        env.insert("M365_RETRY_MAX_DELAY_MS".to_owned(), "20".to_owned());
    }
    env
}

/// Asserts that `event` was refused with `error_type` and a message that says `says` (the field
/// at fault, by name).
pub fn assert_refused(answer: Result<Value, Diagnostic>, error_type: &str, says: &str, event: &Value) {
    let err = answer.expect_err(&format!("{event} should be refused"));
    assert_eq!(err.error_type, error_type, "{event}: {err:?}");
    assert!(err.error_message.contains(says), "{event}: {}", err.error_message);
}

/// Requests one tenant made on one surface of the simulator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Every request (a Graph `$batch` envelope and each sub-request; each Exchange cmdlet).
    pub requests: u64,
    /// Writes among them.
    pub writes: u64,
    /// HTTP requests (a `$batch` of either surface once).
    pub round_trips: u64,
    /// HTTP requests that named no `client-request-id`.
    pub untraced: u64,
}

/// Requests of one tenant on every surface.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TenantCounts {
    /// Entra token endpoint.
    pub token: Counts,
    /// Microsoft Graph.
    pub graph: Counts,
    /// Exchange Online (cmdlets).
    pub exchange: Counts,
}

impl TenantCounts {
    /// Requests to Microsoft's APIs (Graph and Exchange; token requests apart).
    pub fn microsoft_requests(&self) -> u64 {
        self.graph.requests + self.exchange.requests
    }

    /// Writes among them.
    pub fn microsoft_writes(&self) -> u64 {
        self.graph.writes + self.exchange.writes
    }
}

impl Drop for Lab {
    /// The leak check of every test with a lab: the suite logs at trace level into one capture,
    /// and nothing this lab's simulator issued (tokens, the client secret) may appear in what was
    /// logged while it ran (child processes' output included).
    fn drop(&mut self) {
        if self.purpose != Purpose::Test || std::thread::panicking() {
            return;
        }
        let logs = Capture::global().since(self.log_mark);
        let leaked = self
            .secrets()
            .into_iter()
            .filter(|s| logs.contains(s.as_str()))
            .count();
        assert_eq!(leaked, 0, "issued tokens or the client secret reached the logs");
    }
}

/// What consent grants an app registration that requests the default permissions and both
/// opt-ins (`AppAssignsExchangeRole`, `AppRemovesItself`): the lab's.
pub fn opted_in_app_roles() -> Vec<&'static str> {
    let mut roles = m365_sim::model::catalog::DEFAULT_APP_ROLES.to_vec();
    for opt_in in ["AppAssignsExchangeRole", "AppRemovesItself"] {
        if let Some(permission) = model::permissions::opted_in(opt_in) {
            roles.push(permission.name.as_str());
        }
    }
    roles
}
