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
}
