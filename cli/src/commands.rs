//! Each command: a request (or a page loop) to the API, and what it prints.

use std::{io::Write, time::Duration};

use reqwest::Method;
use serde_json::{Value, json};
use state::signing::KmsKey;

use crate::{
    Cli, CliError, Command, Format, TenantCommand, TenantsCommand,
    api::ApiClient,
    output::{self, TENANT_HEADER, show_fleet, show_run, show_task, show_tenant, shown, table, tenant_rows},
    watch::watch,
};

/// How long `--watch` waits between looks.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done,
    /// A watched task ended `failed`.
    TaskFailed,
}

/// Runs `cli`, printing to `out`; an `api` given is used instead of connecting (tests).
pub async fn run(cli: Cli, out: &mut dyn Write, api: Option<ApiClient>) -> Result<Outcome, CliError> {
    let format = cli.output;
    let connect = || async {
        match api {
            Some(api) => Ok(api),
            None => ApiClient::connect(cli.api_url.clone()).await,
        }
    };
    match cli.command {
        Command::AppCertificate {
            key_id,
            common_name,
            days,
        } => {
            let sdk = state::aws::sdk_config().await;
            let key = KmsKey::new(aws_sdk_kms::Client::new(&sdk), key_id);
            let pem = key
                .certificate(&common_name, chrono::Duration::days(i64::from(days)))
                .await
                .map_err(|err| CliError::Kms(err.reason))?;
            write!(out, "{pem}").map_err(CliError::Output)?;
            Ok(Outcome::Done)
        }
        Command::AppRegistration {
            redirect_uris,
            opt_ins,
            display_name,
        } => {
            if let Some(bad) = redirect_uris
                .iter()
                .find(|u| !model::permissions::redirect_uri_is_allowed(u))
            {
                return Err(CliError::Registration(format!(
                    "--redirect-uri {bad:?}: Entra ID takes https redirect URIs (http only for localhost): give the onboard function's https URL followed by /consent/callback"
                )));
            }
            let app = model::permissions::app_registration(&display_name, &redirect_uris, &opt_ins)
                .map_err(|err| CliError::Registration(format!("--opt-in {err}")))?;
            output::json(out, &app)?;
            Ok(Outcome::Done)
        }
        Command::Tenants(TenantsCommand::List {
            state,
            site,
            tag,
            attention,
            limit,
        }) => {
            let api = connect().await?;
            let mut query: Vec<(&str, String)> = Vec::new();
            for (name, value) in [("state", state), ("site", site), ("tag", tag)] {
                if let Some(value) = value {
                    query.push((name, value));
                }
            }
            if attention {
                query.push(("attention", "true".to_owned()));
            }
            query.push(("limit", limit.unwrap_or(100).to_string()));
            let mut tenants = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut pairs = form_urlencoded::Serializer::new(String::new());
                for (name, value) in &query {
                    pairs.append_pair(name, value);
                }
                if let Some(cursor) = &cursor {
                    pairs.append_pair("cursor", cursor);
                }
                let page = api.get(&format!("/tenants?{}", pairs.finish())).await?;
                tenants.extend(page["tenants"].as_array().cloned().unwrap_or_default());
                cursor = page["cursor"].as_str().map(str::to_owned);
                if cursor.is_none() || limit.is_some() {
                    break;
                }
            }
            match format {
                Format::Json => output::json(out, &Value::Array(tenants))?,
                Format::Table => table(out, &TENANT_HEADER, &tenant_rows(&tenants))?,
            }
            Ok(Outcome::Done)
        }
        Command::Tenant(TenantCommand::Show { tenant_id }) => {
            let tenant = connect().await?.get(&format!("/tenants/{tenant_id}")).await?;
            match format {
                Format::Json => output::json(out, &tenant)?,
                Format::Table => show_tenant(out, &tenant)?,
            }
            Ok(Outcome::Done)
        }
        Command::Tenant(TenantCommand::Label {
            tenant_id,
            name,
            customer_ref,
            tags,
            clear_tags,
        }) => {
            let mut body = json!({});
            if let Some(name) = name {
                body["display_name"] = json!(name);
            }
            if let Some(reference) = customer_ref {
                body["customer_ref"] = json!(reference);
            }
            if !tags.is_empty() || clear_tags {
                body["tags"] = json!(tags);
            }
            let row = connect()
                .await?
                .send(Method::PATCH, &format!("/tenants/{tenant_id}"), Some(&body))
                .await?;
            print_rows(out, format, &row)
        }
        Command::Ui { port } => {
            let api = connect().await?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|err| CliError::Proxy(format!("127.0.0.1:{port}: {err}")))?;
            writeln!(
                out,
                "the web pages on http://127.0.0.1:{port}/ui/ (signed with your AWS credentials; Ctrl-C stops)"
            )
            .map_err(CliError::Output)?;
            out.flush().map_err(CliError::Output)?;
            crate::proxy::serve(api, listener).await?;
            Ok(Outcome::Done)
        }
        Command::Fleet => {
            let fleet = connect().await?.get("/fleet").await?;
            match format {
                Format::Json => output::json(out, &fleet)?,
                Format::Table => show_fleet(out, &fleet)?,
            }
            Ok(Outcome::Done)
        }
        Command::Task {
            task_id,
            watch: follow,
        } => {
            let api = connect().await?;
            if follow {
                return finished(&watch(&api, &task_id, WATCH_EVERY, out).await?);
            }
            let task = api.get(&format!("/tasks/{task_id}")).await?;
            match format {
                Format::Json => output::json(out, &task)?,
                Format::Table => show_task(out, &task)?,
            }
            Ok(Outcome::Done)
        }
        Command::Run { site, date } => {
            let run = connect().await?.get(&format!("/runs/{site}/{date}")).await?;
            match format {
                Format::Json => output::json(out, &run)?,
                Format::Table => show_run(out, &run)?,
            }
            Ok(Outcome::Done)
        }
        Command::Provision {
            tenant_id,
            site,
            services,
            request_file,
            watch: follow,
        } => {
            let mut body = match request_file {
                Some(path) => read_json(&path)?,
                None => json!({}),
            };
            body["site"] = json!(site);
            if !services.is_empty() {
                body["services"] = json!(services);
            }
            start(
                connect().await?,
                out,
                format,
                &tenant_id,
                "provision",
                body,
                follow,
            )
            .await
        }
        Command::Deprovision {
            tenant_id,
            mode,
            acknowledge_quarantine,
            watch: follow,
        } => {
            let body = json!({"mode": mode, "acknowledge_quarantine": acknowledge_quarantine});
            start(
                connect().await?,
                out,
                format,
                &tenant_id,
                "deprovision",
                body,
                follow,
            )
            .await
        }
        Command::PolicyTargets {
            tenant_id,
            targets_file,
            watch: follow,
        } => {
            let body = json!({"policy_targets": read_json(&targets_file)?});
            start(
                connect().await?,
                out,
                format,
                &tenant_id,
                "policy-targets",
                body,
                follow,
            )
            .await
        }
        Command::ConsentLink {
            tenant,
            site,
            provision,
        } => {
            let body = json!({"tenant": tenant, "site": site, "provision": provision});
            let link = connect()
                .await?
                .send(Method::POST, "/consent-links", Some(&body))
                .await?;
            match format {
                Format::Json => output::json(out, &link)?,
                Format::Table => writeln!(
                    out,
                    "send the tenant's admin (tenant {}), valid until {}:\n{}",
                    shown(&link["tenant_id"]),
                    shown(&link["expires_at"]),
                    link["consent_url"].as_str().unwrap_or_default()
                )
                .map_err(CliError::Output)?,
            }
            Ok(Outcome::Done)
        }
        Command::Verify { tenant_id } => {
            let checklist = connect()
                .await?
                .send(Method::POST, &format!("/tenants/{tenant_id}/verify"), None)
                .await?;
            match format {
                Format::Json => output::json(out, &checklist)?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = checklist["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|i| vec![shown(&i["status"]), shown(&i["name"]), shown(&i["detail"])])
                        .collect();
                    table(out, &["STATUS", "CHECK", "DETAIL"], &rows)?;
                    let ok = checklist["ok"].as_bool().unwrap_or(false);
                    writeln!(
                        out,
                        "{}",
                        if ok {
                            "the grant holds"
                        } else {
                            "the grant does not hold: see the items above"
                        }
                    )
                    .map_err(CliError::Output)?;
                }
            }
            Ok(Outcome::Done)
        }
        Command::Sync { site, date, tenant } => {
            let api = connect().await?;
            let answer = match (site, tenant) {
                (Some(site), _) => {
                    let body = date.map_or(Value::Null, |date| json!({"run_date": date}));
                    api.send(Method::POST, &format!("/sites/{site}/sync"), Some(&body))
                        .await?
                }
                (None, Some(tenant)) => {
                    api.send(Method::POST, &format!("/tenants/{tenant}/sync"), None)
                        .await?
                }
                (None, None) => unreachable!("clap requires --site or --tenant"),
            };
            match format {
                Format::Json => output::json(out, &answer)?,
                Format::Table if answer["duplicate"] == true => writeln!(
                    out,
                    "the run {} was queued before ({} tenants): nothing queued again; follow it with `m365-inline run {} {}`",
                    shown(&answer["run_id"]),
                    shown(&answer["tenants"]),
                    shown(&answer["site"]),
                    shown(&answer["run_date"])
                )
                .map_err(CliError::Output)?,
                Format::Table => writeln!(
                    out,
                    "queued: run {} ({} tenant(s))",
                    shown(&answer["run_id"]),
                    shown(&answer.get("tenants").cloned().unwrap_or(json!(1)))
                )
                .map_err(CliError::Output)?,
            }
            Ok(Outcome::Done)
        }
        Command::Pause { tenant_id } => {
            let row = connect()
                .await?
                .send(Method::POST, &format!("/tenants/{tenant_id}/pause"), None)
                .await?;
            print_rows(out, format, &row)
        }
        Command::Resume { tenant_id } => {
            let row = connect()
                .await?
                .send(Method::POST, &format!("/tenants/{tenant_id}/resume"), None)
                .await?;
            print_rows(out, format, &row)
        }
    }
}

/// Starts a task and prints it, or follows it with `--watch`.
async fn start(
    api: ApiClient,
    out: &mut dyn Write,
    format: Format,
    tenant_id: &str,
    action: &str,
    body: Value,
    follow: bool,
) -> Result<Outcome, CliError> {
    let started = api
        .send(
            Method::POST,
            &format!("/tenants/{tenant_id}/{action}"),
            Some(&body),
        )
        .await?;
    let Some(task_id) = started["task_id"].as_str() else {
        // A dry run's plan.
        output::json(out, &started)?;
        return Ok(Outcome::Done);
    };
    if follow {
        writeln!(out, "task {task_id} ({action} of {tenant_id}) started").map_err(CliError::Output)?;
        return finished(&watch(&api, task_id, WATCH_EVERY, out).await?);
    }
    match format {
        Format::Json => output::json(out, &started)?,
        Format::Table => writeln!(
            out,
            "task {task_id} ({action} of {tenant_id}) started; follow it with `m365-inline task {task_id} --watch`"
        )
        .map_err(CliError::Output)?,
    }
    Ok(Outcome::Done)
}

fn finished(task: &Value) -> Result<Outcome, CliError> {
    Ok(if task["status"] == "failed" {
        Outcome::TaskFailed
    } else {
        Outcome::Done
    })
}

fn read_json(path: &std::path::Path) -> Result<Value, CliError> {
    let file = |reason: String| CliError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| file(err.to_string()))?;
    serde_json::from_str(&text).map_err(|err| file(format!("not JSON: {err}")))
}

fn print_rows(out: &mut dyn Write, format: Format, row: &Value) -> Result<Outcome, CliError> {
    match format {
        Format::Json => output::json(out, row)?,
        Format::Table => table(out, &TENANT_HEADER, &tenant_rows(std::slice::from_ref(row)))?,
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn app_certificate_takes_a_key_and_bounded_days() {
        let cli =
            Cli::try_parse_from(["m365-inline", "app-certificate", "--key-id", "alias/app"]).expect("parse");
        assert!(matches!(
            cli.command,
            Command::AppCertificate { ref key_id, days: 365, .. } if key_id == "alias/app"
        ));
        for bad in [
            vec!["m365-inline", "app-certificate"],
            vec!["m365-inline", "app-certificate", "--key-id", "k", "--days", "0"],
            vec![
                "m365-inline",
                "app-certificate",
                "--key-id",
                "k",
                "--days",
                "9999",
            ],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn app_registration_writes_graphs_application_object_and_refuses_what_entra_would() {
        let cli = Cli::try_parse_from([
            "m365-inline",
            "app-registration",
            "--redirect-uri",
            "https://abc.lambda-url.eu-west-1.on.aws/consent/callback",
            "--opt-in",
            "AppRemovesItself",
        ])
        .expect("parse");
        let mut written = Vec::new();
        run(cli, &mut written, None).await.expect("the registration");
        let app: Value = serde_json::from_slice(&written).expect("JSON");
        let fixture: Value = serde_json::from_str(include_str!(
            "../../m365-sim/tests/fixtures/graph-application-registration.json"
        ))
        .expect("fixture");
        for key in ["displayName", "signInAudience", "requiredResourceAccess", "web"] {
            assert!(fixture.get(key).is_some() && app.get(key).is_some(), "{key}");
        }
        assert_eq!(app["signInAudience"], fixture["signInAudience"]);
        assert_eq!(
            app["requiredResourceAccess"][0]["resourceAppId"],
            fixture["requiredResourceAccess"][0]["resourceAppId"]
        );
        for bad in [
            vec!["m365-inline", "app-registration"],
            vec![
                "m365-inline",
                "app-registration",
                "--redirect-uri",
                "http://vendor.example/cb",
            ],
            vec![
                "m365-inline",
                "app-registration",
                "--redirect-uri",
                "https://v.example/cb",
                "--opt-in",
                "All",
            ],
        ] {
            let refused = match Cli::try_parse_from(&bad) {
                Err(_) => true,
                Ok(cli) => run(cli, &mut Vec::new(), None).await.is_err(),
            };
            assert!(refused, "{bad:?}");
        }
        assert!(model::permissions::redirect_uri_is_allowed(
            "http://localhost:9000/lambda-url/onboard/consent/callback"
        ));
        assert!(!model::permissions::redirect_uri_is_allowed(
            "http://localhost.attacker.example/cb"
        ));
    }

    #[test]
    fn sync_takes_a_site_or_a_tenant_and_a_date_only_with_a_site() {
        assert!(Cli::try_parse_from(["m365-inline", "sync", "--site", "eu", "--date", "2030-01-01"]).is_ok());
        assert!(Cli::try_parse_from(["m365-inline", "sync", "--tenant", "x"]).is_ok());
        for bad in [
            vec!["m365-inline", "sync"],
            vec!["m365-inline", "sync", "--site", "eu", "--tenant", "x"],
            vec!["m365-inline", "sync", "--tenant", "x", "--date", "2030-01-01"],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_deployed_api_url_must_be_https_and_none_at_all_says_where_to_get_one() {
        let err = ApiClient::connect(Some("http://abc.lambda-url.eu-west-1.on.aws/".to_owned()))
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("https"), "{err}");
        // This crate's directory has no .env.local; API_URL is not set under cargo test.
        if std::env::var_os("API_URL").is_none() {
            let err = ApiClient::connect(None).await.err().expect("no API");
            assert!(err.to_string().contains("make local-up"), "{err}");
        }
    }
}
