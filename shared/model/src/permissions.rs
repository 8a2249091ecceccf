//! The permission manifest (`permissions.json`): every Microsoft permission the app can hold,
//! with its id and why the code needs it. The default set has no permission that can escalate;
//! the two that can are requested only by a deployment that opts in.

use std::sync::OnceLock;

use serde::Deserialize;

/// The manifest, as kept in the repository.
const MANIFEST: &str = include_str!("../permissions.json");

/// One application permission (app role).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Permission {
    /// Its name, e.g. `User.Read.All`.
    pub name: String,
    /// `graph` or `exchange`.
    pub resource: String,
    /// The app role's id.
    pub id: String,
    /// Requested by every deployment.
    pub default: bool,
    /// The one service that needs it (its step proves the grant), if not every tenant does.
    #[serde(default)]
    pub service: Option<String>,
    /// The template parameter that requests it, for a permission outside the default set.
    #[serde(default)]
    pub opt_in: Option<String>,
    /// How it can escalate, for one that can.
    #[serde(default)]
    pub escalates: Option<String>,
    /// Why the code needs it.
    pub why: String,
}

#[derive(Deserialize)]
struct Manifest {
    permissions: Vec<Permission>,
    #[cfg_attr(not(test), allow(dead_code))]
    clouds: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// Every permission of the manifest.
pub fn all() -> &'static [Permission] {
    static PARSED: OnceLock<Vec<Permission>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // The manifest is part of the build; a unit test parses it, so this cannot fail at run time.
        serde_json::from_str::<Manifest>(MANIFEST)
            .map(|m| m.permissions)
            .unwrap_or_default()
    })
}

/// The default set's names for `resource` (`graph` or `exchange`).
pub fn default_names(resource: &str) -> Vec<&'static str> {
    all()
        .iter()
        .filter(|p| p.default && p.resource == resource)
        .map(|p| p.name.as_str())
        .collect()
}

/// The permission that the template parameter `opt_in` requests.
pub fn opted_in(opt_in: &str) -> Option<&'static Permission> {
    all().iter().find(|p| p.opt_in.as_deref() == Some(opt_in))
}

/// Microsoft Graph's application id, the resource of its app roles (the same in every cloud).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's application id (the same in every cloud).
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";

/// The app registration as Graph's `application` object (`POST /applications`): multi-tenant
/// (`AzureADMultipleOrgs`), requiring the default set and the permissions the template
/// parameters in `opt_ins` request as app roles (`requiredResourceAccess`, type `Role`), with
/// `redirect_uris` as its web redirect URIs (the consent callback). Each national cloud has its
/// own registration, made from the same object on that cloud's Graph. An unknown opt-in is an
/// error naming it.
pub fn app_registration(
    display_name: &str,
    redirect_uris: &[String],
    opt_ins: &[String],
) -> Result<serde_json::Value, String> {
    for opt_in in opt_ins {
        if opted_in(opt_in).is_none() {
            return Err(format!(
                "{opt_in:?} is not a template parameter that requests a permission (known: AppAssignsExchangeRole, AppRemovesItself)"
            ));
        }
    }
    let required = |resource: &str| -> Vec<serde_json::Value> {
        all()
            .iter()
            .filter(|p| p.resource == resource)
            .filter(|p| p.default || p.opt_in.as_ref().is_some_and(|o| opt_ins.contains(o)))
            .map(|p| serde_json::json!({"id": p.id, "type": "Role"}))
            .collect()
    };
    Ok(serde_json::json!({
        "displayName": display_name,
        "signInAudience": "AzureADMultipleOrgs",
        "requiredResourceAccess": [
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": required("graph")},
            {"resourceAppId": EXCHANGE_APP_ID, "resourceAccess": required("exchange")},
        ],
        "web": {"redirectUris": redirect_uris},
    }))
}

/// Whether Entra takes `uri` as a redirect URI: https, and http only for a loopback host.
pub fn redirect_uri_is_allowed(uri: &str) -> bool {
    uri.starts_with("https://")
        || ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .any(|loopback| {
                uri.strip_prefix(loopback)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            })
}

/// Entra's directory role template ids the product names.
pub mod roles {
    /// Exchange Administrator.
    pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
    /// Global Administrator.
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_parses_and_its_default_set_cannot_escalate() {
        let manifest: Manifest = serde_json::from_str(MANIFEST).expect("permissions.json");
        assert_eq!(manifest.permissions.len(), all().len());
        assert!(all().len() >= 12);
        for p in all() {
            assert!(uuid::Uuid::parse_str(&p.id).is_ok(), "{}", p.name);
            assert!(matches!(p.resource.as_str(), "graph" | "exchange"), "{}", p.name);
            assert_eq!(p.default, p.opt_in.is_none(), "{}: default or opt-in", p.name);
            assert!(
                !(p.default && p.escalates.is_some()),
                "{} escalates by default",
                p.name
            );
            assert!(!p.why.is_empty());
        }
        let defaults = default_names("graph");
        for escalating in ["RoleManagement.ReadWrite.Directory", "Application.ReadWrite.All"] {
            assert!(
                !defaults.contains(&escalating),
                "{escalating} is not requested by default"
            );
        }
        assert_eq!(default_names("exchange"), ["Exchange.ManageAsApp"]);
        assert_eq!(
            opted_in("AppAssignsExchangeRole").map(|p| p.name.as_str()),
            Some("RoleManagement.ReadWrite.Directory")
        );
    }

    #[test]
    fn the_manifests_resource_hosts_are_the_clouds() {
        use crate::cloud::Cloud;
        let manifest: Manifest = serde_json::from_str(MANIFEST).expect("permissions.json");
        for cloud in [Cloud::Commercial, Cloud::GccHigh, Cloud::Dod, Cloud::China] {
            let hosts = &manifest.clouds[&cloud.to_string()];
            let endpoints = cloud.endpoints();
            assert_eq!(hosts["graph"], endpoints.graph, "{cloud}");
            assert_eq!(hosts["exchange"], endpoints.exchange, "{cloud}");
        }
    }

    #[test]
    fn the_registration_requires_the_default_set_and_only_the_opt_ins_asked_for() {
        let redirect = vec!["https://vendor.example/consent/callback".to_owned()];
        let ids = |app: &serde_json::Value, resource: usize| -> Vec<String> {
            app["requiredResourceAccess"][resource]["resourceAccess"]
                .as_array()
                .expect("access")
                .iter()
                .map(|a| {
                    assert_eq!(a["type"], "Role");
                    a["id"].as_str().expect("id").to_owned()
                })
                .collect()
        };
        let default = app_registration("m365-inline", &redirect, &[]).expect("default");
        assert_eq!(default["signInAudience"], "AzureADMultipleOrgs");
        assert_eq!(default["web"]["redirectUris"], serde_json::json!(redirect));
        let graph = ids(&default, 0);
        assert_eq!(graph.len(), default_names("graph").len());
        assert_eq!(ids(&default, 1), [opted_in_or_default("Exchange.ManageAsApp")]);
        for escalating in ["AppAssignsExchangeRole", "AppRemovesItself"] {
            let id = opted_in(escalating).expect("opt-in").id.clone();
            assert!(!graph.contains(&id), "{escalating} is not requested by default");
            let opted = app_registration("m365-inline", &redirect, &[escalating.to_owned()]).expect("opted");
            assert!(ids(&opted, 0).contains(&id), "{escalating} requested when asked");
        }
        let err =
            app_registration("m365-inline", &redirect, &["Everything".to_owned()]).expect_err("unknown");
        assert!(err.contains("Everything"), "{err}");
    }

    fn opted_in_or_default(name: &str) -> String {
        all()
            .iter()
            .find(|p| p.name == name)
            .expect("in the manifest")
            .id
            .clone()
    }
}
