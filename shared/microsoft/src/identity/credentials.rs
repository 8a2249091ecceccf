//! The app's own credentials: its client id plus a client secret or a certificate.

use secrecy::SecretString;

/// How the app proves who it is to Entra ID.
#[derive(Debug, Clone)]
pub enum AppCredential {
    /// A client secret.
    ClientSecret(SecretString),
    /// A certificate: the private key signs client assertions; the certificate names the key.
    Certificate {
        /// PEM private key (PKCS#8 or PKCS#1).
        private_key_pem: SecretString,
        /// PEM certificate registered on the app.
        certificate_pem: String,
    },
}

/// The app registration's credentials. `Debug` never shows the secret or key.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    /// The application (client) id.
    pub client_id: String,
    /// The credential.
    pub credential: AppCredential,
}
