//! What a deployment lets into `provision`: the EventBridge sources it accepts, and whether
//! Global Administrator promotion may be asked for at all. Checked before anything is written.

use model::{
    config::{ConfigError, Source, optional, switch},
    event::EventError,
};

use super::invocation::Invocation;

/// The deployment's gates (README: Configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admission {
    /// `ALLOW_DELEGATE_PROMOTION`: whether `promote_delegates_to_global_admin` is accepted (off
    /// unless the deployment turns it on).
    pub allow_promotion: bool,
    /// `EVENT_SOURCES`: the EventBridge `source` values accepted (comma-separated; none by
    /// default, so an EventBridge event is refused until the deployment names its sender).
    pub event_sources: Vec<String>,
}

impl Admission {
    /// Reads the gates from `source`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let event_sources = optional(source, "EVENT_SOURCES")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            allow_promotion: switch(source, "ALLOW_DELEGATE_PROMOTION", false)?,
            event_sources,
        })
    }

    /// Lets `invocation` in, unwrapped from its EventBridge envelope, or refuses it naming the
    /// field at fault.
    pub fn admit(&self, invocation: Invocation) -> Result<Invocation, EventError> {
        let (invocation, via_eventbridge) = match invocation {
            Invocation::Event { source, inner } => {
                if !self.event_sources.contains(&source) {
                    return Err(invalid(
                        "source",
                        &format!(
                            "EventBridge events from {source:?} are not accepted here; accepted sources (EVENT_SOURCES): {}",
                            self.accepted()
                        ),
                    ));
                }
                (*inner, true)
            }
            other => (other, false),
        };
        let promotes = matches!(&invocation, Invocation::Start(request) if request.options.promote_delegates_to_global_admin);
        match (promotes, via_eventbridge) {
            (true, true) => Err(invalid(
                "detail.options.promote_delegates_to_global_admin",
                "Global Administrator promotion is never accepted through EventBridge; invoke provision directly",
            )),
            (true, false) if !self.allow_promotion => Err(invalid(
                "options.promote_delegates_to_global_admin",
                "Global Administrator promotion is turned off in this deployment (template parameter AllowDelegatePromotion)",
            )),
            _ => Ok(invocation),
        }
    }

    fn accepted(&self) -> String {
        if self.event_sources.is_empty() {
            "none".to_owned()
        } else {
            self.event_sources.join(", ")
        }
    }
}

fn invalid(field: &str, reason: &str) -> EventError {
    EventError::Invalid {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::{Value, json};

    use super::*;

    const TENANT: &str = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11";

    fn promoting() -> Value {
        json!({"tenant_id": TENANT, "site": "eu", "options": {
            "promote_delegates_to_global_admin": true, "delegates": ["d@contoso.com"], "requested_by": "ops@vendor.example"
        }})
    }

    fn bridged(source: &str, detail: Value) -> Invocation {
        Invocation::parse(json!({"detail-type": "Provision", "source": source, "detail": detail}))
            .expect("parses")
    }

    fn refused(admission: &Admission, invocation: Invocation) -> String {
        admission
            .admit(invocation)
            .expect_err("refused")
            .field()
            .expect("a field")
            .to_owned()
    }

    #[test]
    fn gates_are_closed_by_default() {
        let closed = Admission::from_source(&HashMap::new()).expect("config");
        assert_eq!(closed, Admission::default());
        let direct = Invocation::parse(promoting()).expect("parses");
        assert_eq!(
            refused(&closed, direct),
            "options.promote_delegates_to_global_admin"
        );
        let plain = json!({"tenant_id": TENANT, "site": "eu"});
        assert_eq!(
            refused(&closed, bridged("vendor.portal", plain.clone())),
            "source"
        );
        assert!(closed.admit(Invocation::parse(plain).expect("parses")).is_ok());
    }

    #[test]
    fn an_open_deployment_still_never_promotes_through_eventbridge() {
        let env = HashMap::from([
            ("ALLOW_DELEGATE_PROMOTION", "true"),
            ("EVENT_SOURCES", " vendor.portal , vendor.billing"),
        ]);
        let open = Admission::from_source(&env).expect("config");
        assert_eq!(open.event_sources, ["vendor.portal", "vendor.billing"]);
        assert!(matches!(
            open.admit(Invocation::parse(promoting()).expect("parses")),
            Ok(Invocation::Start(_))
        ));
        assert_eq!(
            refused(&open, bridged("vendor.portal", promoting())),
            "detail.options.promote_delegates_to_global_admin"
        );
        assert_eq!(refused(&open, bridged("attacker.example", promoting())), "source");
        let plain = json!({"tenant_id": TENANT, "site": "eu"});
        assert!(matches!(
            open.admit(bridged("vendor.billing", plain)),
            Ok(Invocation::Start(_))
        ));
    }

    #[test]
    fn a_malformed_switch_is_named() {
        let env = HashMap::from([("ALLOW_DELEGATE_PROMOTION", "yes")]);
        let err = Admission::from_source(&env).expect_err("invalid");
        assert!(err.to_string().contains("ALLOW_DELEGATE_PROMOTION"), "{err}");
    }
}
