//! The app's own credentials: its client id plus a client secret or a certificate.

use std::sync::Arc;

use secrecy::SecretString;

use super::signer::AssertionSigner;

/// How the app proves who it is to Entra ID.
#[derive(Debug, Clone)]
pub enum AppCredential {
    /// A client secret (only where the deployment asks for it: a certificate is the default).
    ClientSecret(SecretString),
    /// A certificate registered on the app: `key`, its private half, signs each client assertion,
    /// in this process ([`super::PemKey`]) or in a key service that never hands the key out.
    Certificate {
        /// PEM certificate registered on the app (its thumbprint names the key to Entra).
        certificate_pem: String,
        /// The certificate's private key.
        key: Arc<dyn AssertionSigner>,
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
