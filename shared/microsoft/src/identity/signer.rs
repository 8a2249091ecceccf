//! What signs a certificate credential's client assertions: a private key in memory ([`PemKey`])
//! or one that never leaves a key service (AWS KMS, behind this trait in the AWS adapters).

use std::{future::Future, pin::Pin};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{RSA_PKCS1_SHA256, RsaKeyPair},
};
use secrecy::{ExposeSecret, SecretString};

use super::pem;

/// A signature, or why there is none.
pub type Signing<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, SignerError>> + Send + 'a>>;

/// Signs with RSASSA-PKCS1-v1_5 and SHA-256 (JWT `RS256`, X.509 `sha256WithRSAEncryption`).
pub trait AssertionSigner: std::fmt::Debug + Send + Sync {
    /// The signature of `message`.
    fn sign<'a>(&'a self, message: &'a [u8]) -> Signing<'a>;
}

/// A signer failed. The reason names the key and the cause, never key material.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}")]
pub struct SignerError {
    /// What went wrong and what to do.
    pub reason: String,
    /// Whether trying again may help (throttling, a passing outage).
    pub transient: bool,
}

/// An RSA private key held in this process (the app-credentials secret's `private_key_pem`).
pub struct PemKey {
    key: RsaKeyPair,
}

impl std::fmt::Debug for PemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PemKey(..)")
    }
}

impl PemKey {
    /// Parses a PEM RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn parse(private_key_pem: &SecretString) -> Result<Self, SignerError> {
        let invalid = || SignerError {
            reason: "`private_key_pem` is not a PEM RSA private key (PKCS#8 or PKCS#1)".to_owned(),
            transient: false,
        };
        let text = private_key_pem.expose_secret();
        let key = if let Some(der) = pem::block(text, "PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(&der)
        } else if let Some(der) = pem::block(text, "RSA PRIVATE KEY") {
            RsaKeyPair::from_der(&der)
        } else {
            return Err(invalid());
        };
        Ok(Self {
            key: key.map_err(|_| invalid())?,
        })
    }

    /// The key's public half as DER `RSAPublicKey` (PKCS#1).
    pub fn public_key_der(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        self.key.public_key().as_ref().to_vec()
    }
}

impl AssertionSigner for PemKey {
    fn sign<'a>(&'a self, message: &'a [u8]) -> Signing<'a> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        let signed = self
            .key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map(|()| signature)
            .map_err(|_| SignerError {
                reason: "the private key could not sign".to_owned(),
                transient: false,
            });
        Box::pin(std::future::ready(signed))
    }
}
