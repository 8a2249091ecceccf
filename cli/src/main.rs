//! `m365-inline`: the operator's command line. Today it makes the app registration's
//! certificate for the stack's KMS signing key (`AppCredentialKind` kms-certificate).

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
}

/// Why a command failed, with what to do.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// KMS could not read or sign with the key.
    #[error(
        "{0}\nThe key must be an RSA key with KeyUsage SIGN_VERIFY, and your AWS credentials need kms:GetPublicKey and kms:Sign on it (the stack's key policy lets administrators read the public key but not sign: deploy with AppCertificateSignerArn set to your role for the signing, then clear it)."
    )]
    Kms(String),
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
}
