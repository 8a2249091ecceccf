//! A private stack per test: a table, queues and secrets under a unique prefix on moto.

use aws_config::SdkConfig;
use integration_tests::{
    aws,
    stack::{self, LocalStack, StackOptions},
    template::Template,
};
use shared::{
    config::{StoreConfig, VaultConfig},
    store::Store,
    vault::Vault,
};

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
        let options = StackOptions {
            prefix,
            app_credentials_json,
        };
        let stack = stack::create(&sdk, &template, &options)
            .await
            .expect("local stack");
        let store = Store::from_config(&sdk, &StoreConfig::from_source(&stack.env).expect("store config"));
        let vault = Vault::from_config(&sdk, &VaultConfig::from_source(&stack.env).expect("vault config"));
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
pub fn tenant_id() -> shared::tenant::TenantId {
    uuid::Uuid::new_v4()
        .to_string()
        .parse()
        .expect("a v4 GUID is a tenant id")
}

/// A log sink that keeps every line written to it, for asserting what reached the logs.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }

    /// Installs a trace-level JSON subscriber (the functions' own) writing here, for this thread.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let filter = tracing_subscriber::EnvFilter::new("trace");
        tracing::subscriber::set_default(shared::telemetry::subscriber(filter, self.clone()))
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
