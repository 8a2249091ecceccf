//! Values handed to a browser and read back (the consent link's `state`), sealed with an HMAC
//! key in AWS KMS (`kms:GenerateMac`, `kms:VerifyMac`, HMAC-SHA-256): the key never enters
//! Lambda memory, and a changed or forged value is refused before anything in it is read. A
//! sealed value is `base64url(payload).base64url(mac)`; sealing hides nothing.

use aws_sdk_kms::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    primitives::Blob,
    types::MacAlgorithmSpec,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// The most a payload may be: KMS MACs messages of up to 4,096 bytes.
pub const MAX_PAYLOAD: usize = 4096;

/// A sealed value could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The value was changed, or sealed by another key.
    #[error("the value was changed or was not sealed by this deployment")]
    Tampered,
    /// The value is not a sealed value at all.
    #[error("the value is not a sealed value: {reason}")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// KMS could not be asked.
    #[error(
        "KMS {operation} with key {key_id} failed ({reason}); check the key's id and that the function's role may use it"
    )]
    Kms {
        /// `GenerateMac` or `VerifyMac`.
        operation: &'static str,
        /// The key.
        key_id: String,
        /// KMS's answer.
        reason: String,
        /// Whether trying again may help.
        transient: bool,
    },
}

/// An HMAC key in KMS (`HMAC_256`, `GENERATE_VERIFY_MAC`).
#[derive(Debug, Clone)]
pub struct MacKey {
    client: Client,
    key_id: String,
}

impl MacKey {
    /// The key `key_id` (id, ARN or alias) through `client`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// The consent link state's key of `source` (`CONSENT_STATE_KEY_ID`).
    pub fn consent_state(
        sdk: &aws_config::SdkConfig,
        source: &impl model::config::Source,
    ) -> Result<Self, model::config::ConfigError> {
        let key_id = model::config::required(
            source,
            "CONSENT_STATE_KEY_ID",
            "set it to the consent state's HMAC key in KMS (the stack's ConsentStateKey)",
        )?;
        Ok(Self::new(Client::new(sdk), key_id))
    }

    /// `payload` with its MAC, as URL-safe text.
    pub async fn seal(&self, payload: &[u8]) -> Result<String, SealError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(SealError::Malformed {
                reason: format!("{} bytes, more than {MAX_PAYLOAD}", payload.len()),
            });
        }
        let output = self
            .client
            .generate_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(payload))
            .send()
            .await
            .map_err(|err| self.error("GenerateMac", &err))?;
        let mac = output.mac.map(Blob::into_inner).ok_or_else(|| SealError::Kms {
            operation: "GenerateMac",
            key_id: self.key_id.clone(),
            reason: "answered without a MAC".to_owned(),
            transient: true,
        })?;
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(mac)
        ))
    }

    /// The payload of `sealed`, if this key sealed it and nothing changed since.
    pub async fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let malformed = |reason: &str| SealError::Malformed {
            reason: reason.to_owned(),
        };
        // base64 of the largest payload and of a 32-byte MAC, with the dot.
        if sealed.len() > MAX_PAYLOAD.div_ceil(3) * 4 + 44 {
            return Err(malformed("longer than any sealed value"));
        }
        let (payload, mac) = sealed.split_once('.').ok_or_else(|| malformed("no MAC"))?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| malformed("the payload is not base64url"))?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| malformed("the MAC is not base64url"))?;
        if payload.is_empty() || mac.is_empty() {
            return Err(malformed("an empty payload or MAC"));
        }
        let verified = self
            .client
            .verify_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(payload.as_slice()))
            .mac(Blob::new(mac))
            .send()
            .await;
        match verified {
            Ok(output) if output.mac_valid => Ok(payload),
            Ok(_) => Err(SealError::Tampered),
            Err(err) if err.code() == Some("KMSInvalidMacException") => Err(SealError::Tampered),
            Err(err) => Err(self.error("VerifyMac", &err)),
        }
    }

    fn error<E, R>(&self, operation: &'static str, err: &SdkError<E, R>) -> SealError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let transient = crate::aws::kms_error_is_transient(err);
        SealError::Kms {
            operation,
            key_id: self.key_id.clone(),
            reason: crate::aws::describe(err),
            transient,
        }
    }
}
