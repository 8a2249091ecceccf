//! The Microsoft 365 services a tenant's protection covers.

use serde::{Deserialize, Serialize};

use crate::validation::{Validated, code_type, quote};

/// A protected service; each is provisioned and reported on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Exchange Online: connectors, transport rules, groups and allow lists.
    ExchangeOnline,
    /// SharePoint Online: grant checks only.
    SharepointOnline,
    /// OneDrive: grant checks only.
    Onedrive,
}

impl Service {
    /// Every service, in provisioning order.
    pub const ALL: [Service; 3] = [Self::ExchangeOnline, Self::SharepointOnline, Self::Onedrive];

    /// The service's name as used in events and records.
    pub fn code(self) -> &'static str {
        match self {
            Self::ExchangeOnline => "exchange_online",
            Self::SharepointOnline => "sharepoint_online",
            Self::Onedrive => "onedrive",
        }
    }
}

impl Validated for Service {
    const FIELD: &'static str = "service";

    fn validate(raw: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|s| s.code() == raw).ok_or_else(|| {
            format!(
                "unknown service {}; expected one of exchange_online, sharepoint_online, onedrive",
                quote(raw)
            )
        })
    }
}

code_type!(Service);

/// Where one of a tenant's services stands after the last task that worked on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Its provisioning succeeded: it is protected.
    Provisioned,
    /// A step it needs (its own or a tenant-wide one) did not succeed in that task.
    Failed,
    /// Its deprovisioning succeeded: our objects for it are gone (or listed for manual cleanup).
    Removed,
}

impl ServiceState {
    /// The state's name as shown and stored.
    pub fn code(self) -> &'static str {
        match self {
            Self::Provisioned => "provisioned",
            Self::Failed => "failed",
            Self::Removed => "removed",
        }
    }
}

/// Where `service` stands among `states`, if a task has finished on it.
pub fn state_of(states: &[ServiceStatus], service: Service) -> Option<ServiceState> {
    states.iter().find(|s| s.service == service).map(|s| s.state)
}

/// A service and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The service.
    pub service: Service,
    /// Where it stands.
    pub state: ServiceState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse_only_from_their_codes() {
        for service in Service::ALL {
            assert_eq!(service.code().parse::<Service>(), Ok(service));
        }
        for raw in [
            "",
            "exchange",
            "Exchange_Online",
            "teams",
            "onedrive_for_business",
        ] {
            let err = raw.parse::<Service>().expect_err(raw);
            assert_eq!(err.field, "service");
            assert!(err.reason.starts_with("unknown service"), "{err}");
        }
    }
}
