//! A private stack per test: a table, queues and secrets under a unique prefix on moto.

use aws_config::SdkConfig;
use integration_tests::{
    aws,
    stack::{self, LocalStack, StackOptions},
    template::Template,
};
use state::{store::Store, vault::Vault};

/// What one test works with.
pub struct TestStack {
    pub sdk: SdkConfig,
    pub stack: LocalStack,
    pub store: Store,
    pub vault: Vault,
}

impl TestStack {
    /// A fresh stack whose app secret holds `app_credentials_json`, if given.
    pub async fn with_app_credentials(app_credentials_json: Option<String>) -> Self {
        let endpoint = aws::endpoint_from_env().unwrap_or_else(|err| panic!("{err}"));
        let sdk = aws::local_sdk_config(&endpoint).await;
        let template = Template::load().expect("template");
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let parameters = [("VendorConfiguration".to_owned(), vendor_json())].into();
        let options = StackOptions {
            prefix,
            app_credentials_json,
            parameters,
        };
        let stack = stack::create(&sdk, &template, &options)
            .await
            .expect("local stack");
        let store = Store::from_source(&sdk, &stack.env).expect("store config");
        let vault = Vault::from_source(&sdk, &stack.env).expect("vault config");
        Self {
            sdk,
            stack,
            store,
            vault,
        }
    }

    /// A fresh stack without an app secret.
    pub async fn new() -> Self {
        Self::with_app_credentials(None).await
    }
}

/// A random tenant id.
pub fn tenant_id() -> model::tenant::TenantId {
    uuid::Uuid::new_v4()
        .to_string()
        .parse()
        .expect("a v4 GUID is a tenant id")
}

/// A log sink that keeps every line written to it, for asserting what reached the logs.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

static GLOBAL_CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();

impl Capture {
    /// The capture of the whole test binary: the functions' own JSON subscriber at trace level,
    /// installed once as the global default. (A per-thread subscriber misses events while tests
    /// run in parallel: tracing caches each call site's interest process-wide.)
    pub fn global() -> &'static Capture {
        GLOBAL_CAPTURE.get_or_init(|| {
            let capture = Capture::default();
            let filter = tracing_subscriber::EnvFilter::new("trace");
            tracing::subscriber::set_global_default(lifecycle::telemetry::subscriber(
                filter,
                capture.clone(),
            ))
            .expect("the only global subscriber of the test binary");
            capture
        })
    }

    /// Where the capture stands now.
    pub fn mark(&self) -> usize {
        self.0.lock().expect("capture lock").len()
    }

    /// Everything captured since `mark` (lines of tests running at the same time included).
    pub fn since(&self, mark: usize) -> String {
        let buffer = self.0.lock().expect("capture lock");
        String::from_utf8_lossy(&buffer[mark.min(buffer.len())..]).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A tenant lab: a private AWS stack on moto, an in-process m365-sim, and the task functions'
/// services wired to both the way their `main` wires them from the environment.
pub struct Lab {
    pub aws: TestStack,
    pub sim: m365_sim::Simulator,
    pub lifecycle: lifecycle::Lifecycle,
    /// Where the suite's trace capture stood when the lab started (see `Drop`).
    log_mark: usize,
}

/// The vendor configuration document used by the tests: the repository's example.
pub fn vendor_json() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/vendor-config.example.json");
    std::fs::read_to_string(path).expect("infra/vendor-config.example.json")
}

/// The vendor configuration used by the tests.
pub fn vendor() -> model::vendor::VendorConfig {
    model::vendor::VendorConfig::parse(&vendor_json()).expect("test vendor configuration")
}

impl Lab {
    /// A lab with the simulator's default configuration.
    pub async fn start() -> Self {
        Self::with_sim(m365_sim::SimConfig::default()).await
    }

    /// A lab with a simulator configured by `config`; the app authenticates with the client secret.
    pub async fn with_sim(config: m365_sim::SimConfig) -> Self {
        Self::with_app(
            config,
            |sim| serde_json::json!({"client_id": sim.client_id(), "client_secret": sim.client_secret()}),
        )
        .await
    }

    /// A lab whose app-credentials secret is `app(&sim)`.
    pub async fn with_app(
        config: m365_sim::SimConfig,
        app: impl FnOnce(&m365_sim::Simulator) -> serde_json::Value,
    ) -> Self {
        // Every test with a lab runs under the suite's trace-level capture.
        let log_mark = Capture::global().mark();
        let sim = m365_sim::Simulator::start(config)
            .await
            .expect("simulator starts");
        let aws = TestStack::with_app_credentials(Some(app(&sim).to_string())).await;
        let lifecycle = Self::lifecycle_for(&aws, &sim);
        Self {
            aws,
            sim,
            lifecycle,
            log_mark,
        }
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

    /// Fresh task services on the same stack and simulator: a new Lambda process (empty caches).
    pub fn lifecycle_for(aws: &TestStack, sim: &m365_sim::Simulator) -> lifecycle::Lifecycle {
        lifecycle::Lifecycle::from_source(&aws.sdk, &function_env(aws, sim))
            .expect("the lab configures every function")
    }

    /// The environment a function process of this lab has.
    pub fn function_env(&self) -> std::collections::BTreeMap<String, String> {
        function_env(&self.aws, &self.sim)
    }

    /// The keys of the tenant's recorded resources of `kind`, in key order.
    pub async fn recorded(
        &self,
        tenant: model::tenant::TenantId,
        kind: state::store::ResourceKind,
    ) -> Vec<String> {
        let all = self.aws.store.resources(tenant).await.expect("resources");
        all.into_iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.key)
            .collect()
    }

    /// The tenant's record in the state table (it must exist).
    pub async fn record(&self, tenant: model::tenant::TenantId) -> state::store::TenantRecord {
        self.aws
            .store
            .tenant(tenant)
            .await
            .expect("read the tenant")
            .expect("the tenant is recorded")
    }

    /// The tenant's token secret (it must exist).
    pub async fn stored_tokens(&self, tenant: model::tenant::TenantId) -> state::vault::StoredTokens {
        self.aws
            .vault
            .read_tokens(tenant)
            .await
            .expect("read the token secret")
            .expect("the tenant has a token secret")
    }

    /// Whether m365-sim saw no request at all for the tenant since its stats were last reset.
    pub fn untouched(&self, tenant: model::tenant::TenantId) -> bool {
        self.sim.stats()["tenants"][tenant.to_string()].is_null()
    }

    /// Creates a simulated tenant from a `POST /_sim/tenants` body; returns its id.
    pub fn tenant(&self, spec: serde_json::Value) -> model::tenant::TenantId {
        let spec = serde_json::from_value(spec).expect("tenant spec");
        self.sim
            .create_tenant(&spec)
            .expect("tenant created")
            .parse()
            .expect("tenant id is a GUID")
    }

    /// The simulator's dump of a tenant.
    pub fn dump(&self, tenant: model::tenant::TenantId) -> serde_json::Value {
        self.sim.tenant_dump(&tenant.to_string()).expect("tenant dump")
    }

    /// Adds a simulator fault from a `POST /_sim/faults` body.
    pub fn fault(&self, spec: serde_json::Value) {
        self.sim
            .add_fault(serde_json::from_value(spec).expect("fault spec"))
            .expect("fault added");
    }

    /// How many times the armed faults were hit (a fault that never matched proves nothing).
    pub fn fault_hits(&self) -> u64 {
        let faults = self.sim.faults();
        faults["faults"]
            .as_array()
            .map_or(0, |all| all.iter().filter_map(|f| f["hits"].as_u64()).sum())
    }

    /// Runs `policy-targets` with `event` through the library handler, as the runtime would.
    pub async fn policy_targets(
        &self,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, lambda_runtime::Diagnostic> {
        let event = lambda_runtime::LambdaEvent::new(event, lambda_context());
        let answer = policy_targets::handler(&self.lifecycle, event).await?;
        Ok(serde_json::to_value(answer).expect("answer serializes"))
    }

    /// Runs `deprovision` with `event` through the library handler, as the runtime would.
    pub async fn deprovision(
        &self,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, lambda_runtime::Diagnostic> {
        let event = lambda_runtime::LambdaEvent::new(event, lambda_context());
        let answer = deprovision::handler(&self.lifecycle, event).await?;
        Ok(serde_json::to_value(answer).expect("answer serializes"))
    }

    /// Runs `provision` with `event` through the library handler, as the runtime would.
    pub async fn provision(
        &self,
        event: serde_json::Value,
    ) -> Result<serde_json::Value, lambda_runtime::Diagnostic> {
        let event = lambda_runtime::LambdaEvent::new(event, lambda_context());
        let answer = provision::handler(&self.lifecycle, event).await?;
        Ok(serde_json::to_value(answer).expect("answer serializes"))
    }
}

/// The environment of a function process: the stack's, every Microsoft base URL pointed at the
/// simulator, and retries that never sleep long (tests inject faults).
pub fn function_env(
    aws: &TestStack,
    sim: &m365_sim::Simulator,
) -> std::collections::BTreeMap<String, String> {
    let mut env = aws.stack.env.clone();
    let base = sim.base_url();
    for name in ["M365_LOGIN_URL", "M365_GRAPH_URL", "M365_EXCHANGE_URL"] {
        env.insert(name.to_owned(), base.clone());
    }
    env.insert("M365_RETRY_MIN_DELAY_MS".to_owned(), "1".to_owned());
    env.insert("M365_RETRY_MAX_DELAY_MS".to_owned(), "20".to_owned());
    env
}

impl Lab {
    /// A refresher on this lab (a new process: empty caches) that looks `period` ahead.
    pub fn refresher(&self, period: chrono::Duration) -> lifecycle::refresh::Refresher {
        let refresher = lifecycle::refresh::Refresher::from_source(&self.aws.sdk, &self.function_env())
            .expect("the lab configures token-refresh");
        lifecycle::refresh::Refresher {
            concurrency: 4,
            period,
            ..refresher
        }
    }

    /// A simulated tenant (own domain) recorded as active on `site`, as provisioning leaves it.
    pub async fn active_tenant(&self, site: model::sites::Site) -> model::tenant::TenantId {
        let domain = format!("t{}.example", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let tenant = self.tenant(serde_json::json!({"domains": [domain], "users": 2}));
        let mut record = state::store::TenantRecord::new(
            tenant,
            site,
            vec![model::service::Service::ExchangeOnline],
            model::tenant::LifecycleState::Active,
        );
        self.aws.store.create(&mut record).await.expect("tenant record");
        tenant
    }
}

/// A Lambda context with a deadline 15 minutes away.
pub fn lambda_context() -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(900);
    context.deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis() as u64;
    context.request_id = uuid::Uuid::new_v4().to_string();
    context
}

impl Drop for Lab {
    /// The leak check of every test with a lab: the suite logs at trace level into one capture,
    /// and nothing this lab's simulator issued (tokens, the client secret) may appear in what was
    /// logged while it ran (child processes' output included).
    fn drop(&mut self) {
        if std::thread::panicking() {
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
