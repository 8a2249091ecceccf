//! The bench's world: a private stack on moto (from the template, like the tests'), m365-sim in
//! this process, a DNS server on loopback, and the functions' services wired the way each
//! function's `main` wires them from the environment.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use integration_tests::{
    aws,
    stack::{self, LocalStack, StackOptions},
    template::Template,
};
use lifecycle::{Lifecycle, refresh::Refresher, sync::Syncer};
use m365_sim::dns::DnsServer;
use model::{
    service::Service,
    sites::Site,
    tenant::{LifecycleState, TenantId},
};
use serde_json::{Value, json};
use state::store::{Store, TenantRecord};

use crate::error::{BenchError, Result};

/// Requests one tenant made on one surface of the simulator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Every request (a Graph `$batch` envelope and each sub-request; each Exchange cmdlet).
    pub requests: u64,
    /// Writes among them.
    pub writes: u64,
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

/// The lab every figure but cold start runs in.
pub struct Lab {
    /// SDK configuration for moto.
    pub sdk: SdkConfig,
    /// The stack's names and the functions' environment.
    pub stack: LocalStack,
    /// The state table.
    pub store: Store,
    /// The Microsoft simulator (in this process).
    pub sim: m365_sim::Simulator,
    /// MX answers for the tenants' domains.
    pub dns: DnsServer,
}

impl Lab {
    /// Starts the simulator and creates a private stack on the moto of `AWS_ENDPOINT_URL`.
    pub async fn start() -> Result<Self> {
        let sim = m365_sim::Simulator::start(m365_sim::SimConfig::default())
            .await
            .map_err(|e| BenchError::Setup(format!("m365-sim: {e}")))?;
        let endpoint = aws::endpoint_from_env().map_err(BenchError::Setup)?;
        let sdk = aws::local_sdk_config(&endpoint).await;
        let template = Template::load().map_err(BenchError::Setup)?;
        let vendor_json = std::fs::read_to_string(crate::root().join("infra/vendor-config.example.json"))
            .map_err(BenchError::io("read infra/vendor-config.example.json"))?;
        let options = StackOptions {
            prefix: format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            app_credentials_json: Some(
                json!({"client_id": sim.client_id(), "client_secret": sim.client_secret()}).to_string(),
            ),
            parameters: [("VendorConfiguration".to_owned(), vendor_json.clone())].into(),
        };
        let stack = stack::create(&sdk, &template, &options)
            .await
            .map_err(|e| BenchError::Setup(format!("local stack on {endpoint}: {e}")))?;
        let dns = DnsServer::start()
            .await
            .map_err(BenchError::io("start the DNS server"))?;
        Ok(Self {
            store: Store::from_source(&sdk, &stack.env).map_err(|e| BenchError::Setup(e.to_string()))?,
            sdk,
            stack,
            sim,
            dns,
        })
    }

    /// The environment a function process needs: the stack's, the AWS endpoint and credentials,
    /// the simulator's URLs and the DNS server.
    pub fn function_env(&self) -> BTreeMap<String, String> {
        let mut env = self.stack.env.clone();
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
        let base = self.sim.base_url();
        for name in ["M365_LOGIN_URL", "M365_GRAPH_URL", "M365_EXCHANGE_URL"] {
            env.insert(name.to_owned(), base.clone());
        }
        env.insert("DNS_SERVER".to_owned(), self.dns.addr().to_string());
        env
    }

    /// Task services as `provision`'s `main` builds them (a new process: empty caches).
    pub fn provisioner(&self) -> Result<Lifecycle> {
        Lifecycle::from_source(&self.sdk, &self.function_env()).map_err(|e| BenchError::Setup(e.to_string()))
    }

    /// A sync worker as `sync-worker`'s `main` builds it (a new process: empty caches).
    pub fn syncer(&self) -> Result<Syncer> {
        Syncer::from_source(&self.sdk, &self.function_env()).map_err(|e| BenchError::Setup(e.to_string()))
    }

    /// A refresher as `token-refresh`'s `main` builds it (a new process: empty caches).
    pub fn refresher(&self) -> Result<Refresher> {
        Refresher::from_source(&self.sdk, &self.function_env()).map_err(|e| BenchError::Setup(e.to_string()))
    }

    /// Creates a simulated tenant from a `POST /_sim/tenants` body.
    pub fn tenant(&self, spec: Value) -> Result<TenantId> {
        let spec =
            serde_json::from_value(spec).map_err(|e| BenchError::Setup(format!("tenant spec: {e}")))?;
        let id = self
            .sim
            .create_tenant(&spec)
            .map_err(|e| BenchError::Setup(format!("simulated tenant: {e}")))?;
        id.parse()
            .map_err(|_| BenchError::Setup(format!("tenant id {id} is not a GUID")))
    }

    /// A simulated tenant with `users` users on its own domain (MX pointing at Exchange Online),
    /// recorded as active on `site` as provisioning leaves it (without our objects).
    pub async fn active_tenant(&self, site: Site, users: u64) -> Result<TenantId> {
        let domain = format!("t{}.example", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let tenant = self.tenant(json!({"domains": [domain], "users": users}))?;
        self.dns.set_mx(&domain, &[&exchange_mx(&domain)]);
        let mut record = TenantRecord::new(
            tenant,
            site,
            vec![Service::ExchangeOnline],
            LifecycleState::Active,
        );
        self.store
            .create(&mut record)
            .await
            .map_err(|e| BenchError::Setup(format!("tenant record: {e}")))?;
        Ok(tenant)
    }

    /// The tenant's requests since the simulator's stats were last reset.
    pub fn counts(&self, tenant: TenantId) -> TenantCounts {
        let stats = self.sim.stats();
        let of = |surface: &str| {
            let c = &stats["tenants"][tenant.to_string()][surface];
            Counts {
                requests: c["requests"].as_u64().unwrap_or(0),
                writes: c["writes"].as_u64().unwrap_or(0),
            }
        };
        TenantCounts {
            token: of("token"),
            graph: of("graph"),
            exchange: of("exchange"),
        }
    }

    /// Adds `latency_ms` to every Microsoft request (token, Graph, each `$batch` sub-request,
    /// each Exchange cmdlet); returns the fault's id.
    pub fn latency(&self, latency_ms: u64) -> Result<u64> {
        let spec = serde_json::from_value(json!({"surface": "*", "latency_ms": latency_ms}))
            .map_err(|e| BenchError::Setup(format!("fault spec: {e}")))?;
        self.sim
            .add_fault(spec)
            .map_err(|e| BenchError::Setup(format!("latency fault: {e}")))
    }

    /// How many requests the fault `id` delayed so far.
    pub fn fault_hits(&self, id: u64) -> u64 {
        self.sim.faults()["faults"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["id"].as_u64() == Some(id))
            .and_then(|f| f["hits"].as_u64())
            .unwrap_or(0)
    }
}

/// Tenants one `sync-worker` invocation syncs at once.
pub const SYNC_WORKER_CONCURRENCY: usize = lifecycle::sync::worker::CONCURRENCY;

/// The MX host Exchange Online gives `domain`.
pub fn exchange_mx(domain: &str) -> String {
    format!("{}.mail.protection.outlook.com", domain.replace('.', "-"))
}
