//! Property tests over every parser of outside input: no input panics, every rejection names a
//! field, and every accepted value survives a round trip. Case counts are bounded so `make test`
//! stays quick.

use model::{
    event::{self, EventError},
    policy::{DomainName, GroupId, UserPrincipalName},
    service::Service,
    sites::Site,
    task::TaskId,
    tenant::TenantId,
    validation::{Validated, ValidationError},
    vendor::VendorConfig,
};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::{
    deprovisioning::DeprovisionRequest, entry::Invocation, policy_targets::PolicyTargetsRequest,
    provisioning::ProvisionRequest, refresh::force_from,
};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Strings that stress validation: GUID-like, site-like, unicode, control characters, long ones.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[a-z_]{0,20}",
        ".{0,80}",
        "\\PC{0,40}",
        "[\\x00-\\x1f]{1,10}",
        proptest::collection::vec(any::<char>(), 0..300).prop_map(|c| c.into_iter().collect()),
    ]
}

/// Arbitrary JSON up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("tenant_id".to_owned()),
                    Just("site".to_owned()),
                    Just("services".to_owned()),
                    Just("mode".to_owned()),
                    Just("task_id".to_owned()),
                    Just("options".to_owned()),
                    Just("force".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A validated type either accepts a string and gives it back canonical, or names its field.
fn check_validated<T: Validated + std::fmt::Debug>(
    raw: &str,
    show: impl Fn(&T) -> String,
) -> Result<(), TestCaseError> {
    match T::parse(raw) {
        Ok(value) => {
            let again = T::parse(&show(&value));
            prop_assert!(again.is_ok(), "{raw:?} -> {value:?} does not parse back");
        }
        Err(ValidationError { field, reason }) => {
            prop_assert_eq!(field, T::FIELD);
            prop_assert!(!reason.is_empty());
            // Hostile input is quoted, bounded and escaped, never copied raw into a message: at
            // most 64 characters of it, each at most 10 bytes escaped (`\u{3347a}`), and the
            // sentence around them.
            prop_assert!(reason.len() < 1_000, "reason too long: {}", reason.len());
            prop_assert!(!reason.contains('\n') && !reason.contains('\r'), "{reason:?}");
        }
    }
    Ok(())
}

fn assert_named(err: &EventError) -> Result<(), TestCaseError> {
    match err {
        EventError::Invalid { field, reason } => {
            prop_assert!(!field.is_empty());
            prop_assert!(!reason.is_empty());
        }
        EventError::Malformed { reason, .. } => prop_assert!(!reason.is_empty()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn validated_types_accept_canonically_or_name_their_field(raw in hostile_string()) {
        check_validated::<TenantId>(&raw, ToString::to_string)?;
        check_validated::<TaskId>(&raw, ToString::to_string)?;
        check_validated::<Site>(&raw, |s| s.code().to_owned())?;
        check_validated::<Service>(&raw, |s| s.code().to_owned())?;
        check_validated::<DomainName>(&raw, |d| d.as_str().to_owned())?;
        check_validated::<UserPrincipalName>(&raw, |u| u.as_str().to_owned())?;
        check_validated::<GroupId>(&raw, |g| g.as_str().to_owned())?;
    }

    #[test]
    fn event_parsers_never_panic_and_name_what_they_refuse(value in json_value()) {
        for result in [
            Invocation::parse(value.clone()).map(drop),
            ProvisionRequest::parse(value.clone()).map(drop),
            DeprovisionRequest::parse(value.clone()).map(drop),
            PolicyTargetsRequest::parse(value.clone()).map(drop),
            force_from(&value).map(drop),
            model::event::from_value::<crate::tasks::Continue>(value.clone()).map(drop),
        ] {
            if let Err(err) = result {
                assert_named(&err)?;
            }
        }
    }

    #[test]
    fn raw_bytes_never_panic_the_event_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(err) = event::parse::<Value>(&bytes) {
            assert_named(&err)?;
        }
        let _ = VendorConfig::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn deep_nesting_is_refused_without_a_stack_overflow(depth in 1usize..20_000) {
        let bomb = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        match event::parse::<Value>(bomb.as_bytes()) {
            Ok(_) => prop_assert!(depth <= 128, "serde_json's recursion limit should refuse depth {}", depth),
            Err(err) => assert_named(&err)?,
        }
    }

    #[test]
    fn valid_provision_requests_parse(site in prop::sample::select(Site::all().collect::<Vec<_>>()), dry_run in any::<bool>()) {
        let tenant = uuid::Uuid::new_v4().to_string();
        let request = ProvisionRequest::parse(json!({"tenant_id": tenant, "site": site.code(), "options": {"dry_run": dry_run}}));
        prop_assert!(request.is_ok(), "{request:?}");
    }
}
