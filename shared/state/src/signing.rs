//! The app's certificate key in AWS KMS: an asymmetric RSA key that signs each client assertion
//! with `kms:Sign`, so the private key never enters Lambda memory and every token mint is a
//! CloudTrail event.

use aws_sdk_kms::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    primitives::Blob,
    types::{MessageType, SigningAlgorithmSpec},
};
use microsoft::identity::{
    AssertionSigner, SignerError, Signing,
    certificate::{self, CertificateRequest},
};

/// A KMS key (RSA, `SIGN_VERIFY`) that signs with `RSASSA_PKCS1_V1_5_SHA_256`.
#[derive(Debug, Clone)]
pub struct KmsKey {
    client: Client,
    key_id: String,
}

impl KmsKey {
    /// The key `key_id` (id, ARN or alias) through `client`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// The key's public half as DER `SubjectPublicKeyInfo` (`kms:GetPublicKey`), for its
    /// certificate ([`microsoft::identity::certificate`]).
    pub async fn public_key_info(&self) -> Result<Vec<u8>, SignerError> {
        let output = self
            .client
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(|err| self.error("GetPublicKey", &err))?;
        let signs = output
            .signing_algorithms()
            .contains(&SigningAlgorithmSpec::RsassaPkcs1V15Sha256);
        match output.public_key {
            Some(key) if signs => Ok(key.into_inner()),
            _ => Err(SignerError {
                reason: format!(
                    "KMS key {} cannot sign RS256: create it with KeySpec RSA_2048 (or larger) and KeyUsage SIGN_VERIFY",
                    self.key_id
                ),
                transient: false,
            }),
        }
    }

    /// A self-signed certificate of this key for the app registration, valid from now for
    /// `valid_for` (upload it to the app's "Certificates & secrets"; rotate before it ends).
    pub async fn certificate(
        &self,
        common_name: &str,
        valid_for: chrono::Duration,
    ) -> Result<String, SignerError> {
        let public_key_info = self.public_key_info().await?;
        let not_before = chrono::Utc::now();
        let request = CertificateRequest {
            common_name,
            public_key_info: &public_key_info,
            not_before,
            not_after: not_before + valid_for,
            serial: *uuid::Uuid::new_v4().as_bytes(),
        };
        certificate::self_signed(&request, self).await
    }

    fn error<E, R>(&self, operation: &str, err: &SdkError<E, R>) -> SignerError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let transient = crate::aws::kms_error_is_transient(err);
        SignerError {
            reason: format!(
                "KMS {operation} with key {} failed ({}); check APP_SIGNING_KEY_ID and that the function's role may use the key",
                self.key_id,
                crate::aws::describe(err)
            ),
            transient,
        }
    }
}

impl AssertionSigner for KmsKey {
    fn sign<'a>(&'a self, message: &'a [u8]) -> Signing<'a> {
        Box::pin(async move {
            let output = self
                .client
                .sign()
                .key_id(&self.key_id)
                .message(Blob::new(message))
                .message_type(MessageType::Raw)
                .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
                .send()
                .await
                .map_err(|err| self.error("Sign", &err))?;
            output.signature.map(Blob::into_inner).ok_or_else(|| SignerError {
                reason: format!("KMS Sign with key {} answered without a signature", self.key_id),
                transient: true,
            })
        })
    }
}
