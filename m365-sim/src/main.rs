//! `m365-sim` binary: serves the simulator until interrupted. The first stdout line is
//! `m365-sim listening on http://HOST:PORT`; with `--dns-listen`, the second is
//! `m365-sim dns on HOST:PORT`.

use std::io::Write;

use clap::Parser;
use m365_sim::{SimConfig, Simulator};

/// Command-line options; every option overrides the config file.
#[derive(Debug, Parser)]
#[command(
    name = "m365-sim",
    version,
    about = "Stateful Microsoft 365 simulator (Entra token endpoint, Graph subset, Exchange InvokeCommand)"
)]
struct Args {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Client id of the simulated app registration.
    #[arg(long, default_value = m365_sim::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Client secret of the simulated app registration.
    #[arg(long, default_value = m365_sim::DEFAULT_CLIENT_SECRET)]
    client_secret: String,
    /// PEM file with the app registration's certificate (for certificate client assertions).
    #[arg(long)]
    certificate: Option<std::path::PathBuf>,
    /// JSON config file with any `SimConfig` field (flags given explicitly win).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Seed of generated ids and names.
    #[arg(long)]
    seed: Option<u64>,
    /// Delay in seconds before new Graph groups become visible to Exchange.
    #[arg(long)]
    group_propagation_seconds: Option<u64>,
    /// Keep redeemed refresh tokens valid, as Entra does (default: reject them).
    #[arg(long)]
    refresh_token_keep_valid: bool,
    /// Also serve DNS (UDP, loopback) on this address: the tenants' verified domains have their
    /// Exchange Online MX.
    #[arg(long)]
    dns_listen: Option<String>,
}

fn load(args: &Args) -> Result<SimConfig, String> {
    let mut cfg = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str::<SimConfig>(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => SimConfig::default(),
    };
    // Flags at their defaults do not override a config file's values.
    if args.config.is_none() || args.listen != "127.0.0.1:0" {
        cfg.listen = args.listen.clone();
    }
    if args.config.is_none() || args.client_id != m365_sim::DEFAULT_CLIENT_ID {
        cfg.client_id = args.client_id.clone();
    }
    if args.config.is_none() || args.client_secret != m365_sim::DEFAULT_CLIENT_SECRET {
        cfg.client_secret = args.client_secret.clone();
    }
    if let Some(p) = &args.certificate {
        cfg.certificate_pem = Some(std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(s) = args.group_propagation_seconds {
        cfg.group_propagation_secs = s;
    }
    if args.refresh_token_keep_valid {
        cfg.refresh_token_keep_valid = true;
    }
    Ok(cfg)
}

/// The DNS server of `--dns-listen`, answering for `sim`'s tenants (loopback only).
async fn start_dns(listen: &str, sim: &Simulator) -> Result<m365_sim::dns::DnsServer, String> {
    let addr = m365_sim::server::loopback_addr(listen).map_err(|e| e.to_string())?;
    m365_sim::dns::DnsServer::start_for(addr, sim.state().clone())
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    let cfg = match load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("m365-sim: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let sim = match Simulator::start(cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("m365-sim: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let dns = match &args.dns_listen {
        None => None,
        Some(listen) => match start_dns(listen, &sim).await {
            Ok(dns) => Some(dns),
            Err(e) => {
                eprintln!("m365-sim: --dns-listen {listen}: {e}");
                return std::process::ExitCode::from(1);
            }
        },
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "m365-sim listening on {}", sim.base_url());
    if let Some(dns) = &dns {
        let _ = writeln!(out, "m365-sim dns on {}", dns.addr());
    }
    let _ = out.flush();
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}
