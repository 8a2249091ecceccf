//! `local-stack`: creates the template's table, queues and app secret on the local AWS endpoint
//! and writes the functions' environment to an env file for `cargo lambda watch --env-file`.
//!
//! Usage: `AWS_ENDPOINT_URL=http://127.0.0.1:PORT local-stack --env-file .env.local
//!         [--prefix NAME] [--param NAME=VALUE | NAME=@FILE]... [--vendor-config FILE] [--m365-url URL
//!         [--sim-tenants FILE]] [--client-id ID --client-secret SECRET] [--dns-server IP:PORT]`
//!
//! `--sim-tenants` posts each tenant of a JSON array to m365-sim's `/_sim/tenants`;
//! `--dns-server` is written as `DNS_SERVER` (m365-sim's `--dns-listen`); `--vendor-config` puts
//! the vendor document in the stack's Parameter Store parameter, which the functions read.

use std::{collections::BTreeMap, fmt::Write as _, process::ExitCode};

use integration_tests::{aws, stack, template::Template};

struct Args {
    env_file: String,
    prefix: String,
    m365_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    parameters: BTreeMap<String, String>,
    sim_tenants: Option<String>,
    dns_server: Option<String>,
    vendor_config: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        env_file: ".env.local".to_owned(),
        prefix: "m365-inline-local".to_owned(),
        m365_url: None,
        client_id: None,
        client_secret: None,
        parameters: BTreeMap::new(),
        sim_tenants: None,
        dns_server: None,
        vendor_config: None,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let mut value = || iter.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--env-file" => args.env_file = value()?,
            "--prefix" => args.prefix = value()?,
            "--m365-url" => args.m365_url = Some(value()?),
            "--client-id" => args.client_id = Some(value()?),
            "--client-secret" => args.client_secret = Some(value()?),
            "--sim-tenants" => args.sim_tenants = Some(value()?),
            "--dns-server" => args.dns_server = Some(value()?),
            "--vendor-config" => {
                let path = value()?;
                let document = std::fs::read_to_string(&path)
                    .map_err(|err| format!("--vendor-config: cannot read {path}: {err}"))?;
                args.vendor_config = Some(document);
            }
            "--param" => {
                let pair = value()?;
                let (name, raw) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--param {pair:?}: expected NAME=VALUE"))?;
                let value = match raw.strip_prefix('@') {
                    Some(path) => std::fs::read_to_string(path)
                        .map_err(|err| format!("--param {name}: cannot read {path}: {err}"))?,
                    None => raw.to_owned(),
                };
                args.parameters.insert(name.to_owned(), value);
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; see the usage in the source header"
                ));
            }
        }
    }
    Ok(args)
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let endpoint = aws::endpoint_from_env()?;
    let sdk = aws::local_sdk_config(&endpoint).await;
    let template = Template::load()?;
    let app_credentials_json = match (&args.client_id, &args.client_secret) {
        (Some(id), Some(secret)) => {
            Some(serde_json::json!({"client_id": id, "client_secret": secret}).to_string())
        }
        (None, None) => None,
        _ => return Err("--client-id and --client-secret go together".to_owned()),
    };
    let options = stack::StackOptions {
        prefix: args.prefix.clone(),
        app_credentials_json,
        parameters: args.parameters.clone(),
        vendor_config: args.vendor_config.clone(),
    };
    let created = stack::create(&sdk, &template, &options).await?;

    let mut env =
        String::from("# Written by `make local-up`; for `cargo lambda watch --env-file .env.local`.\n");
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    for (name, value) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", region.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ] {
        let _ = writeln!(env, "{name}={value}");
    }
    // The local deployment opts in to both escalating permissions (infra/local-tenants.json's
    // consent grants them), so the demo's app assigns its own role and removes itself.
    let mut functions_env = created.env.clone();
    for name in ["APP_ASSIGNS_EXCHANGE_ROLE", "APP_REMOVES_ITSELF"] {
        functions_env.insert(name.to_owned(), "true".to_owned());
    }
    for (name, value) in &functions_env {
        let _ = writeln!(env, "{name}={}", env_value(value));
    }
    if let Some(url) = &args.m365_url {
        for name in ["M365_LOGIN_URL", "M365_GRAPH_URL", "M365_EXCHANGE_URL"] {
            let _ = writeln!(env, "{name}={url}");
        }
        let _ = writeln!(env, "M365_TEST_ENDPOINTS=loopback");
    }
    if let Some(server) = &args.dns_server {
        let _ = writeln!(env, "DNS_SERVER={server}");
    }
    // Every lifecycle event, as a vendor's rule would get it (`make demo` reads them here).
    if let Some(url) = &created.events_queue_url {
        let _ = writeln!(env, "LIFECYCLE_EVENTS_QUEUE_URL={url}");
    }
    // The EventBridge sample's sender (events/provision-eventbridge.json); the template accepts
    // none unless the deployment names it.
    let _ = writeln!(env, "EVENT_SOURCES=vendor.portal");

    if let (Some(url), Some(file)) = (&args.m365_url, &args.sim_tenants) {
        create_sim_tenants(url, file).await?;
    }
    std::fs::write(&args.env_file, env).map_err(|err| format!("cannot write {}: {err}", args.env_file))?;
    eprintln!("local-stack: table {}", created.table_name);
    for (logical_id, url) in &created.queue_urls {
        eprintln!("local-stack: queue {logical_id} {url}");
    }
    eprintln!("local-stack: wrote {}", args.env_file);
    Ok(())
}

/// A value for the env file: single-quoted when it is not a plain word (JSON documents), which
/// both dotenv readers and `set -a; . ./.env.local` take literally.
fn env_value(value: &str) -> String {
    let compact =
        serde_json::from_str::<serde_json::Value>(value).map_or_else(|_| value.to_owned(), |v| v.to_string());
    if compact
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        compact
    } else {
        format!("'{}'", compact.replace('\'', ""))
    }
}

async fn create_sim_tenants(url: &str, file: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|err| format!("cannot read {file}: {err}"))?;
    let tenants: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|err| format!("{file}: {err}"))?;
    let client = reqwest::Client::new();
    for tenant in tenants {
        let response = client
            .post(format!("{url}/_sim/tenants"))
            .json(&tenant)
            .send()
            .await
            .map_err(|err| format!("m365-sim at {url}: {err}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        // 409: the tenant exists already (local-up run twice against one simulator).
        if !status.is_success() && status.as_u16() != 409 {
            return Err(format!("m365-sim refused tenant {tenant}: {status} {body}"));
        }
        eprintln!(
            "local-stack: simulated tenant {}",
            tenant["tenant_id"].as_str().unwrap_or(&body)
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local-stack: {err}");
            ExitCode::FAILURE
        }
    }
}
