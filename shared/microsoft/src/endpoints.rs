//! Where each Microsoft surface is reached: the cloud's real hosts, or configured overrides.

use model::{
    cloud::{Cloud, Endpoints},
    config::{ConfigError, Source, http_url},
};

/// Base URLs that replace Microsoft's real hosts for every tenant (tests point them at m365-sim).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// `M365_LOGIN_URL`.
    pub login: Option<String>,
    /// `M365_GRAPH_URL`.
    pub graph: Option<String>,
    /// `M365_EXCHANGE_URL`.
    pub exchange: Option<String>,
}

impl EndpointOverrides {
    /// Reads `M365_LOGIN_URL`, `M365_GRAPH_URL` and `M365_EXCHANGE_URL`; each is optional.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            login: http_url(source, "M365_LOGIN_URL")?,
            graph: http_url(source, "M365_GRAPH_URL")?,
            exchange: http_url(source, "M365_EXCHANGE_URL")?,
        })
    }

    /// The endpoints for `cloud`, with any override applied.
    pub fn apply(&self, cloud: Cloud) -> Endpoints {
        let mut endpoints = cloud.endpoints();
        let pairs = [
            (&mut endpoints.login, &self.login),
            (&mut endpoints.graph, &self.graph),
            (&mut endpoints.exchange, &self.exchange),
        ];
        for (slot, value) in pairs {
            if let Some(url) = value {
                slot.clone_from(url);
            }
        }
        endpoints
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn overrides_replace_the_clouds_hosts_and_malformed_ones_are_named() {
        let source: HashMap<&str, &str> = [("M365_GRAPH_URL", "http://127.0.0.1:7000/")].into();
        let endpoints = EndpointOverrides::from_source(&source)
            .expect("urls")
            .apply(Cloud::Commercial);
        assert_eq!(endpoints.graph, "http://127.0.0.1:7000");
        assert_eq!(endpoints.login, "https://login.microsoftonline.com");
        let bad: HashMap<&str, &str> = [("M365_GRAPH_URL", "graph.microsoft.com")].into();
        let err = EndpointOverrides::from_source(&bad).expect_err("no scheme");
        assert!(err.to_string().contains("M365_GRAPH_URL is invalid"), "{err}");
    }
}
