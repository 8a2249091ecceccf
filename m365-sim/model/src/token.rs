//! Access and refresh tokens: minting, signing, verifying and the record of everything issued.

use std::{collections::HashMap, sync::Mutex};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::graph_time;

/// Claims of an access token, named as Entra names them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    /// Audience: the resource URI (`https://graph.microsoft.com` or `https://outlook.office365.com`).
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Issued at (simulated Unix seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry (simulated Unix seconds).
    pub exp: i64,
    /// Display name of the client app.
    pub app_displayname: String,
    /// Client app id.
    pub appid: String,
    /// 1 = secret, 2 = certificate.
    pub appidacr: String,
    /// `app` or `user`.
    pub idtyp: String,
    /// Object id of the principal (service principal or user).
    pub oid: String,
    /// Subject.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Unique token id.
    pub uti: String,
    /// Token version.
    pub ver: String,
    /// App roles (app-only tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Delegated scopes (tokens from a refresh token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Directory role template ids of the principal at minting time.
    #[serde(default)]
    pub wids: Vec<String>,
    /// UPN of the signed-in user (delegated tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
}

impl AccessClaims {
    /// Whether the token carries any of the given app roles (or, for delegated tokens, scopes).
    pub fn has_any(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| {
            self.roles.iter().any(|x| x.eq_ignore_ascii_case(r))
                || self
                    .scp
                    .as_deref()
                    .is_some_and(|s| s.split(' ').any(|x| x.eq_ignore_ascii_case(r)))
        })
    }
}

/// Signs and verifies the simulator's tokens with a per-process random key.
pub struct Signer {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// A signer with a fresh random key: tokens of another simulator process never verify here.
    pub fn new() -> Self {
        let key = random_bytes::<32>();
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is judged against simulated time by the caller, not by the library's wall clock.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Self {
            enc: EncodingKey::from_secret(&key),
            dec: DecodingKey::from_secret(&key),
            validation,
        }
    }

    /// Signs claims into a compact JWT.
    pub fn sign(&self, claims: &AccessClaims) -> String {
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("JWT".into());
        h.kid = Some("m365-sim".into());
        // Signing HMAC over serializable claims cannot fail; an empty token would be rejected later.
        jsonwebtoken::encode(&h, claims, &self.enc).unwrap_or_default()
    }

    /// Verifies the signature and decodes the claims.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.dec, &self.validation).map(|d| d.claims)
    }
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}

/// `N` bytes from the system RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        // Fall back to v4 UUID randomness (getrandom) rather than running with a zero key.
        for chunk in b.chunks_mut(16) {
            let r = uuid::Uuid::new_v4();
            chunk.copy_from_slice(&r.as_bytes()[..chunk.len()]);
        }
    }
    b
}

/// State of a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshState {
    /// Usable.
    Active,
    /// Redeemed; a newer one replaced it.
    Rotated,
}

/// What the simulator knows about a refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    /// Tenant.
    pub tenant_id: String,
    /// Client it was issued to.
    pub client_id: String,
    /// Signed-in user (a simulated administrator).
    pub user_upn: String,
    /// Object id of that user.
    pub user_id: String,
    /// Issue time (simulated).
    pub issued_at: DateTime<Utc>,
    /// Last redemption or issue (simulated), for inactivity expiry.
    pub last_used: DateTime<Utc>,
    /// State.
    pub state: RefreshState,
}

/// One entry of `GET /_sim/tokens`.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// `access` or `refresh`.
    pub kind: &'static str,
    /// The token text.
    pub token: String,
    /// Tenant.
    pub tenant_id: String,
    /// Client.
    pub client_id: String,
    /// Audience (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// How it was obtained: `client_credentials`, `refresh_token` or `admin`.
    pub grant_type: String,
    /// Issue time (simulated).
    pub issued_at: String,
    /// Expiry (simulated; access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Every token issued by this process.
#[derive(Debug, Default)]
pub struct TokenStore {
    issued: Mutex<Vec<IssuedToken>>,
    refresh: Mutex<HashMap<String, RefreshRecord>>,
}

impl TokenStore {
    /// Records an issued access token.
    pub fn record_access(&self, token: &str, c: &AccessClaims, grant: &str) {
        let at = |s: i64| DateTime::from_timestamp(s, 0).map(graph_time).unwrap_or_default();
        self.lock_issued().push(IssuedToken {
            kind: "access",
            token: token.to_owned(),
            tenant_id: c.tid.clone(),
            client_id: c.appid.clone(),
            audience: Some(c.aud.clone()),
            grant_type: grant.to_owned(),
            issued_at: at(c.iat),
            expires_at: Some(at(c.exp)),
        });
    }

    /// Creates, records and returns a new refresh token.
    pub fn new_refresh(&self, rec: RefreshRecord, grant: &str) -> String {
        let token = format!("0.A{}", URL_SAFE_NO_PAD.encode(random_bytes::<64>()));
        self.lock_issued().push(IssuedToken {
            kind: "refresh",
            token: token.clone(),
            tenant_id: rec.tenant_id.clone(),
            client_id: rec.client_id.clone(),
            audience: None,
            grant_type: grant.to_owned(),
            issued_at: graph_time(rec.issued_at),
            expires_at: None,
        });
        self.refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), rec);
        token
    }

    /// Looks up a refresh token.
    pub fn refresh(&self, token: &str) -> Option<RefreshRecord> {
        self.refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }

    /// Marks a refresh token rotated.
    pub fn rotate(&self, token: &str) {
        if let Some(r) = self
            .refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(token)
        {
            r.state = RefreshState::Rotated;
        }
    }

    /// Updates a refresh token's last use.
    pub fn touch(&self, token: &str, now: DateTime<Utc>) {
        if let Some(r) = self
            .refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(token)
        {
            r.last_used = now;
        }
    }

    /// JSON view for `GET /_sim/tokens`.
    pub fn snapshot(&self) -> serde_json::Value {
        let issued = self.lock_issued().clone();
        let refresh = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        let items: Vec<serde_json::Value> = issued
            .into_iter()
            .map(|t| {
                let mut v = serde_json::to_value(&t).unwrap_or_default();
                if let Some(r) = refresh.get(&t.token) {
                    v["state"] = serde_json::to_value(r.state).unwrap_or_default();
                }
                v
            })
            .collect();
        serde_json::json!({ "tokens": items })
    }

    fn lock_issued(&self) -> std::sync::MutexGuard<'_, Vec<IssuedToken>> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessClaims {
        AccessClaims {
            aud: "https://graph.microsoft.com".into(),
            iss: "https://sts.windows.net/t/".into(),
            iat: 1,
            nbf: 1,
            exp: 2,
            app_displayname: "a".into(),
            appid: "a".into(),
            appidacr: "1".into(),
            idtyp: "app".into(),
            oid: "o".into(),
            sub: "o".into(),
            tid: "t".into(),
            uti: "u".into(),
            ver: "1.0".into(),
            roles: vec!["User.Read.All".into()],
            scp: None,
            wids: vec![],
            upn: None,
        }
    }

    #[test]
    fn sign_verify_and_foreign_key_rejected() {
        let s = Signer::new();
        let t = s.sign(&claims());
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(s.verify(&t).expect("verify"), claims());
        assert!(Signer::new().verify(&t).is_err());
        assert!(claims().has_any(&["user.read.all"]));
        assert!(!claims().has_any(&["Group.Read.All"]));
    }
}
