//! Where each Microsoft surface is reached: the cloud's real hosts, or configured overrides.

use model::{
    cloud::{Cloud, Endpoints},
    config::{ConfigError, Source, http_url, optional},
};

/// Base URLs that replace Microsoft's real hosts for every tenant: a test setting only. They are
/// accepted when `M365_TEST_ENDPOINTS=loopback` is set and each names a loopback host (where
/// m365-sim runs), so a changed function configuration cannot send the app's credential to
/// another host; without them every call goes to the tenant's cloud over https.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// `M365_LOGIN_URL`.
    pub login: Option<String>,
    /// `M365_GRAPH_URL`.
    pub graph: Option<String>,
    /// `M365_EXCHANGE_URL`.
    pub exchange: Option<String>,
}

/// The variable that allows overrides, and the one value it takes.
const TEST_SETTING: (&str, &str) = ("M365_TEST_ENDPOINTS", "loopback");

impl EndpointOverrides {
    /// Reads `M365_LOGIN_URL`, `M365_GRAPH_URL` and `M365_EXCHANGE_URL`; each is optional, and
    /// any of them needs `M365_TEST_ENDPOINTS=loopback` and a loopback host.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let test = match optional(source, TEST_SETTING.0).as_deref() {
            None => false,
            Some(value) if value == TEST_SETTING.1 => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: TEST_SETTING.0,
                    reason: format!("the only value is {:?}, got {other:?}", TEST_SETTING.1),
                });
            }
        };
        let read = |name: &'static str| -> Result<Option<String>, ConfigError> {
            let Some(url) = http_url(source, name)? else {
                return Ok(None);
            };
            if !test {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "endpoint overrides are for tests and local runs only: set M365_TEST_ENDPOINTS=loopback \
                             and a loopback address, or unset it to reach Microsoft"
                        .to_owned(),
                });
            }
            if !is_loopback(&url) {
                return Err(ConfigError::Invalid {
                    name,
                    reason: format!(
                        "an override must name a loopback host (127.0.0.1, ::1, localhost), got {url:?}"
                    ),
                });
            }
            Ok(Some(url))
        };
        Ok(Self {
            login: read("M365_LOGIN_URL")?,
            graph: read("M365_GRAPH_URL")?,
            exchange: read("M365_EXCHANGE_URL")?,
        })
    }

    /// The HTTP client for these endpoints: https only, unless loopback stand-ins replace them.
    pub fn client(&self) -> reqwest::Client {
        if self.login.is_some() || self.graph.is_some() || self.exchange.is_some() {
            crate::http::loopback_client()
        } else {
            crate::http::client()
        }
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

/// Whether `url` (scheme, host, optional port and path) names a loopback host.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn overrides_replace_the_clouds_hosts_and_malformed_ones_are_named() {
        let source: HashMap<&str, &str> = [
            ("M365_GRAPH_URL", "http://127.0.0.1:7000/"),
            ("M365_TEST_ENDPOINTS", "loopback"),
        ]
        .into();
        let endpoints = EndpointOverrides::from_source(&source)
            .expect("urls")
            .apply(Cloud::Commercial);
        assert_eq!(endpoints.graph, "http://127.0.0.1:7000");
        assert_eq!(endpoints.login, "https://login.microsoftonline.com");
        let bad: HashMap<&str, &str> = [
            ("M365_GRAPH_URL", "graph.microsoft.com"),
            ("M365_TEST_ENDPOINTS", "loopback"),
        ]
        .into();
        let err = EndpointOverrides::from_source(&bad).expect_err("no scheme");
        assert!(err.to_string().contains("M365_GRAPH_URL is invalid"), "{err}");
    }

    #[test]
    fn overrides_need_the_test_setting_and_a_loopback_host() {
        let without: HashMap<&str, &str> = [("M365_LOGIN_URL", "https://login.attacker.example")].into();
        let err = EndpointOverrides::from_source(&without).expect_err("not a test");
        assert!(
            err.to_string().contains("M365_LOGIN_URL") && err.to_string().contains("M365_TEST_ENDPOINTS"),
            "{err}"
        );
        for url in [
            "https://login.attacker.example",
            "http://127.0.0.1.attacker.example:80",
            "http://127.0.0.1@attacker.example",
            "http://10.0.0.5:8080",
        ] {
            let source: HashMap<&str, &str> =
                [("M365_LOGIN_URL", url), ("M365_TEST_ENDPOINTS", "loopback")].into();
            assert!(EndpointOverrides::from_source(&source).is_err(), "{url}");
        }
        for url in [
            "http://127.0.0.1:9000",
            "http://localhost:9000/",
            "http://[::1]:9000",
            "http://127.8.0.1",
        ] {
            let source: HashMap<&str, &str> =
                [("M365_LOGIN_URL", url), ("M365_TEST_ENDPOINTS", "loopback")].into();
            assert!(EndpointOverrides::from_source(&source).is_ok(), "{url}");
        }
        let wrong: HashMap<&str, &str> = [("M365_TEST_ENDPOINTS", "yes")].into();
        assert!(EndpointOverrides::from_source(&wrong).is_err());
        assert_eq!(
            EndpointOverrides::from_source(&HashMap::new()).expect("none"),
            EndpointOverrides::default()
        );
    }

    #[tokio::test]
    async fn the_production_client_sends_nothing_over_plain_http() {
        // A listener that would accept the request; the client refuses before connecting.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/token", listener.local_addr().expect("addr"));
        let err = EndpointOverrides::default()
            .client()
            .post(&url)
            .body("client_secret=s")
            .send()
            .await
            .expect_err("https only");
        assert!(err.is_builder() || err.to_string().contains("scheme"), "{err}");
        listener.set_nonblocking(true).expect("nonblocking");
        assert!(listener.accept().is_err(), "no connection was made");
    }
}
