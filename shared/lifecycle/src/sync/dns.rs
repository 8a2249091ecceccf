//! Live MX lookups (DNS costs no Graph quota). The server is configurable: `DNS_SERVER`
//! (`IP:PORT`, e.g. `127.0.0.1:5353`) points tests at a resolver on loopback; without it the
//! system's resolver configuration is used.

use std::net::SocketAddr;

use hickory_resolver::{
    TokioResolver,
    config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts},
    net::runtime::TokioRuntimeProvider,
    proto::rr::RData,
};
use model::config::{ConfigError, Source};

/// The variable naming the DNS server.
pub const DNS_SERVER_VARIABLE: &str = "DNS_SERVER";

/// A DNS lookup failed for a reason other than "no such domain / no MX".
#[derive(Debug, thiserror::Error)]
#[error("DNS MX lookup of {domain} failed: {reason}")]
pub struct DnsError {
    /// The domain looked up.
    pub domain: String,
    /// What the resolver said.
    pub reason: String,
}

/// Resolves MX records.
#[derive(Clone)]
pub struct MxResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for MxResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MxResolver").finish_non_exhaustive()
    }
}

impl MxResolver {
    /// A resolver asking only `server` (UDP, then TCP for truncated answers).
    pub fn with_server(server: SocketAddr) -> Result<Self, ConfigError> {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let name_server = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_name_servers(vec![name_server]);
        Self::build(config)
    }

    fn build(config: ResolverConfig) -> Result<Self, ConfigError> {
        let mut options = ResolverOpts::default();
        // A sync looks once per domain and day: a short timeout keeps one slow server from
        // holding the whole batch.
        options.timeout = std::time::Duration::from_secs(2);
        options.attempts = 2;
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build();
        // Never a fallback to a public resolver: tenant domains are not sent to a third party, and
        // a VPC without egress would fail anyway.
        resolver
            .map(|resolver| Self { resolver })
            .map_err(|err| ConfigError::Invalid {
                name: DNS_SERVER_VARIABLE,
                reason: format!("no resolver can be built for it: {err}"),
            })
    }

    /// From `DNS_SERVER` when set, otherwise the system configuration (`/etc/resolv.conf`).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        match source.get(DNS_SERVER_VARIABLE) {
            Some(raw) if !raw.trim().is_empty() => {
                let server: SocketAddr = raw.trim().parse().map_err(|_| ConfigError::Invalid {
                    name: DNS_SERVER_VARIABLE,
                    reason: "expected IP:PORT, e.g. 127.0.0.1:5353".to_owned(),
                })?;
                Self::with_server(server)
            }
            _ => {
                let resolver = TokioResolver::builder_tokio()
                    .and_then(|builder| builder.build())
                    .map_err(|err| ConfigError::Invalid {
                        name: DNS_SERVER_VARIABLE,
                        reason: format!("unset, and the system resolver configuration is unusable: {err}"),
                    })?;
                Ok(Self { resolver })
            }
        }
    }

    /// The MX hosts of `domain`, lower-case without the trailing dot; empty when the domain
    /// does not exist or has no MX.
    pub async fn mx_hosts(&self, domain: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut hosts: Vec<String> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::MX(mx) => {
                            Some(mx.exchange.to_utf8().trim_end_matches('.').to_ascii_lowercase())
                        }
                        _ => None,
                    })
                    .collect();
                hosts.sort();
                hosts.dedup();
                Ok(hosts)
            }
            Err(err) if err.is_nx_domain() || err.is_no_records_found() => Ok(Vec::new()),
            Err(err) => Err(DnsError {
                domain: domain.to_owned(),
                reason: err.to_string(),
            }),
        }
    }
}
