//! What `provision` is asked to do, validated at the edge.

use serde::Deserialize;
use serde_json::Value;

use model::{
    cloud::Cloud,
    event::{self, EventError},
    policy::{PolicyTargetsInput, UserPrincipalName},
    service::Service,
    sites::Site,
    task::TaskId,
    tenant::TenantId,
};

/// A request to provision a tenant (DESIGN §2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Its site.
    pub site: Site,
    /// Its cloud (default commercial).
    #[serde(default)]
    pub cloud: Cloud,
    /// The services to protect (default: all three).
    #[serde(default = "all_services")]
    pub services: Vec<Service>,
    /// What the protection covers.
    #[serde(default)]
    pub policy_targets: PolicyTargetsInput,
    /// Options.
    #[serde(default)]
    pub options: Options,
}

fn all_services() -> Vec<Service> {
    Service::ALL.to_vec()
}

/// Provisioning options.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Add the vendor IPs to the connection-filter IP Allow List.
    #[serde(default = "yes")]
    pub ip_allow_list: bool,
    /// Assign Global Administrator to `delegates` (legacy; audited).
    #[serde(default)]
    pub promote_delegates_to_global_admin: bool,
    /// The delegate accounts to promote.
    #[serde(default)]
    pub delegates: Vec<UserPrincipalName>,
    /// Return the plan of calls and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ip_allow_list: true,
            promote_delegates_to_global_admin: false,
            delegates: Vec::new(),
            dry_run: false,
        }
    }
}

/// A continuation of an existing task (also the body of the continuation queue's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Continue {
    /// The task to continue.
    pub task_id: TaskId,
}

/// Everything `provision` can be invoked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Start (or join) provisioning of a tenant.
    Start(Box<ProvisionRequest>),
    /// Continue tasks: one from a direct invoke, several from an SQS batch (with message ids).
    Continue(Vec<(Option<String>, Continue)>),
}

impl ProvisionRequest {
    /// Parses and checks a request; errors name the field.
    pub fn parse(value: Value) -> Result<Self, EventError> {
        let request: Self = event::from_value(value)?;
        request.check()?;
        Ok(request)
    }

    fn check(&self) -> Result<(), EventError> {
        let invalid = |field: &str, reason: &str| EventError::Invalid {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        if self.services.is_empty() {
            return Err(invalid("services", "at least one service is needed"));
        }
        let mut seen = self.services.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.services.len() {
            return Err(invalid("services", "a service is listed twice"));
        }
        self.policy_targets.check("policy_targets")?;
        if self.options.promote_delegates_to_global_admin && self.options.delegates.is_empty() {
            return Err(invalid(
                "options.delegates",
                "promote_delegates_to_global_admin needs the delegate accounts",
            ));
        }
        if !self.options.promote_delegates_to_global_admin && !self.options.delegates.is_empty() {
            return Err(invalid(
                "options.delegates",
                "delegates are only used with promote_delegates_to_global_admin",
            ));
        }
        Ok(())
    }
}

impl Invocation {
    /// Recognises the event: a request, `{"task_id"}`, either wrapped in an EventBridge envelope
    /// (`detail`), or an SQS batch of continuations (`Records`).
    pub fn parse(value: Value) -> Result<Self, EventError> {
        let Value::Object(object) = &value else {
            return Err(EventError::Invalid {
                field: ".".to_owned(),
                reason: "expected a JSON object".to_owned(),
            });
        };
        if let Some(records) = object.get("Records") {
            let records = records.as_array().ok_or_else(|| EventError::Invalid {
                field: "Records".to_owned(),
                reason: "expected an array of SQS records".to_owned(),
            })?;
            let mut continuations = Vec::with_capacity(records.len());
            for (index, record) in records.iter().enumerate() {
                let in_record = |err: EventError| match err {
                    EventError::Invalid { field, reason } => EventError::Invalid {
                        field: format!("Records[{index}].body.{field}"),
                        reason,
                    },
                    other => other,
                };
                let id = record.get("messageId").and_then(Value::as_str).map(str::to_owned);
                let body = record.get("body").and_then(Value::as_str).unwrap_or_default();
                continuations.push((id, event::parse::<Continue>(body.as_bytes()).map_err(in_record)?));
            }
            return Ok(Self::Continue(continuations));
        }
        if object.contains_key("detail") && object.contains_key("detail-type") {
            let detail = object.get("detail").cloned().unwrap_or(Value::Null);
            return Self::parse(detail).map_err(|err| match err {
                EventError::Invalid { field, reason } => EventError::Invalid {
                    field: format!("detail.{field}"),
                    reason,
                },
                other => other,
            });
        }
        if object.contains_key("task_id") {
            return Ok(Self::Continue(vec![(None, event::from_value(value)?)]));
        }
        Ok(Self::Start(Box::new(ProvisionRequest::parse(value)?)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TENANT: &str = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11";

    #[test]
    fn the_design_example_parses_with_defaults() {
        let request = ProvisionRequest::parse(json!({
            "tenant_id": TENANT, "site": "us",
            "services": ["exchange_online", "sharepoint_online", "onedrive"],
            "policy_targets": {"domains": ["contoso.com"], "users": ["alice@contoso.com"]},
            "options": {"ip_allow_list": true, "promote_delegates_to_global_admin": false, "dry_run": false}
        }))
        .expect("valid");
        assert_eq!(request.site, Site::Us);
        assert_eq!(request.cloud, Cloud::Commercial);
        let minimal = ProvisionRequest::parse(json!({"tenant_id": TENANT, "site": "eu"})).expect("valid");
        assert_eq!(minimal.services, Service::ALL);
        assert!(minimal.options.ip_allow_list);
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (json!({"tenant_id": "x", "site": "eu"}), "tenant_id"),
            (json!({"tenant_id": TENANT, "site": "mars"}), "site"),
            (json!({"tenant_id": TENANT}), "."),
            (
                json!({"tenant_id": TENANT, "site": "eu", "services": ["teams"]}),
                "services[0]",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "services": []}),
                "services",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "services": ["onedrive", "onedrive"]}),
                "services",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"turbo": true}}),
                "options.turbo",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"dry_run": "yes"}}),
                "options.dry_run",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "policy_targets": {"users": ["bob"]}}),
                "policy_targets.users[0]",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"promote_delegates_to_global_admin": true}}),
                "options.delegates",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "cloud": "mars"}),
                "cloud",
            ),
        ];
        for (event, field) in cases {
            let err = Invocation::parse(event.clone()).expect_err(&event.to_string());
            assert_eq!(err.field(), Some(field), "{event}: {err}");
        }
    }

    #[test]
    fn continuations_come_direct_from_sqs_and_from_eventbridge() {
        let task = TaskId::new();
        assert!(
            matches!(Invocation::parse(json!({"task_id": task.to_string()})), Ok(Invocation::Continue(c)) if c.len() == 1)
        );
        let sqs = json!({"Records": [{"messageId": "m1", "body": json!({"task_id": task.to_string()}).to_string()}]});
        let Ok(Invocation::Continue(batch)) = Invocation::parse(sqs) else {
            panic!("sqs batch")
        };
        assert_eq!(batch, [(Some("m1".to_owned()), Continue { task_id: task })]);
        let bad_sqs = json!({"Records": [{"messageId": "m1", "body": "{\"task_id\": 5}"}]});
        assert_eq!(
            Invocation::parse(bad_sqs).expect_err("bad").field(),
            Some("Records[0].body.task_id")
        );
        let bridge = json!({"detail-type": "Provision", "source": "vendor.portal", "detail": {"tenant_id": TENANT, "site": "sg"}});
        assert!(matches!(Invocation::parse(bridge), Ok(Invocation::Start(r)) if r.site == Site::Sg));
        let bad_bridge = json!({"detail-type": "Provision", "detail": {"tenant_id": "nope", "site": "sg"}});
        assert_eq!(
            Invocation::parse(bad_bridge).expect_err("bad").field(),
            Some("detail.tenant_id")
        );
    }
}
