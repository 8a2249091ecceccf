//! `m365-inline`: the operator's command line. Today it makes the app registration's definition
//! (Graph's `application` object, from the permission manifest) and its certificate for the
//! stack's KMS signing key (`AppCredentialKind` kms-certificate).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use state::signing::KmsKey;

/// The operator's command line of m365-inline.
#[derive(Debug, Parser)]
#[command(name = "m365-inline", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes (to standard output) a self-signed certificate of the app's KMS signing key, to
    /// upload to the app registration's "Certificates & secrets" and to put, as
    /// `certificate_pem`, in the app-credentials secret. KMS signs it; the key never leaves KMS.
    AppCertificate {
        /// The KMS key: id, ARN or alias (the stack's `AppSigningKeyArn` output).
        #[arg(long)]
        key_id: String,
        /// The certificate's subject (and issuer) common name.
        #[arg(long, default_value = "m365-inline")]
        common_name: String,
        /// Days the certificate is valid; make and register the next one before they end.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Writes (to standard output) the multi-tenant app registration as Graph's `application`
    /// object: every permission of the default set (and of the opt-ins named) as an app role,
    /// and the consent callback as its redirect URI. Create it in the vendor's own tenant of
    /// each cloud with `POST {graph}/v1.0/applications` (README: The app registration).
    AppRegistration {
        /// The consent callback (the onboard function's URL + `/consent/callback`); repeat for more.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A template parameter whose escalating permission the deployment opts in to
        /// (`AppAssignsExchangeRole`, `AppRemovesItself`); repeat for both.
        #[arg(long = "opt-in")]
        opt_ins: Vec<String>,
        /// The app's display name (what tenant admins see on the consent page).
        #[arg(long, default_value = "m365-inline")]
        display_name: String,
    },
}

/// Why a command failed, with what to do.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// KMS could not read or sign with the key.
    #[error(
        "{0}\nThe key must be an RSA key with KeyUsage SIGN_VERIFY, and your AWS credentials need kms:GetPublicKey and kms:Sign on it (the stack's key policy lets administrators read the public key but not sign: deploy with AppCertificateSignerArn set to your role for the signing, then clear it)."
    )]
    Kms(String),
    /// The registration cannot be made from these arguments.
    #[error("{0}")]
    Registration(String),
}

async fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::AppCertificate {
            key_id,
            common_name,
            days,
        } => {
            let sdk = state::aws::sdk_config().await;
            let key = KmsKey::new(aws_sdk_kms::Client::new(&sdk), key_id);
            key.certificate(&common_name, chrono::Duration::days(i64::from(days)))
                .await
                .map_err(|err| CliError::Kms(err.reason))
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
            Ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&app).unwrap_or_default()
            ))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("m365-inline: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
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
        let written = run(cli).await.expect("the registration");
        let app: serde_json::Value = serde_json::from_str(&written).expect("JSON");
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
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
                Ok(cli) => run(cli).await.is_err(),
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
}
