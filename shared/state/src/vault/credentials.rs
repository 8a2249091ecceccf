//! The app-credentials secret's document: its client id plus the credential the deployment's
//! `AppCredentialKind` names (a KMS-held certificate by default).

use std::sync::Arc;

use microsoft::identity::{AppCredential, AppCredentials, PemKey};
use secrecy::SecretString;
use serde::Deserialize;

use crate::{config::CredentialKind, signing::KmsKey};

/// The secret's JSON as written by an operator (see README: the app-credentials secret).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Document {
    client_id: String,
    #[serde(default)]
    client_secret: Option<SecretString>,
    #[serde(default)]
    private_key_pem: Option<SecretString>,
    #[serde(default)]
    certificate_pem: Option<String>,
}

impl Document {
    /// Checks the document against `kind`; the error names the fields, never a value.
    /// `signing_key` is the deployment's KMS key, for `kms-certificate`.
    pub(super) fn into_credentials(
        self,
        kind: &CredentialKind,
        signing_key: Option<&Arc<KmsKey>>,
    ) -> Result<AppCredentials, String> {
        if uuid::Uuid::try_parse(&self.client_id).is_err() || self.client_id.len() != 36 {
            return Err("`client_id` must be the app's application (client) id, a GUID".to_owned());
        }
        let credential = match (
            kind,
            self.client_secret,
            self.private_key_pem,
            self.certificate_pem,
            signing_key,
        ) {
            (CredentialKind::ClientSecret, Some(secret), None, None, _) => {
                AppCredential::ClientSecret(secret)
            }
            (CredentialKind::Certificate, None, Some(private_key_pem), Some(certificate_pem), _) => {
                AppCredential::Certificate {
                    certificate_pem,
                    key: Arc::new(PemKey::parse(&private_key_pem).map_err(|err| err.reason)?),
                }
            }
            (CredentialKind::KmsCertificate { .. }, None, None, Some(certificate_pem), Some(key)) => {
                AppCredential::Certificate {
                    certificate_pem,
                    key: key.clone(),
                }
            }
            (kind, ..) => return Err(expected(kind)),
        };
        Ok(AppCredentials {
            client_id: self.client_id,
            credential,
        })
    }
}

/// What the document must hold for `kind`, as an operator reads it.
fn expected(kind: &CredentialKind) -> String {
    let fields = match kind {
        CredentialKind::KmsCertificate { .. } => {
            "`certificate_pem` only: the certificate of the KMS key APP_SIGNING_KEY_ID (`m365-inline app-certificate` makes it); no private key, no client secret"
        }
        CredentialKind::Certificate => "`private_key_pem` with `certificate_pem`, and no `client_secret`",
        CredentialKind::ClientSecret => "`client_secret` only",
    };
    format!(
        "this deployment's AppCredentialKind is {} (APP_CREDENTIAL_KIND): besides `client_id` the secret must hold {fields}",
        kind.name()
    )
}
