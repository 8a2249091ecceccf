//! Domains: verified domains from Graph, the MX records Microsoft expects for them
//! (`serviceConfigurationRecords`, read for each new domain and again every week, since
//! Microsoft moves domains to new hosts), the live MX from DNS, and
//! Exchange's accepted domains, from which the transport rules' domain conditions are made.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use chrono::Utc;
use futures_util::{StreamExt, stream};
use microsoft::graph::{BatchRequest, BatchResponse, GraphClient};
use serde_json::Value;

use super::{dns::MxResolver, error::SyncError, state::SyncState};

/// The batch sub-request reading the tenant's domains.
pub fn domains_request() -> BatchRequest {
    BatchRequest::new(
        "domains",
        "GET",
        "/domains?$select=id,isVerified,supportedServices",
    )
}

/// Verified domains that serve email, lower-case and sorted, from the `/domains` answer.
pub fn verified_domains(answer: &BatchResponse) -> Vec<String> {
    let domains: BTreeSet<String> = answer
        .values()
        .filter(|d| d.get("isVerified").and_then(Value::as_bool).unwrap_or(false))
        .filter(|d| {
            // Absent services (older answers) count as email-capable.
            d.get("supportedServices")
                .and_then(Value::as_array)
                .is_none_or(|s| s.iter().any(|v| v.as_str() == Some("Email")))
        })
        .filter_map(|d| d.get("id").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    domains.into_iter().collect()
}

/// Whether Microsoft runs the domain's DNS itself (its MX never needs checking).
pub fn is_initial_domain(domain: &str) -> bool {
    domain.ends_with(".onmicrosoft.com")
}

/// Sub-requests reading the expected records of `domains`.
pub fn expected_mx_requests(domains: &[String]) -> Vec<BatchRequest> {
    domains
        .iter()
        .map(|d| {
            BatchRequest::new(
                d.clone(),
                "GET",
                format!("/domains/{d}/serviceConfigurationRecords"),
            )
        })
        .collect()
}

/// The expected MX hosts in a `serviceConfigurationRecords` answer, lower-case and sorted.
pub fn expected_mx(answer: &BatchResponse) -> Vec<String> {
    let hosts: BTreeSet<String> = answer
        .values()
        .filter(|r| {
            r.get("recordType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("mx"))
        })
        .filter_map(|r| r.get("mailExchange").and_then(Value::as_str))
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    hosts.into_iter().collect()
}

/// How long the expected MX records are kept before they are read again.
pub const EXPECTED_MX_LIFE: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Whether `live` routes to Exchange Online: it holds a host Microsoft expects, or any host of
/// Exchange Online in the tenant's cloud (a domain moved to `*.mx.microsoft` still does).
pub fn routes_to_exchange(live: &[String], expected: &[String], suffixes: &[&str]) -> bool {
    live.iter()
        .any(|host| expected.contains(host) || suffixes.iter().any(|suffix| host.ends_with(suffix)))
}

/// MX lookups of one tenant in flight at once.
const MX_LOOKUPS_AT_ONCE: usize = 8;
/// The time all of one tenant's MX lookups may take together (each lookup has its own 2 s
/// timeout and 2 attempts): a tenant with hundreds of domains on a slow resolver cannot hold
/// the worker past its deadline. A domain not looked at in time is looked at next run.
pub const MX_BUDGET: Duration = Duration::from_secs(10);

/// Domains whose live MX does not route to Exchange Online, each with what DNS has; the
/// lookups run a few at once, within `budget` altogether. A domain not answered in time keeps
/// what `previous` said of it.
pub async fn mx_problems(
    resolver: &MxResolver,
    expected: &BTreeMap<String, Vec<String>>,
    suffixes: &[&str],
    previous: &[String],
    budget: Duration,
) -> Vec<String> {
    let until = tokio::time::Instant::now() + budget;
    // Owned domains: a stream of closures over borrowed ones is not `Send` for every lifetime.
    let domains: Vec<(String, Vec<String>)> = expected
        .iter()
        .filter(|(domain, hosts)| !is_initial_domain(domain) && !hosts.is_empty())
        .map(|(domain, hosts)| (domain.clone(), hosts.clone()))
        .collect();
    let answers: Vec<_> = stream::iter(domains)
        .map(|(domain, hosts)| async move {
            let live = tokio::time::timeout_at(until, resolver.mx_hosts(&domain)).await;
            (domain, hosts, live)
        })
        .buffered(MX_LOOKUPS_AT_ONCE)
        .collect()
        .await;
    let mut problems = Vec::new();
    let mut late = 0;
    for (domain, hosts, live) in answers {
        let Ok(live) = live else {
            late += 1;
            let prefix = format!("{domain}: ");
            problems.extend(previous.iter().filter(|p| p.starts_with(&prefix)).cloned());
            continue;
        };
        match live {
            Ok(live) if routes_to_exchange(&live, &hosts, suffixes) => {}
            Ok(live) if live.is_empty() => problems.push(format!(
                "{domain}: no MX record in DNS; expected {}",
                hosts.join(", ")
            )),
            Ok(live) => problems.push(format!(
                "{domain}: MX points to {}, not to Exchange Online ({}): mail for it does not reach the protection",
                live.join(", "),
                hosts.join(", ")
            )),
            // A resolver failure is not the tenant's problem: logged, looked at again next run.
            Err(err) => tracing::warn!(error = %err, "MX lookup failed"),
        }
    }
    if late > 0 {
        tracing::warn!(
            domains = late,
            budget_s = budget.as_secs(),
            "MX lookups not answered within the budget; looked at again next run"
        );
    }
    problems
}

/// Reads the expected MX of new domains (one `$batch`), and of every domain once the last
/// full read is a week old; forgets removed ones.
pub async fn read_expected_mx(
    graph: &GraphClient,
    verified: &[String],
    state: &mut SyncState,
) -> Result<(), SyncError> {
    let now = Utc::now();
    let stale = state
        .expected_mx_read_at
        .is_none_or(|read| now - read >= EXPECTED_MX_LIFE);
    let expected = &mut state.expected_mx;
    expected.retain(|d, _| verified.contains(d));
    let new: Vec<String> = verified
        .iter()
        .filter(|d| (stale || !expected.contains_key(*d)) && !is_initial_domain(d))
        .cloned()
        .collect();
    if stale {
        state.expected_mx_read_at = Some(now);
    }
    if new.is_empty() {
        return Ok(());
    }
    let requests = expected_mx_requests(&new);
    for (request, answer) in requests.iter().zip(graph.batch(&requests).await?) {
        if let Some(err) = answer.error("GET", "/domains/{id}/serviceConfigurationRecords") {
            return Err(err.into());
        }
        expected.insert(request.id.clone(), expected_mx(&answer));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(body: Value) -> BatchResponse {
        BatchResponse {
            id: "x".into(),
            status: 200,
            headers: Default::default(),
            body: Some(body),
        }
    }

    #[test]
    fn only_verified_email_domains_count() {
        let a = answer(json!({"value": [
            {"id": "Contoso.com", "isVerified": true, "supportedServices": ["Email"]},
            {"id": "pending.com", "isVerified": false, "supportedServices": ["Email"]},
            {"id": "intune.contoso.com", "isVerified": true, "supportedServices": ["Intune"]}
        ]}));
        assert_eq!(verified_domains(&a), vec!["contoso.com"]);
    }

    #[test]
    fn any_exchange_online_host_of_the_cloud_counts() {
        let expected = ["contoso-com.mail.protection.outlook.com".to_owned()];
        let commercial = model::cloud::Cloud::Commercial.exchange_mx_suffixes();
        let live = |host: &str| vec![host.to_owned()];
        assert!(routes_to_exchange(&live(&expected[0]), &expected, commercial));
        assert!(routes_to_exchange(
            &live("contoso-com.r-v1.mx.microsoft"),
            &expected,
            commercial
        ));
        assert!(routes_to_exchange(
            &live("contoso-com01b.mail.protection.outlook.com"),
            &expected,
            commercial
        ));
        assert!(!routes_to_exchange(
            &live("mx.elsewhere.example"),
            &expected,
            commercial
        ));
        assert!(!routes_to_exchange(
            &live("contoso-com.mail.protection.outlook.com.evil.example"),
            &expected,
            commercial
        ));
        let gov = model::cloud::Cloud::GccHigh.exchange_mx_suffixes();
        assert!(routes_to_exchange(
            &live("contoso-com.mail.protection.office365.us"),
            &[],
            gov
        ));
        assert!(!routes_to_exchange(
            &live("contoso-com.r-v1.mx.microsoft"),
            &[],
            gov
        ));
    }

    #[test]
    fn the_documented_mx_hosts_of_each_cloud_route_to_exchange() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../m365-sim/tests/fixtures/dns-exchange-online-mx.json"
        );
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
        // The expected record is the one Microsoft gave before any move: a moved domain is
        // recognised by its host alone.
        let expected = ["contoso-com.mail.protection.outlook.com".to_owned()];
        for case in fixture["cases"].as_array().expect("cases") {
            let cloud: model::cloud::Cloud = serde_json::from_value(case["cloud"].clone()).expect("cloud");
            let live: Vec<String> = serde_json::from_value(case["live"].clone()).expect("live");
            let expected: &[String] = match cloud {
                model::cloud::Cloud::Commercial => &expected,
                _ => &[],
            };
            assert_eq!(
                routes_to_exchange(&live, expected, cloud.exchange_mx_suffixes()),
                case["routes_to_exchange"].as_bool().expect("verdict"),
                "{case}"
            );
        }
    }

    #[test]
    fn expected_mx_is_read_from_mx_records_only() {
        let a = answer(json!({"value": [
            {"recordType": "Mx", "mailExchange": "contoso-com.mail.protection.outlook.com", "preference": 0},
            {"recordType": "Txt", "text": "v=spf1 include:spf.protection.outlook.com -all"}
        ]}));
        assert_eq!(expected_mx(&a), vec!["contoso-com.mail.protection.outlook.com"]);
    }
}
