//! What `provision` is asked to do, validated at the edge.

use model::{
    cloud::Cloud,
    event::{self, EventError},
    policy::{PolicyTargetsInput, UserPrincipalName},
    service::Service,
    sites::Site,
    tenant::TenantId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request to provision a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The most delegates one request may promote.
pub const MAX_DELEGATES: usize = 5;

fn all_services() -> Vec<Service> {
    Service::ALL.to_vec()
}

/// Provisioning options; an absent one takes its [`Default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Add the vendor IPs to the connection-filter IP Allow List.
    pub ip_allow_list: bool,
    /// Assign Global Administrator to `delegates` (legacy; audited).
    pub promote_delegates_to_global_admin: bool,
    /// The delegate accounts to promote (at most [`MAX_DELEGATES`], each in a verified domain of
    /// the tenant).
    pub delegates: Vec<UserPrincipalName>,
    /// Who asks for the promotion (a person or a ticket), kept in the durable audit record;
    /// required with `promote_delegates_to_global_admin`.
    pub requested_by: Option<String>,
    /// Return the plan of calls and change nothing.
    pub dry_run: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ip_allow_list: true,
            promote_delegates_to_global_admin: false,
            delegates: Vec::new(),
            requested_by: None,
            dry_run: false,
        }
    }
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
        if self.options.delegates.len() > MAX_DELEGATES {
            return Err(invalid(
                "options.delegates",
                &format!("at most {MAX_DELEGATES} delegates can be promoted by one request"),
            ));
        }
        match (
            &self.options.requested_by,
            self.options.promote_delegates_to_global_admin,
        ) {
            (None, true) => {
                return Err(invalid(
                    "options.requested_by",
                    "a promotion names who asks for it (a person or a ticket), for the audit record",
                ));
            }
            (Some(_), false) => {
                return Err(invalid(
                    "options.requested_by",
                    "requested_by is only used with promote_delegates_to_global_admin",
                ));
            }
            (Some(who), true)
                if who.trim().is_empty()
                    || who.chars().count() > 200
                    || who.chars().any(char::is_control) =>
            {
                return Err(invalid(
                    "options.requested_by",
                    "1 to 200 printable characters are expected",
                ));
            }
            _ => {}
        }
        Ok(())
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
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"promote_delegates_to_global_admin": true, "delegates": ["d@contoso.com"]}}),
                "options.requested_by",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"requested_by": "ops"}}),
                "options.requested_by",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"promote_delegates_to_global_admin": true, "delegates": ["d@contoso.com"], "requested_by": "ops\u{7}"}}),
                "options.requested_by",
            ),
            (
                json!({"tenant_id": TENANT, "site": "eu", "options": {"promote_delegates_to_global_admin": true, "requested_by": "ops",
                    "delegates": ["a@c.com", "b@c.com", "c@c.com", "d@c.com", "e@c.com", "f@c.com"]}}),
                "options.delegates",
            ),
        ];
        for (event, field) in cases {
            let err = ProvisionRequest::parse(event.clone()).expect_err(&event.to_string());
            assert_eq!(err.field(), Some(field), "{event}: {err}");
        }
    }
}
