//! A posted HTML form (`application/x-www-form-urlencoded`), and the JSON requests the
//! console takes, built from its fields: the console's own parsing then validates them, so a
//! form's errors name the same fields as the API's.

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use lifecycle::console::ConsoleError;
use model::event::MAX_EVENT_BYTES;
use serde_json::{Value, json};

/// A form's fields in the order sent (a field may repeat: the services' checkboxes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// The form of a request's body, decoded and bounded as every event is.
    pub fn of(request: &LambdaFunctionUrlRequest) -> Result<Self, ConsoleError> {
        let bytes = crate::raw_body(request)?;
        if bytes.len() > MAX_EVENT_BYTES {
            return Err(crate::route::invalid(
                ".",
                "the form is larger than an event may be",
            ));
        }
        Ok(Self {
            fields: form_urlencoded::parse(&bytes).into_owned().collect(),
        })
    }

    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The non-empty lines of a text area.
    fn lines(&self, name: &str) -> Vec<String> {
        self.first(name)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn targets(&self) -> Value {
        json!({"users": self.lines("users"), "groups": self.lines("groups")})
    }

    /// `onboard`'s consent link request, provisioning when the admin accepts.
    pub fn consent_request(&self) -> Value {
        let mut request = json!({
            "tenant": self.first("tenant").unwrap_or_default().trim(),
            "site": self.first("site").unwrap_or_default(),
            "services": self.all("services"),
            "provision": true,
        });
        if !self.lines("users").is_empty() || !self.lines("groups").is_empty() {
            request["policy_targets"] = self.targets();
        }
        // Only the options a page may choose; promoting delegates stays with the API and CLI,
        // where the request names who asked. Anything but the select's two values goes on as
        // text, for the console to refuse naming `options.ip_allow_list`.
        if let Some(allow) = self.first("ip_allow_list") {
            let value = match allow {
                "true" => json!(true),
                "false" => json!(false),
                other => json!(other),
            };
            request["options"] = json!({ "ip_allow_list": value });
        }
        request
    }

    /// `policy-targets`' request without its tenant (the path names it).
    pub fn policy_targets_request(&self) -> Value {
        json!({"policy_targets": self.targets()})
    }

    /// `deprovision`'s request without its tenant.
    pub fn deprovision_request(&self) -> Value {
        json!({
            "mode": self.first("mode").unwrap_or("standard"),
            "acknowledge_quarantine": self.first("acknowledge_quarantine") == Some("true"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        let mut request = LambdaFunctionUrlRequest::default();
        request.body = Some(body.to_owned());
        Form::of(&request).expect("a form")
    }

    #[test]
    fn a_provision_form_becomes_onboards_link_request() {
        let sent = form(
            "csrf=x&tenant=+contoso.com+&site=eu&services=exchange_online&services=onedrive\
             &users=alice%40contoso.com%0D%0A%0D%0Abob%40contoso.com&groups=",
        );
        assert_eq!(
            sent.consent_request(),
            json!({
                "tenant": "contoso.com", "site": "eu", "services": ["exchange_online", "onedrive"],
                "provision": true,
                "policy_targets": {"users": ["alice@contoso.com", "bob@contoso.com"], "groups": []}
            })
        );
        let bare = form("tenant=contoso.com&site=eu");
        assert!(bare.consent_request().get("policy_targets").is_none());
        assert!(bare.consent_request().get("options").is_none());
        let options = |value: &str| {
            form(&format!("tenant=contoso.com&site=eu&ip_allow_list={value}")).consent_request()["options"]
                .clone()
        };
        assert_eq!(options("false"), json!({"ip_allow_list": false}));
        assert_eq!(options("true"), json!({"ip_allow_list": true}));
        assert_eq!(options("maybe"), json!({"ip_allow_list": "maybe"}));
        assert_eq!(
            form("mode=full").deprovision_request(),
            json!({"mode": "full", "acknowledge_quarantine": false})
        );
    }
}
