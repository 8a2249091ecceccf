//! Certificate client assertions: an RS256 JWT the app signs with its certificate's key, naming
//! the certificate by thumbprint (`x5t` SHA-1 and `x5t#S256`), as Entra ID requires.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde_json::json;

use super::{error::IdentityError, pem, signer::AssertionSigner};

/// Signs an assertion for `client_id`, addressed to the token endpoint `audience`, with `key`
/// (the private half of `certificate_pem`).
pub(super) async fn sign(
    client_id: &str,
    audience: &str,
    key: &dyn AssertionSigner,
    certificate_pem: &str,
    now: DateTime<Utc>,
) -> Result<SecretString, IdentityError> {
    let input = signing_input(client_id, audience, certificate_pem, now)?;
    let signature = key
        .sign(input.as_bytes())
        .await
        .map_err(|err| IdentityError::Assertion {
            reason: err.reason,
            transient: err.transient,
        })?;
    Ok(SecretString::from(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

/// `base64url(header).base64url(claims)`: what the key signs.
fn signing_input(
    client_id: &str,
    audience: &str,
    certificate_pem: &str,
    now: DateTime<Utc>,
) -> Result<String, IdentityError> {
    let der = pem::block(certificate_pem, "CERTIFICATE").ok_or_else(|| IdentityError::Assertion {
        reason: "`certificate_pem` is not a PEM certificate".to_owned(),
        transient: false,
    })?;
    let header = json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": URL_SAFE_NO_PAD.encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, &der)),
        "x5t#S256": URL_SAFE_NO_PAD.encode(digest(&SHA256, &der)),
    });
    let claims = json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now.timestamp(),
        "nbf": now.timestamp(),
        "exp": (now + Duration::minutes(10)).timestamp(),
    });
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ))
}
