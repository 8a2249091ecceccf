//! Creates the template's table, queues, event bus, secrets and the vendor document's parameter
//! on a local AWS endpoint (moto),
//! under a name prefix, and resolves the functions' environment for them.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::template::{EnvValue, KeyElement, QueueDefinition, TableDefinition, Template};

/// What was created, and the environment a function needs to use it.
#[derive(Debug, Clone)]
pub struct LocalStack {
    /// The state table's name.
    pub table_name: String,
    /// Queue URL by the queue's logical id.
    pub queue_urls: BTreeMap<String, String>,
    /// Every variable any function is given (for services built in the test process and for
    /// `make local-up`, whose functions share one environment file).
    pub env: BTreeMap<String, String>,
    /// Each function's own environment by its binary, as the template gives it.
    pub functions: BTreeMap<String, BTreeMap<String, String>>,
    /// The queue a rule on the lifecycle bus sends every event to: the local stand-in for a
    /// vendor's notification rule, which the tests and `make demo` read.
    pub events_queue_url: Option<String>,
}

/// How the local stack is named and which app credentials it holds.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Prefix of every name, e.g. `m365-inline-local` or a per-test unique prefix.
    pub prefix: String,
    /// The app-credentials secret's JSON, if one should be stored.
    pub app_credentials_json: Option<String>,
    /// Values of template parameters that have no default, or another value than their default.
    pub parameters: BTreeMap<String, String>,
    /// The vendor configuration document, put in the Parameter Store parameter the template's
    /// `VendorConfigParameterName` names (`/{prefix}/vendor-config` here), if given.
    pub vendor_config: Option<String>,
}

/// Creates (or finds) every resource; running it twice is harmless.
pub async fn create(
    sdk: &SdkConfig,
    template: &Template,
    options: &StackOptions,
) -> Result<LocalStack, String> {
    let table = template.table()?;
    let table_name = local_name(&options.prefix, &table.logical_id);
    create_table(sdk, &table, &table_name).await?;

    let mut queue_urls = BTreeMap::new();
    let queues = template.queues()?;
    // Dead-letter queues first: the others name them in their redrive policy.
    let (dead_letters, mains): (Vec<_>, Vec<_>) = queues.into_iter().partition(|q| q.dead_letter.is_none());
    for queue in dead_letters.iter().chain(mains.iter()) {
        let url = create_queue(sdk, queue, &options.prefix, &queue_urls).await?;
        queue_urls.insert(queue.logical_id.clone(), url);
    }

    let mut buses = BTreeMap::new();
    let mut events_queue_url = None;
    for (logical_id, _) in template.resources_of_type("AWS::Events::EventBus") {
        let name = local_name(&options.prefix, &logical_id);
        events_queue_url = Some(create_bus_with_watch(sdk, &name).await?);
        buses.insert(logical_id, name);
    }

    let secret_prefix = format!("{}/secrets", options.prefix);
    let app_secret_id = format!("{}/app", options.prefix);
    if let Some(json) = &options.app_credentials_json {
        put_secret(sdk, &app_secret_id, json).await?;
    }

    let mut parameters = options.parameters.clone();
    if let Some(document) = &options.vendor_config {
        let name = format!("/{}/vendor-config", options.prefix);
        put_parameter(sdk, &name, document).await?;
        parameters.insert("VendorConfigParameterName".to_owned(), name);
    }
    parameters.insert("SecretPrefix".to_owned(), secret_prefix);
    parameters.insert("AppCredentialsSecretName".to_owned(), app_secret_id);
    // The keys the functions name that KMS must make of a kind (the app's signing key, the
    // consent state's HMAC key), each where its condition holds; the secrets' key stays the
    // account's default locally.
    let mut keys = BTreeMap::new();
    for (logical_id, properties) in template.resources_of_type("AWS::KMS::Key") {
        let condition = template.root()["Resources"][logical_id.as_str()]["Condition"].as_str();
        let wanted = match condition {
            Some(condition) => template.condition_holds(condition, &parameters)?,
            None => true,
        };
        if wanted && properties.get("KeySpec").is_some() {
            let key = create_key(sdk, &logical_id, properties).await?;
            keys.insert(logical_id, key);
        }
    }
    let resolver = Resolver {
        template,
        table: (&table.logical_id, &table_name),
        queue_urls: &queue_urls,
        buses: &buses,
        parameters: &parameters,
        keys: &keys,
    };
    let mut env = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for (function, variables) in template.function_environments()? {
        let mut own = BTreeMap::new();
        for (name, value) in variables {
            if let Some(resolved) = resolver
                .resolve(&value)
                .map_err(|err| format!("{function}: environment variable {name}: {err}"))?
            {
                own.insert(name, resolved);
            }
        }
        env.extend(own.clone());
        functions.insert(function, own);
    }
    Ok(LocalStack {
        table_name,
        queue_urls,
        env,
        functions,
        events_queue_url,
    })
}

/// Resolves the template's environment values to this stack's names.
struct Resolver<'a> {
    template: &'a Template,
    table: (&'a str, &'a str),
    queue_urls: &'a BTreeMap<String, String>,
    /// Event buses created, by logical id (a bus's `Ref` is its name).
    buses: &'a BTreeMap<String, String>,
    parameters: &'a BTreeMap<String, String>,
    /// KMS keys created, by logical id.
    keys: &'a BTreeMap<String, String>,
}

impl Resolver<'_> {
    /// The value, or none for a KMS key the local stack leaves to the account's default.
    fn resolve(&self, value: &EnvValue) -> Result<Option<String>, String> {
        Ok(match value {
            EnvValue::Literal(literal) => Some(literal.clone()),
            EnvValue::If(condition, then, otherwise) => {
                let taken = if self.template.condition_holds(condition, self.parameters)? {
                    then
                } else {
                    otherwise
                };
                return self.resolve(taken);
            }
            EnvValue::Ref(target) if target == self.table.0 => Some(self.table.1.to_owned()),
            EnvValue::Ref(target) if self.queue_urls.contains_key(target) => {
                self.queue_urls.get(target).cloned()
            }
            EnvValue::Ref(target) if self.buses.contains_key(target) => self.buses.get(target).cloned(),
            EnvValue::Ref(target) if self.parameters.contains_key(target) => {
                self.parameters.get(target).cloned()
            }
            EnvValue::Ref(target) if self.keys.contains_key(target) => self.keys.get(target).cloned(),
            // The secrets' key stays unset locally: the vault then uses the account's default key.
            EnvValue::Ref(target) if self.template.resource_type(target) == Some("AWS::KMS::Key") => None,
            EnvValue::Ref(target) => Some(
                self.template
                    .parameter_default(target)
                    .ok_or_else(|| format!("refers to {target}, which the local stack does not create"))?,
            ),
        })
    }
}

/// Creates the template's key `logical_id` with its key spec and usage; returns its id.
async fn create_key(
    sdk: &SdkConfig,
    logical_id: &str,
    properties: &serde_yaml_ng::Value,
) -> Result<String, String> {
    let property = |name: &str| {
        properties[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{logical_id} has no {name}"))
    };
    let created = aws_sdk_kms::Client::new(sdk)
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::from(property("KeySpec")?.as_str()))
        .key_usage(aws_sdk_kms::types::KeyUsageType::from(
            property("KeyUsage")?.as_str(),
        ))
        .description(property("Description")?)
        .send()
        .await
        .map_err(|err| format!("CreateKey {logical_id}: {}", state::aws::describe(&err)))?;
    created
        .key_metadata
        .map(|key| key.key_id)
        .ok_or_else(|| "CreateKey answered without the key".to_owned())
}

/// `prefix` plus the logical id in kebab case: `StateTable` -> `{prefix}-state-table`.
pub fn local_name(prefix: &str, logical_id: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + logical_id.len() + 4);
    name.push_str(prefix);
    for c in logical_id.chars() {
        if c.is_ascii_uppercase() {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

fn key_elements(schema: &[KeyElement]) -> Result<Vec<KeySchemaElement>, String> {
    schema
        .iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .map_err(|err| err.to_string())
        })
        .collect()
}

async fn create_table(sdk: &SdkConfig, table: &TableDefinition, name: &str) -> Result<(), String> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in &table.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|err| err.to_string())?,
        );
    }
    request = request.set_key_schema(Some(key_elements(&table.key_schema)?));
    for (index, schema) in &table.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(key_elements(schema)?))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(|err| err.to_string())?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(err) => {
            return Err(format!("CreateTable {name}: {}", state::aws::describe(&err)));
        }
    }
    if let Some(attribute) = &table.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|err| err.to_string())?,
            )
            .send()
            .await
            .map_err(|err| format!("UpdateTimeToLive {name}: {}", state::aws::describe(&err)))?;
    }
    Ok(())
}

async fn create_queue(
    sdk: &SdkConfig,
    queue: &QueueDefinition,
    prefix: &str,
    created: &BTreeMap<String, String>,
) -> Result<String, String> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let name = local_name(prefix, &queue.logical_id);
    let mut request = client.create_queue().queue_name(&name);
    for (attribute, value) in &queue.attributes {
        request = request.attributes(QueueAttributeName::from(attribute.as_str()), value);
    }
    if let Some((target, max_receive_count)) = &queue.dead_letter {
        let target_url = created
            .get(target)
            .ok_or_else(|| format!("{}: dead-letter queue {target} is not a queue", queue.logical_id))?;
        let arn = queue_arn(&client, target_url).await?;
        let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count});
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let output = request
        .send()
        .await
        .map_err(|err| format!("CreateQueue {name}: {}", state::aws::describe(&err)))?;
    output
        .queue_url
        .ok_or_else(|| format!("CreateQueue {name} returned no URL"))
}

/// The ARN of the queue at `url`.
async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| format!("GetQueueAttributes {url}: {}", state::aws::describe(&err)))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| format!("{url} has no ARN"))
}

/// Creates the event bus `name` and a rule on it that sends every m365-inline event to a queue
/// of its own (`{name}-watch`); returns the queue's URL. Running it twice is harmless.
async fn create_bus_with_watch(sdk: &SdkConfig, name: &str) -> Result<String, String> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    match events.create_event_bus().name(name).send().await {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(err) => return Err(format!("CreateEventBus {name}: {}", state::aws::describe(&err))),
    }
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let watch = format!("{name}-watch");
    let url = sqs
        .create_queue()
        .queue_name(&watch)
        .send()
        .await
        .map_err(|err| format!("CreateQueue {watch}: {}", state::aws::describe(&err)))?
        .queue_url
        .ok_or_else(|| format!("CreateQueue {watch} returned no URL"))?;
    let arn = queue_arn(&sqs, &url).await?;
    let pattern = serde_json::json!({"source": [model::notice::SOURCE]});
    events
        .put_rule()
        .name(&watch)
        .event_bus_name(name)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|err| format!("PutRule {watch}: {}", state::aws::describe(&err)))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("watch")
        .arn(arn)
        .build()
        .map_err(|err| err.to_string())?;
    events
        .put_targets()
        .rule(&watch)
        .event_bus_name(name)
        .targets(target)
        .send()
        .await
        .map_err(|err| format!("PutTargets {watch}: {}", state::aws::describe(&err)))?;
    Ok(url)
}

/// Puts `value` in the SSM parameter `name` (a String; Advanced tier past Standard's 4 KB),
/// overwriting what it held.
pub async fn put_parameter(sdk: &SdkConfig, name: &str, value: &str) -> Result<(), String> {
    let tier = if value.len() > 4096 {
        aws_sdk_ssm::types::ParameterTier::Advanced
    } else {
        aws_sdk_ssm::types::ParameterTier::Standard
    };
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .tier(tier)
        .overwrite(true)
        .send()
        .await
        .map(drop)
        .map_err(|err| format!("PutParameter {name}: {}", state::aws::describe(&err)))
}

/// Creates the secret `name` with `value`, or puts `value` if it exists.
pub async fn put_secret(sdk: &SdkConfig, name: &str, value: &str) -> Result<(), String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map(drop)
                .map_err(|err| format!("PutSecretValue {name}: {}", state::aws::describe(&err)))
        }
        Err(err) => Err(format!("CreateSecret {name}: {}", state::aws::describe(&err))),
    }
}
