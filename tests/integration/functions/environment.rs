//! Each function is given only the configuration it reads, and starts with only that.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
};

use integration_tests::{lab::Lab, template::Template};
use lifecycle::{
    Lifecycle,
    onboarding::Onboarding,
    refresh::Refresher,
    sync::{DailySync, Syncer},
};
use m365_sim::SimConfig;
use model::config::{ConfigError, Source};
use state::store::Store;

/// A configuration source that remembers every variable asked for.
struct Recorder<'a> {
    source: &'a BTreeMap<String, String>,
    read: RefCell<BTreeSet<String>>,
}

impl Source for Recorder<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.read.borrow_mut().insert(name.to_owned());
        self.source.get(name).cloned()
    }
}

/// Builds `function`'s services from `source`, as its `main` does from the process environment
/// (the vendor document read from the parameter it names).
async fn configure(
    function: &str,
    sdk: &aws_config::SdkConfig,
    source: &impl Source,
) -> Result<(), ConfigError> {
    let source = &state::parameters::resolve(sdk, source).await?;
    match function {
        "provision" | "deprovision" | "policy-targets" => Lifecycle::from_source(sdk, source).map(drop),
        "status" => Store::from_source(sdk, source).map(drop),
        "onboard" => Onboarding::from_source(sdk, source).map(drop),
        "token-refresh" => Refresher::from_source(sdk, source).map(drop),
        "daily-sync" => DailySync::from_source(sdk, source).map(drop),
        "sync-worker" => Syncer::from_source(sdk, source).map(drop),
        "api" => lifecycle::console::Console::from_source(sdk, source).map(drop),
        other => panic!("no function {other}"),
    }
}

#[tokio::test]
async fn each_function_is_given_only_what_it_reads_and_starts_with_only_that() {
    // The default deployment: its app signs with the stack's KMS key, so the key's id is read.
    let lab = Lab::with_kms_certificate(SimConfig::default()).await;
    let environments = Template::load()
        .expect("template")
        .function_environments()
        .expect("every function's environment");
    for (function, given) in &environments {
        let env = lab.env_of_function(function);
        let recorder = Recorder {
            source: &env,
            read: RefCell::default(),
        };
        configure(function, &lab.aws.sdk, &recorder)
            .await
            .unwrap_or_else(|err| panic!("{function} does not start with only its own environment: {err}"));
        let read = recorder.read.into_inner();
        let unread: Vec<_> = given.keys().filter(|name| !read.contains(*name)).collect();
        assert!(
            unread.is_empty(),
            "{function} is given {unread:?}, which it never reads"
        );
    }
    let status: Vec<_> = environments["status"].keys().collect();
    assert_eq!(status, ["TABLE_NAME"], "status reads the table and nothing else");
}
