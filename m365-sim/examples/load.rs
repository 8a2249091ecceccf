//! Bounded load on loopback: starts an in-process simulator with one tenant, then drives a fixed
//! number of concurrent clients for a few seconds and prints requests per second.
//!
//! `cargo run --release -p m365-sim --example load [-- SECONDS CONCURRENCY]`

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use m365_sim::{SimConfig, Simulator, TenantSpec, UsersSpec};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);

    let sim = Simulator::start(SimConfig::default()).await?;
    let rss_before = rss_kib();
    let t0 = Instant::now();
    sim.create_tenant(&TenantSpec {
        users: Some(UsersSpec::Count(100_000)),
        ..Default::default()
    })?;
    println!(
        "created a 100,000-user tenant in {} ms (resident memory +{} MiB)",
        t0.elapsed().as_millis(),
        rss_kib().saturating_sub(rss_before) / 1024
    );
    let tenant = sim.create_tenant(&TenantSpec {
        domains: vec!["contoso.com".into()],
        users: Some(UsersSpec::Count(1000)),
        ..Default::default()
    })?;
    let base = sim.base_url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let token = |scope: &'static str| {
        let (http, base, tenant) = (http.clone(), base.clone(), tenant.clone());
        let (id, secret) = (sim.client_id().to_owned(), sim.client_secret().to_owned());
        async move {
            let r: serde_json::Value = http
                .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                    ("scope", scope),
                ])
                .send()
                .await?
                .json()
                .await?;
            Ok::<String, reqwest::Error>(r["access_token"].as_str().unwrap_or_default().to_owned())
        }
    };
    let graph_token = Arc::new(token("https://graph.microsoft.com/.default").await?);
    let exo_token = Arc::new(token("https://outlook.office365.com/.default").await?);

    // Three simple request kinds, in rotation: Graph organization, a Graph users page of 10,
    // and an Exchange Get-AcceptedDomain.
    let urls = Arc::new([
        format!("{base}/v1.0/organization"),
        format!("{base}/v1.0/users?$top=10&$select=id,userPrincipalName"),
        format!("{base}/adminapi/beta/{tenant}/InvokeCommand"),
    ]);
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (http, urls, ok, failed) = (http.clone(), urls.clone(), ok.clone(), failed.clone());
        let (g, x) = (graph_token.clone(), exo_token.clone());
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < deadline {
                let kind = i % 3;
                let req = if kind == 2 {
                    http.post(&urls[2]).bearer_auth(x.as_str()).json(
                        &serde_json::json!({"CmdletInput": {"CmdletName": "Get-AcceptedDomain", "Parameters": {}}}),
                    )
                } else {
                    http.get(&urls[kind]).bearer_auth(g.as_str())
                };
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 1;
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = ok.load(Ordering::Relaxed);
    println!(
        "m365-sim load: {n} ok, {} failed, {concurrency} concurrent clients, {elapsed:.1} s: {:.0} requests/s",
        failed.load(Ordering::Relaxed),
        n as f64 / elapsed
    );
    let stats = sim.stats();
    println!("server-side counts: {}", stats["total"]);
    sim.shutdown().await;
    Ok(())
}

/// Resident set size in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}
