//! Certificate client assertions (`private_key_jwt`): an RS256 JWT signed with the app's
//! certificate key, checked against the certificate registered for the app.

use aws_lc_rs::digest;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use crate::error::SimError;

/// The app registration's certificate.
pub struct AppCertificate {
    key: DecodingKey,
    /// SHA-1 thumbprint, base64url (`x5t`).
    pub x5t: String,
    /// SHA-256 thumbprint, base64url (`x5t#S256`).
    pub x5t_s256: String,
}

impl std::fmt::Debug for AppCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppCertificate(x5t={})", self.x5t)
    }
}

/// Why an assertion was rejected: (AADSTS code, description).
pub type Rejection = (u32, String);

#[derive(Deserialize)]
struct AssertionClaims {
    #[serde(default)]
    aud: serde_json::Value,
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
}

impl AppCertificate {
    /// Parses a PEM certificate (`-----BEGIN CERTIFICATE-----`).
    pub fn from_pem(pem: &str) -> Result<Self, SimError> {
        let body: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        if body.is_empty() {
            return Err(SimError::Certificate("no CERTIFICATE block in PEM".into()));
        }
        let der = STANDARD
            .decode(body.trim())
            .map_err(|e| SimError::Certificate(e.to_string()))?;
        let key =
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| SimError::Certificate(e.to_string()))?;
        let x5t = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der));
        let x5t_s256 = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der));
        Ok(Self { key, x5t, x5t_s256 })
    }

    /// Checks an assertion for `client_id` presented at the token endpoint of `tenant_names`
    /// (the tenant id and its domains). Times are checked against the wall clock, because the
    /// client signs with its own real clock, not the simulator's simulated one.
    pub fn verify(&self, assertion: &str, client_id: &str, tenant_names: &[String]) -> Result<(), Rejection> {
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| (50027, "JWT token is invalid or malformed.".to_owned()))?;
        let thumb_ok = header.x5t.as_deref() == Some(self.x5t.as_str())
            || header.x5t_s256.as_deref() == Some(self.x5t_s256.as_str());
        if !thumb_ok {
            let used = header.x5t.or(header.x5t_s256).unwrap_or_default();
            return Err((
                700027,
                format!(
                    "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{used}']"
                ),
            ));
        }
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
            return Err((
                5002738,
                format!(
                    "Invalid JWT token. '{:?}' is not a supported signature algorithm.",
                    header.alg
                ),
            ));
        }
        let mut v = Validation::new(header.alg);
        v.validate_aud = false;
        v.leeway = 300;
        v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &self.key, &v).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                (700024, "Client assertion is not within its valid time range.".to_owned())
            }
            ErrorKind::InvalidSignature => (
                700027,
                "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]".to_owned(),
            ),
            _ => (50027, format!("JWT token is invalid or malformed: {e}.")),
        })?;
        let c = data.claims;
        if c.iss != client_id || c.sub != client_id {
            return Err((
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.".to_owned(),
            ));
        }
        let auds: Vec<&str> = match &c.aud {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => vec![],
        };
        // The audience is the token endpoint the client was configured with; its host may be the
        // simulator's or login.microsoftonline.com, but its tenant must be the one being asked.
        let aud_ok = auds.iter().any(|a| {
            let a = a.trim_end_matches('/');
            a.strip_suffix("/oauth2/v2.0/token")
                .and_then(|p| p.rsplit('/').next())
                .is_some_and(|t| tenant_names.iter().any(|n| n.eq_ignore_ascii_case(t)))
        });
        if !aud_ok {
            return Err((
                700038,
                format!(
                    "The audience claim in the client assertion ({}) is not valid for this token endpoint.",
                    auds.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const CERT: &str = include_str!("../../tests/fixtures/app-cert.pem");
    const KEY: &str = include_str!("../../tests/fixtures/app-key.pem");
    const OTHER_KEY: &str = include_str!("../../tests/fixtures/other-key.pem");

    fn assertion(key: &str, x5t: &str, aud: &str, iss: &str, exp_offset: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut h = Header::new(Algorithm::RS256);
        h.x5t = Some(x5t.to_owned());
        let claims = serde_json::json!({"aud": aud, "iss": iss, "sub": iss, "jti": "1", "nbf": now - 10, "exp": now + exp_offset});
        jsonwebtoken::encode(
            &h,
            &claims,
            &EncodingKey::from_rsa_pem(key.as_bytes()).expect("key"),
        )
        .expect("sign")
    }

    #[test]
    fn accepts_good_and_rejects_bad_assertions() {
        let c = AppCertificate::from_pem(CERT).expect("cert");
        let names = vec!["tid".to_owned(), "contoso.com".to_owned()];
        let aud = "https://login.microsoftonline.com/tid/oauth2/v2.0/token";
        assert!(
            c.verify(&assertion(KEY, &c.x5t, aud, "app", 600), "app", &names)
                .is_ok()
        );
        assert_eq!(
            c.verify(&assertion(OTHER_KEY, &c.x5t, aud, "app", 600), "app", &names)
                .unwrap_err()
                .0,
            700027
        );
        assert_eq!(
            c.verify(&assertion(KEY, "bogus", aud, "app", 600), "app", &names)
                .unwrap_err()
                .0,
            700027
        );
        assert_eq!(
            c.verify(&assertion(KEY, &c.x5t, aud, "app", -1000), "app", &names)
                .unwrap_err()
                .0,
            700024
        );
        assert_eq!(
            c.verify(&assertion(KEY, &c.x5t, aud, "other", 600), "app", &names)
                .unwrap_err()
                .0,
            700021
        );
        let wrong = "https://login.microsoftonline.com/elsewhere/oauth2/v2.0/token";
        assert_eq!(
            c.verify(&assertion(KEY, &c.x5t, wrong, "app", 600), "app", &names)
                .unwrap_err()
                .0,
            700038
        );
    }
}
