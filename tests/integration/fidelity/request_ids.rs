//! Every request names itself, and an error names both ids: the `client-request-id` we sent
//! and the `request-id` Microsoft answered. A support case with Microsoft asks for exactly these.
//!
//! Source: "Microsoft Graph error responses and resource types"
//! (learn.microsoft.com/graph/errors): an error's `innerError` carries `request-id`,
//! `client-request-id` and `date`; Graph and Exchange answer the `request-id` header and echo a
//! caller's `client-request-id`; Entra's error body names its `trace_id` and takes the caller's
//! id as its `correlation_id`.

use integration_tests::lab::{Lab, provision_request};
use serde_json::json;

#[tokio::test]
async fn every_microsoft_request_names_itself_and_an_error_names_both_ids() {
    let lab = Lab::start().await;
    let kept = lab.customer_tenant("traced.example", "198.51.100.91");
    let view = lab
        .provision(provision_request(kept, &["alice@traced.example"]))
        .await
        .expect("a provisioning");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    let counts = lab.counts(kept);
    for (surface, counts) in [
        ("token", counts.token),
        ("graph", counts.graph),
        ("exchange", counts.exchange),
    ] {
        assert!(counts.round_trips > 0, "{surface}: {counts:?}");
        assert_eq!(
            counts.untraced, 0,
            "{surface}: a request without a client-request-id"
        );
    }

    // Exchange refuses one cmdlet; Graph one read: each error names our id and Microsoft's.
    let refused = lab.customer_tenant("refused.example", "198.51.100.92");
    lab.fault(json!({"tenant": refused.to_string(), "surface": "exchange", "match": "New-InboundConnector", "status": 400}));
    lab.fault(
        json!({"tenant": refused.to_string(), "surface": "graph", "match": "/sites/root", "status": 403}),
    );
    let view = lab
        .provision(provision_request(refused, &["alice@refused.example"]))
        .await
        .expect("a provisioning");
    assert_eq!(view["status"], "failed", "{view:#}");
    let errors: Vec<String> = view["services"]
        .as_object()
        .expect("services")
        .values()
        .flat_map(|service| service["steps"].as_array().cloned().unwrap_or_default())
        .filter_map(|step| step["last_error"].as_str().map(str::to_owned))
        .collect();
    let named = |call: &str| {
        errors
            .iter()
            .find(|e| e.contains(call))
            .unwrap_or_else(|| panic!("no {call} error in {errors:?}"))
            .clone()
    };
    // A GUID right after `label` in `text`.
    let id_after = |text: &str, label: &str| {
        let at = text
            .find(label)
            .map(|i| i + label.len())
            .unwrap_or_else(|| panic!("no {label} in {text}"));
        uuid::Uuid::parse_str(text.get(at..at + 36).unwrap_or_default())
            .unwrap_or_else(|_| panic!("no GUID after {label} in {text}"))
    };
    for error in [
        named("Exchange New-InboundConnector answered 400"),
        named("Graph GET /v1.0/sites/root answered 403"),
    ] {
        let client = id_after(&error, "(client-request-id ");
        let server = id_after(&error, ", request-id ");
        assert_ne!(client, server, "{error}");
    }
}
