//! The template is the single definition of the deployed resources; the code must agree with it.

use integration_tests::{
    lab::TestStack,
    template::{EnvValue, Template},
};
use state::{
    config::{StoreConfig, VaultConfig, continuation_queue_url, sync_queue_url},
    store::key,
};

#[test]
fn table_keys_index_and_ttl_match_the_store() {
    let table = Template::load().expect("template").table().expect("table");
    let keys: Vec<_> = table
        .key_schema
        .iter()
        .map(|(n, k)| (n.as_str(), k.as_str()))
        .collect();
    assert_eq!(keys, [(key::PARTITION_KEY, "HASH"), (key::SORT_KEY, "RANGE")]);
    let indexes: Vec<(&str, Vec<(&str, &str)>)> = table
        .indexes
        .iter()
        .map(|(index, keys)| {
            let keys = keys.iter().map(|(n, k)| (n.as_str(), k.as_str())).collect();
            (index.as_str(), keys)
        })
        .collect();
    assert_eq!(
        indexes,
        [
            (
                key::SITE_INDEX,
                vec![(key::SITE_INDEX_KEY, "HASH"), (key::PARTITION_KEY, "RANGE")]
            ),
            (
                key::BY_SITE,
                vec![(key::FLEET_KEY, "HASH"), (key::ORDER_KEY, "RANGE")]
            ),
            (
                key::BY_STATE,
                vec![(key::STATE_KEY, "HASH"), (key::ORDER_KEY, "RANGE")]
            ),
            (
                key::BY_ATTENTION,
                vec![(key::ATTENTION_KEY, "HASH"), (key::ORDER_KEY, "RANGE")]
            ),
        ]
    );
    assert_eq!(table.ttl_attribute.as_deref(), Some(key::TTL_ATTRIBUTE));
    let index_keys = table.indexes.iter().flat_map(|(_, keys)| keys);
    for (name, _) in table.key_schema.iter().chain(index_keys) {
        assert!(
            table.attributes.iter().any(|(a, t)| a == name && t == "S"),
            "{name} must be a defined S attribute"
        );
    }
}

#[test]
fn every_work_queue_has_a_dead_letter_queue_and_six_times_the_timeout() {
    let template = Template::load().expect("template");
    let timeout: u64 = template.root()["Globals"]["Function"]["Timeout"]
        .as_u64()
        .expect("global timeout");
    let queues = template.queues().expect("queues");
    let work_queues: Vec<_> = queues.iter().filter(|q| q.dead_letter.is_some()).collect();
    assert!(work_queues.len() >= 2, "sync and provision queues: {queues:?}");
    for queue in work_queues {
        let visibility: u64 = queue.attributes["VisibilityTimeout"].parse().expect("number");
        assert!(
            visibility >= 6 * timeout,
            "{}: visibility {visibility} < 6 x {timeout}",
            queue.logical_id
        );
        let (dlq, _) = queue.dead_letter.as_ref().expect("dlq");
        assert!(
            queues.iter().any(|q| &q.logical_id == dlq),
            "{dlq} must be a queue of the template"
        );
    }
}

#[test]
fn function_environments_refer_only_to_template_resources_parameters_and_conditions() {
    let template = Template::load().expect("template");
    let environments = template
        .function_environments()
        .expect("every function's environment");
    assert_eq!(
        environments.len(),
        integration_tests::lab::FUNCTIONS.len(),
        "every function: {:?}",
        environments.keys()
    );
    fn check(template: &Template, function: &str, name: &str, value: &EnvValue) {
        match value {
            EnvValue::Literal(_) => {}
            EnvValue::Ref(target) => assert!(
                template.resource_type(target).is_some()
                    || template.root()["Parameters"].get(target).is_some(),
                "{function}: {name} refers to {target}, which the template does not define"
            ),
            EnvValue::If(condition, then, otherwise) => {
                assert!(
                    template.condition_holds(condition, &Default::default()).is_ok(),
                    "{function}: {name} depends on {condition}, which the local stack cannot evaluate"
                );
                check(template, function, name, then);
                check(template, function, name, otherwise);
            }
        }
    }
    for (function, environment) in &environments {
        for (name, value) in environment {
            check(&template, function, name, value);
        }
    }
}

#[tokio::test]
async fn the_local_stack_from_the_template_satisfies_every_configuration() {
    let test = TestStack::new().await;
    StoreConfig::from_source(&test.stack.env).expect("TABLE_NAME from the template");
    VaultConfig::from_source(&test.stack.env).expect("SECRET_PREFIX and APP_SECRET_ID from the template");
    let queues = [
        sync_queue_url(&test.stack.env).expect("SYNC_QUEUE_URL from the template"),
        continuation_queue_url(&test.stack.env).expect("PROVISION_QUEUE_URL from the template"),
    ];
    // The vendor document, from the Parameter Store parameter the template names.
    let resolved = state::parameters::resolve(&test.sdk, &test.stack.env)
        .await
        .expect("VENDOR_CONFIG_PARAMETER names the stack's parameter");
    model::vendor::VendorConfig::from_source(&resolved).expect("the vendor document, read from it");
    let sqs = aws_sdk_sqs::Client::new(&test.sdk);
    for url in &queues {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .expect("queue exists")
            .attributes
            .unwrap_or_default();
        let redrive = attributes
            .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .expect("redrive policy");
        assert!(redrive.contains("deadLetterTargetArn"), "{redrive}");
    }
}

#[test]
fn token_refresh_runs_hourly_one_at_a_time() {
    let template = Template::load().expect("template");
    let function = &template.root()["Resources"]["TokenRefreshFunction"];
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("token-refresh")
    );
    let properties = &function["Properties"];
    assert_eq!(
        properties["ReservedConcurrentExecutions"].as_u64(),
        Some(1),
        "refreshes never overlap"
    );
    let schedule = &properties["Events"]["Hourly"];
    assert_eq!(schedule["Type"].as_str(), Some("ScheduleV2"));
    assert_eq!(
        schedule["Properties"]["ScheduleExpression"].as_str(),
        Some("rate(1 hour)")
    );
    assert_eq!(schedule["Properties"]["OmitName"].as_bool(), Some(true));
}

#[test]
fn every_function_crate_is_in_the_template_with_its_binary() {
    let template = Template::load().expect("template");
    let functions = template.resources_of_type("AWS::Serverless::Function");
    let binaries: Vec<String> = functions
        .iter()
        .map(|(id, _)| {
            template.root()["Resources"][id.as_str()]["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    for entry in std::fs::read_dir(&dir).expect("functions/") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(
            binaries.contains(&name),
            "functions/{name} has no function in the template: {binaries:?}"
        );
    }
}

/// The list under `key` (empty when absent).
fn sequence(value: &serde_yaml_ng::Value, key: &str) -> Vec<serde_yaml_ng::Value> {
    value
        .get(key)
        .and_then(|v| v.as_sequence())
        .cloned()
        .unwrap_or_default()
}

#[test]
fn no_iam_statement_grants_a_wildcard_action() {
    let template = Template::load().expect("template");
    let mut checked = 0;
    for (id, properties) in template.resources_of_type("AWS::Serverless::Function") {
        for policy in sequence(properties, "Policies") {
            for statement in sequence(&policy, "Statement") {
                let actions: Vec<String> = match statement.get("Action") {
                    Some(serde_yaml_ng::Value::String(action)) => vec![action.clone()],
                    Some(serde_yaml_ng::Value::Sequence(list)) => list
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                for action in actions {
                    checked += 1;
                    assert!(!action.contains('*'), "{id} grants the wildcard action {action}");
                }
                let resource = statement.get("Resource").and_then(|r| r.as_str());
                assert_ne!(resource, Some("*"), "{id} grants on every resource");
            }
        }
    }
    assert!(checked > 20, "the statements were found ({checked} actions)");
    // The KMS key policy's kms:* for the account root is AWS's default key policy (a resource
    // policy, not IAM): without it the account could lose control of the key.
}

/// The argument of `value` if it is the intrinsic function `tag` (`!GetAtt`, `!Ref`, `!If`).
fn intrinsic<'a>(value: &'a serde_yaml_ng::Value, tag: &str) -> Option<&'a serde_yaml_ng::Value> {
    match value {
        serde_yaml_ng::Value::Tagged(tagged) if tagged.tag == tag => Some(&tagged.value),
        _ => None,
    }
}

#[test]
fn every_schedule_assumes_a_role_only_this_accounts_schedules_may_assume_and_that_invokes_only_its_function_and_has_a_dead_letter_queue()
 {
    let template = Template::load().expect("template");
    let mut schedules = 0;
    for (function, properties) in template.resources_of_type("AWS::Serverless::Function") {
        let Some(events) = properties
            .get("Events")
            .and_then(serde_yaml_ng::Value::as_mapping)
        else {
            continue;
        };
        for (name, event) in events {
            if event["Type"].as_str() != Some("ScheduleV2") {
                continue;
            }
            schedules += 1;
            let role = intrinsic(&event["Properties"]["RoleArn"], "GetAtt")
                .and_then(|target| target.as_str()?.strip_suffix(".Arn"))
                .unwrap_or_else(|| panic!("{function}.{name:?}: no RoleArn of the template (SAM's own role has no aws:SourceAccount)"));
            assert_eq!(template.resource_type(role), Some("AWS::IAM::Role"), "{role}");
            let role = &template.root()["Resources"][role]["Properties"];
            let trust = role["AssumeRolePolicyDocument"]["Statement"]
                .as_sequence()
                .expect("trust statements");
            for statement in trust {
                assert_eq!(
                    statement["Principal"]["Service"].as_str(),
                    Some("scheduler.amazonaws.com")
                );
                let account = &statement["Condition"]["StringEquals"]["aws:SourceAccount"];
                assert_eq!(
                    intrinsic(account, "Ref").and_then(serde_yaml_ng::Value::as_str),
                    Some("AWS::AccountId"),
                    "{function}.{name:?}: only this account's schedules may assume the role"
                );
            }
            // What Scheduler could not deliver after its retries goes to the schedules' queue.
            let dead_letters = intrinsic(&event["Properties"]["DeadLetterConfig"]["Arn"], "GetAtt")
                .and_then(serde_yaml_ng::Value::as_str);
            assert_eq!(
                dead_letters,
                Some("ScheduleDeadLetterQueue.Arn"),
                "{function}.{name:?} has a dead-letter queue"
            );
            let mut grants = Vec::new();
            for policy in role["Policies"].as_sequence().expect("policies") {
                for statement in policy["PolicyDocument"]["Statement"]
                    .as_sequence()
                    .expect("statements")
                {
                    let target =
                        intrinsic(&statement["Resource"], "GetAtt").and_then(serde_yaml_ng::Value::as_str);
                    grants.push((
                        statement["Action"].as_str().unwrap_or_default().to_owned(),
                        target.unwrap_or_default().to_owned(),
                    ));
                }
            }
            grants.sort();
            assert_eq!(
                grants,
                [
                    ("lambda:InvokeFunction".to_owned(), format!("{function}.Arn")),
                    (
                        "sqs:SendMessage".to_owned(),
                        "ScheduleDeadLetterQueue.Arn".to_owned()
                    ),
                ],
                "{function}.{name:?}: its function, and the dead-letter queue, nothing else"
            );
        }
    }
    assert_eq!(
        schedules,
        1 + model::sites::SITES.len(),
        "the hourly refresh and one schedule per site"
    );
}

#[test]
fn every_function_enforces_the_deployments_code_signing_profiles() {
    let template = Template::load().expect("template");
    let config = &template.root()["Resources"]["CodeSigningConfig"];
    assert_eq!(config["Condition"].as_str(), Some("SignsCode"));
    let properties = &config["Properties"];
    assert_eq!(
        properties["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"].as_str(),
        Some("Enforce"),
        "unsigned code is refused, not merely logged"
    );
    assert_eq!(
        intrinsic(
            &properties["AllowedPublishers"]["SigningProfileVersionArns"],
            "Ref"
        )
        .and_then(serde_yaml_ng::Value::as_str),
        Some("CodeSigningProfileVersionArns")
    );
    let functions = template.resources_of_type("AWS::Serverless::Function");
    assert_eq!(functions.len(), integration_tests::lab::FUNCTIONS.len());
    for (function, properties) in functions {
        let arguments = intrinsic(&properties["CodeSigningConfigArn"], "If")
            .and_then(serde_yaml_ng::Value::as_sequence)
            .unwrap_or_else(|| panic!("{function} has no CodeSigningConfigArn"));
        assert_eq!(arguments[0].as_str(), Some("SignsCode"), "{function}");
        assert_eq!(
            intrinsic(&arguments[1], "GetAtt").and_then(serde_yaml_ng::Value::as_str),
            Some("CodeSigningConfig.CodeSigningConfigArn"),
            "{function}"
        );
    }
}

/// A metric an alarm watches: its namespace, name and dimensions.
type Watched = (String, String, Vec<(String, serde_yaml_ng::Value)>);

/// Every metric an alarm watches: its own metric or each metric of its math.
fn watched(properties: &serde_yaml_ng::Value) -> Vec<Watched> {
    let metric = |m: &serde_yaml_ng::Value| {
        let text = |key: &str| m.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let dimensions = sequence(m, "Dimensions")
            .iter()
            .map(|d| {
                (
                    d.get("Name")
                        .and_then(|n| n.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    d.get("Value").cloned().unwrap_or_default(),
                )
            })
            .collect();
        (text("Namespace"), text("MetricName"), dimensions)
    };
    if properties.get("MetricName").is_some() {
        return vec![metric(properties)];
    }
    sequence(properties, "Metrics")
        .iter()
        .filter_map(|m| m.get("MetricStat")?.get("Metric").map(metric))
        .collect()
}

/// Each alarm says what to do, tells the topic when it clears, and watches metrics that exist: an
/// `M365Inline` metric is one the code writes, under a function of the template and dimensions
/// the code gives it. Every site's sync has its alarm, and every function's errors alarm leaves
/// out the caller's errors.
#[test]
fn every_alarm_says_what_to_do_clears_and_watches_a_metric_the_code_writes() {
    let template = Template::load().expect("template");
    let functions: Vec<String> = template
        .resources_of_type("AWS::Serverless::Function")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let written: Vec<&str> = lifecycle::meter::NAMES
        .iter()
        .chain(microsoft::meter::NAMES.iter())
        .copied()
        .collect();
    let sites: Vec<&str> = model::sites::Site::all().map(|s| s.code()).collect();
    let alarms = template.resources_of_type("AWS::CloudWatch::Alarm");
    let mut site_alarms = Vec::new();
    let mut errors_alarms = Vec::new();
    for (id, properties) in &alarms {
        let description = properties
            .get("AlarmDescription")
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        assert!(description.len() > 60, "{id} says what to do: {description:?}");
        assert!(
            properties.get("AlarmActions").is_some()
                && properties.get("OKActions") == properties.get("AlarmActions"),
            "{id} tells the topic when it fires and when it clears"
        );
        let metrics = watched(properties);
        assert!(!metrics.is_empty(), "{id} watches a metric");
        for (namespace, name, dimensions) in &metrics {
            if namespace != lifecycle::meter::NAMESPACE {
                assert!(namespace.starts_with("AWS/"), "{id}: {namespace}");
                continue;
            }
            assert!(
                written.contains(&name.as_str()),
                "{id} watches {name}, which no code writes"
            );
            let function = dimensions
                .iter()
                .find(|(n, _)| n == "Function")
                .and_then(|(_, v)| intrinsic(v, "!Ref"))
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("{id}: {name} without a Function of the template"));
            assert!(functions.iter().any(|f| f == function), "{id}: {function}");
            for (dimension, value) in dimensions {
                match dimension.as_str() {
                    "Function" => {}
                    "Site" => {
                        let site = value.as_str().unwrap_or_default();
                        assert!(sites.contains(&site), "{id}: site {site:?}");
                        if name == lifecycle::meter::TENANTS_FAILED {
                            site_alarms.push(site.to_owned());
                        }
                    }
                    "Surface" => assert!(
                        [
                            microsoft::meter::GRAPH,
                            microsoft::meter::EXCHANGE,
                            microsoft::meter::IDENTITY
                        ]
                        .contains(&value.as_str().unwrap_or_default()),
                        "{id}: {value:?}"
                    ),
                    other => panic!("{id}: {name} has no dimension {other} in the code"),
                }
            }
            if name == lifecycle::meter::CALLER_ERRORS_METRIC {
                errors_alarms.push(function.to_owned());
            }
        }
    }
    site_alarms.sort();
    let mut every_site: Vec<String> = sites.iter().map(|s| (*s).to_owned()).collect();
    every_site.sort();
    assert_eq!(site_alarms, every_site, "each site's sync has its alarm");
    errors_alarms.sort();
    let mut every_function = functions.clone();
    every_function.sort();
    assert_eq!(errors_alarms, every_function, "each function's errors alarm");
}
