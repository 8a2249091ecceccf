//! Microsoft clouds and the hosts each one uses.

use serde::{Deserialize, Serialize};

/// The Microsoft cloud a tenant lives in; a per-tenant attribute, commercial by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Cloud {
    /// The worldwide commercial cloud (also GCC).
    #[default]
    Commercial,
    /// US Government GCC High.
    GccHigh,
    /// US Government DoD.
    Dod,
    /// China, operated by 21Vianet.
    China,
}

/// Base URLs of the three Microsoft surfaces; each may be overridden by configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Entra ID token endpoint host, e.g. `https://login.microsoftonline.com`.
    pub login: String,
    /// Microsoft Graph host, e.g. `https://graph.microsoft.com`.
    pub graph: String,
    /// Exchange Online admin host, e.g. `https://outlook.office365.com`.
    pub exchange: String,
}

impl Cloud {
    /// Microsoft's real hosts for this cloud.
    pub fn endpoints(self) -> Endpoints {
        let (login, graph, exchange) = match self {
            Self::Commercial => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://outlook.office365.com",
            ),
            Self::GccHigh => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://outlook.office365.us",
            ),
            Self::Dod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
                "https://outlook-dod.office365.us",
            ),
            Self::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://partner.outlook.cn",
            ),
        };
        Endpoints {
            login: login.to_owned(),
            graph: graph.to_owned(),
            exchange: exchange.to_owned(),
        }
    }

    /// The endings of the MX hosts of Exchange Online in this cloud: a domain whose MX ends so
    /// routes to Exchange Online, whichever host Microsoft gave it (commercial domains move to
    /// DNSSEC-signed `*.mx.microsoft` hosts).
    pub fn exchange_mx_suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Commercial => &[".mail.protection.outlook.com", ".mx.microsoft"],
            Self::GccHigh | Self::Dod => &[".mail.protection.office365.us"],
            Self::China => &[".mail.protection.partner.outlook.cn"],
        }
    }

    /// The token scopes for Graph and Exchange. They name the real resource even when a base URL
    /// is overridden (that is how the simulator is reached).
    pub fn scopes(self) -> (String, String) {
        let Endpoints { graph, exchange, .. } = self.endpoints();
        (format!("{graph}/.default"), format!("{exchange}/.default"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commercial_scopes_are_the_real_resources() {
        let (graph, exchange) = Cloud::Commercial.scopes();
        assert_eq!(graph, "https://graph.microsoft.com/.default");
        assert_eq!(exchange, "https://outlook.office365.com/.default");
        assert_eq!(Cloud::default(), Cloud::Commercial);
    }
}
