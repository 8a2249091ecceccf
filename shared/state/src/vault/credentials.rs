//! The app-credentials secret's document: its client id plus a client secret or a certificate.

use microsoft::identity::{AppCredential, AppCredentials};
use secrecy::SecretString;
use serde::Deserialize;

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
    /// Checks the document; the error names the field, never a value.
    pub(super) fn into_credentials(self) -> Result<AppCredentials, String> {
        if uuid::Uuid::try_parse(&self.client_id).is_err() || self.client_id.len() != 36 {
            return Err("`client_id` must be the app's application (client) id, a GUID".to_owned());
        }
        let credential = match (self.client_secret, self.private_key_pem, self.certificate_pem) {
            (Some(secret), None, None) => AppCredential::ClientSecret(secret),
            (None, Some(private_key_pem), Some(certificate_pem)) => AppCredential::Certificate {
                private_key_pem,
                certificate_pem,
            },
            (None, Some(_), None) => {
                return Err("`certificate_pem` is required with `private_key_pem`".to_owned());
            }
            (None, None, Some(_)) => {
                return Err("`private_key_pem` is required with `certificate_pem`".to_owned());
            }
            (None, None, None) => {
                return Err(
                    "give either `client_secret` or `private_key_pem` with `certificate_pem`".to_owned(),
                );
            }
            (Some(_), _, _) => {
                return Err("give either `client_secret` or a certificate, not both".to_owned());
            }
        };
        Ok(AppCredentials {
            client_id: self.client_id,
            credential,
        })
    }
}
