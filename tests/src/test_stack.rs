//! A private AWS stack on moto for one test: the template's table, queues and secrets under a
//! unique prefix, with the adapters a function builds on them.

use aws_config::SdkConfig;
use lifecycle::sync::SyncState;
use model::tenant::TenantId;
use serde_json::{Value, json};
use state::{signing::KmsKey, store::Store, vault::Vault};

use crate::{
    aws,
    stack::{self, LocalStack, StackOptions},
    template::Template,
};

/// The vendor configuration document of the tests and the bench: the repository's example.
pub fn vendor_json() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/vendor-config.example.json");
    std::fs::read_to_string(path).expect("infra/vendor-config.example.json")
}

/// A private stack: a table, queues and secrets under a unique prefix on moto.
pub struct TestStack {
    /// SDK configuration for moto.
    pub sdk: SdkConfig,
    /// The stack's names and the functions' environment for it.
    pub stack: LocalStack,
    /// The state table.
    pub store: Store,
    /// The token secrets.
    pub vault: Vault,
}

impl TestStack {
    /// A fresh stack whose app authenticates by `kind` (`AppCredentialKind`) and whose app secret
    /// holds `app_credentials_json`, if given.
    pub async fn with_app_credentials(kind: &str, app_credentials_json: Option<String>) -> Self {
        let endpoint = aws::endpoint_from_env().unwrap_or_else(|err| panic!("{err}"));
        let sdk = aws::local_sdk_config(&endpoint).await;
        let template = Template::load().expect("template");
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let options = StackOptions {
            prefix,
            app_credentials_json,
            parameters: [("AppCredentialKind".to_owned(), kind.to_owned())].into(),
            vendor_config: Some(vendor_json()),
        };
        let stack = stack::create(&sdk, &template, &options)
            .await
            .unwrap_or_else(|err| panic!("local stack on {endpoint}: {err}"));
        let store = Store::from_source(&sdk, &stack.env).expect("store config");
        let vault = Vault::from_source(&sdk, &stack.env).expect("vault config");
        Self {
            sdk,
            stack,
            store,
            vault,
        }
    }

    /// A fresh stack without an app secret, for a client secret.
    pub async fn new() -> Self {
        Self::with_app_credentials("client-secret", None).await
    }

    /// Stores `json` as the stack's app-credentials secret (`APP_SECRET_ID`).
    pub async fn put_app_credentials(&self, json: &str) {
        stack::put_secret(&self.sdk, &self.stack.env["APP_SECRET_ID"], json)
            .await
            .expect("store the app-credentials secret");
    }

    /// Puts `json` in the vendor document's parameter: what a function process reads from then on.
    pub async fn put_vendor_config(&self, json: &str) {
        let name = &self.stack.env[state::parameters::VENDOR_CONFIG_PARAMETER];
        stack::put_parameter(&self.sdk, name, json)
            .await
            .expect("put the vendor document");
    }

    /// The stack's KMS signing key (`AppCredentialKind` kms-certificate).
    pub fn signing_key(&self) -> Option<KmsKey> {
        // Empty unless the deployment signs with KMS (the template's `!If`).
        let key_id = self
            .stack
            .env
            .get("APP_SIGNING_KEY_ID")
            .filter(|id| !id.is_empty())?;
        Some(KmsKey::new(aws_sdk_kms::Client::new(&self.sdk), key_id))
    }

    /// A new HMAC key (`HMAC_256`, `GENERATE_VERIFY_MAC`) on the stack's KMS.
    pub async fn new_mac_key(&self) -> state::seal::MacKey {
        let kms = aws_sdk_kms::Client::new(&self.sdk);
        let created = kms
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
            .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
            .send()
            .await
            .expect("CreateKey HMAC_256");
        state::seal::MacKey::new(kms, created.key_metadata.expect("metadata").key_id)
    }

    /// Every message waiting on `queue` (a URL variable of the stack, e.g. `SYNC_QUEUE_URL`),
    /// taken off it, as the SQS event Lambda would deliver them in.
    pub async fn take_messages(&self, queue: &str) -> Value {
        let url = self.stack.env.get(queue).expect("queue url");
        let records: Vec<Value> = self
            .drain(url)
            .await
            .into_iter()
            .map(|(id, body)| json!({"messageId": id, "body": body}))
            .collect();
        json!({"Records": records})
    }

    /// Every lifecycle event the bus delivered to the stack's watch queue so far, taken off it,
    /// in the order they were put (by the detail's `at`).
    pub async fn take_events(&self) -> Vec<Value> {
        let url = self
            .stack
            .events_queue_url
            .as_deref()
            .expect("the stack has an event bus");
        let mut events: Vec<Value> = self
            .drain(url)
            .await
            .into_iter()
            .map(|(_, body)| serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}")))
            .collect();
        events.sort_by(|a, b| a["detail"]["at"].as_str().cmp(&b["detail"]["at"].as_str()));
        events
    }

    /// Every message on the queue at `url` as `(message id, body)`, each deleted once read.
    async fn drain(&self, url: &str) -> Vec<(String, String)> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut taken = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return taken;
            }
            for message in messages {
                taken.push((
                    message.message_id().unwrap_or_default().to_owned(),
                    message.body().unwrap_or_default().to_owned(),
                ));
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }

    /// The tenant's sync state (`TENANT#{id}`/`SYNC`), if it has one.
    pub async fn sync_state(&self, tenant: TenantId) -> Option<SyncState> {
        self.store
            .get(&SyncState::key_of(tenant))
            .await
            .expect("read the sync state")
    }
}
