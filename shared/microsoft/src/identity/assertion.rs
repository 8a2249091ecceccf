//! Certificate client assertions: an RS256 JWT the app signs with its private key, naming its
//! certificate by thumbprint (`x5t` SHA-1 and `x5t#S256`), as Entra ID requires.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::error::IdentityError;

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// Signs an assertion for `client_id`, addressed to the token endpoint `audience`.
pub fn sign(
    client_id: &str,
    audience: &str,
    private_key_pem: &SecretString,
    certificate_pem: &str,
    now: DateTime<Utc>,
) -> Result<SecretString, IdentityError> {
    let der = certificate_der(certificate_pem)?;
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = Some(URL_SAFE_NO_PAD.encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, &der)));
    header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(digest(&SHA256, &der)));
    let claims = Claims {
        aud: audience,
        iss: client_id,
        sub: client_id,
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: (now + Duration::minutes(10)).timestamp(),
    };
    let key = EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(|_| {
        IdentityError::Assertion {
            reason: "`private_key_pem` is not a PEM RSA private key".to_owned(),
        }
    })?;
    let token = jsonwebtoken::encode(&header, &claims, &key).map_err(|err| IdentityError::Assertion {
        reason: format!("signing failed: {}", err.kind_name()),
    })?;
    Ok(SecretString::from(token))
}

/// The DER bytes of the first certificate in a PEM document.
fn certificate_der(pem: &str) -> Result<Vec<u8>, IdentityError> {
    let invalid = || IdentityError::Assertion {
        reason: "`certificate_pem` is not a PEM certificate".to_owned(),
    };
    let body = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .ok_or_else(invalid)?;
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(base64).map_err(|_| invalid())
}

/// Names the kind of a signing failure without its details.
trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind;
        match self.kind() {
            ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => "invalid RSA key",
            ErrorKind::InvalidAlgorithm => "invalid algorithm",
            _ => "crypto error",
        }
    }
}
