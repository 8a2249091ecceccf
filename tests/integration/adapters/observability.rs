//! What the template gives on-call: a dashboard of metrics the code writes, saved Logs Insights
//! queries over every function's log on fields the code logs, and outputs naming every function,
//! queue, table, the bus and the dashboard.

use std::collections::BTreeSet;

use integration_tests::template::Template;
use serde_json::Value;

/// The `!Sub` text of `resource`'s `property`, and the names it substitutes (`${Name}`,
/// `${Name.Attribute}`; `${!…}` is literal).
fn substitution(template: &Template, resource: &str, property: &str) -> (String, BTreeSet<String>) {
    let value = &template.root()["Resources"][resource]["Properties"][property];
    let serde_yaml_ng::Value::Tagged(tagged) = value else {
        panic!("{resource}.{property} is a !Sub");
    };
    assert_eq!(tagged.tag, "Sub", "{resource}.{property}");
    let text = tagged.value.as_str().expect("a !Sub of one string").to_owned();
    let mut names = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${") {
        let end = rest[at..].find('}').expect("a closed ${") + at;
        let name = &rest[at + 2..end];
        if !name.starts_with('!') {
            names.insert(name.split('.').next().unwrap_or(name).to_owned());
        }
        rest = &rest[end + 1..];
    }
    (text, names)
}

/// The dashboard's body is JSON once CloudFormation substitutes it; it names only resources of
/// the template, charts only metrics the code writes, and lays its widgets on the 24-column grid.
#[test]
fn the_dashboard_charts_metrics_the_code_writes_on_resources_of_the_template() {
    let template = Template::load().expect("template");
    let (text, names) = substitution(&template, "Dashboard", "DashboardBody");
    for name in &names {
        assert!(
            name.starts_with("AWS::") || template.resource_type(name).is_some(),
            "the dashboard names {name}, which the template does not create"
        );
    }
    // CloudFormation's substitution: a resource's name or ARN in place, `${!x}` as `${x}`.
    let substituted = text.replace("${!", "\u{0}");
    let mut plain = String::new();
    let mut rest = substituted.as_str();
    while let Some(at) = rest.find("${") {
        plain.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("closed") + at;
        plain.push_str("resource-name");
        rest = &rest[end + 1..];
    }
    plain.push_str(rest);
    let plain = plain.replace('\u{0}', "${");
    let body: Value = serde_json::from_str(&plain).unwrap_or_else(|err| panic!("{err}: {plain}"));
    let written: BTreeSet<&str> = lifecycle::meter::NAMES
        .iter()
        .chain(microsoft::meter::NAMES.iter())
        .copied()
        .collect();
    let widgets = body["widgets"].as_array().expect("widgets");
    let mut charted = BTreeSet::new();
    for widget in widgets {
        let (x, width) = (widget["x"].as_u64(), widget["width"].as_u64());
        assert!(
            x.zip(width).is_some_and(|(x, w)| x + w <= 24) && widget["height"].as_u64() > Some(0),
            "{widget}"
        );
        let text = widget.to_string();
        for (at, _) in text.match_indices("MetricName=\\\"") {
            let name = &text[at + 13..];
            let name = &name[..name.find('\\').expect("quoted")];
            assert!(
                written.contains(name),
                "the dashboard charts {name}, which no code writes"
            );
            charted.insert(name.to_owned());
        }
    }
    for must in [
        lifecycle::meter::TENANTS,
        lifecycle::meter::TENANTS_FAILED,
        lifecycle::meter::REFRESH_FAILURES,
        microsoft::meter::MICROSOFT_THROTTLES,
        lifecycle::meter::CALLER_ERRORS_METRIC,
    ] {
        assert!(charted.contains(must), "the dashboard charts {must}: {charted:?}");
    }
    // Lambda's own errors of every function, beside the callers' share.
    for (function, _) in template.resources_of_type("AWS::Serverless::Function") {
        assert!(
            names.contains(&function),
            "the dashboard charts {function}'s errors"
        );
    }
}

/// Each saved query reads every function's log and filters on a field the code logs.
#[test]
fn each_saved_query_reads_every_functions_log_by_a_field_the_code_logs() {
    let template = Template::load().expect("template");
    let groups: BTreeSet<String> = template
        .resources_of_type("AWS::Logs::LogGroup")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let queries = template.resources_of_type("AWS::Logs::QueryDefinition");
    let mut fields = BTreeSet::new();
    for (id, properties) in &queries {
        let named: BTreeSet<String> = properties["LogGroupNames"]
            .as_sequence()
            .expect("log groups")
            .iter()
            .filter_map(|g| match g {
                serde_yaml_ng::Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
                _ => None,
            })
            .collect();
        assert_eq!(named, groups, "{id} reads every function's log");
        let query = properties["QueryString"].as_str().expect("a query");
        let field = ["tenant_id", "task_id", "run_id"]
            .into_iter()
            .find(|f| query.contains(&format!("filter {f} = ")))
            .unwrap_or_else(|| panic!("{id} filters on a span field: {query}"));
        fields.insert(field);
    }
    assert_eq!(fields.len(), 3, "a tenant's day, a task's steps, a run's errors");
    // The fields are the spans' own (lifecycle::span): a line inside a tenant's work carries them.
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let spans = std::fs::read_to_string(workspace.join("shared/lifecycle/src/span.rs")).expect("span.rs");
    for field in fields {
        assert!(spans.contains(field), "{field} is a span field");
    }
}

/// The stack's outputs name every function, queue, the table, the event bus and the dashboard.
#[test]
fn the_outputs_name_every_function_queue_table_bus_and_the_dashboard() {
    let template = Template::load().expect("template");
    let outputs = template.root()["Outputs"].as_mapping().expect("outputs");
    let referenced: BTreeSet<String> = outputs
        .values()
        .filter_map(|o| match &o["Value"] {
            serde_yaml_ng::Value::Tagged(t) if t.tag == "Ref" || t.tag == "GetAtt" => t
                .value
                .as_str()
                .map(|v| v.split('.').next().unwrap_or(v).to_owned()),
            _ => None,
        })
        .collect();
    for kind in [
        "AWS::Serverless::Function",
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::Events::EventBus",
        "AWS::CloudWatch::Dashboard",
    ] {
        let resources = template.resources_of_type(kind);
        assert!(!resources.is_empty(), "{kind}");
        for (id, _) in resources {
            assert!(referenced.contains(&id), "no output names {id} ({kind})");
        }
    }
}
