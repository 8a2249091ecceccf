//! Bearer-token checks shared by Graph and Exchange. Each surface renders failures in its own
//! error shape.

use axum::http::HeaderMap;
use m365_sim_model::{state::SimState, token::AccessClaims};

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a JWT.
    Malformed,
    /// A JWT not signed by this simulator process.
    InvalidSignature,
    /// Expired in simulated time.
    Expired,
    /// Issued for another resource.
    WrongAudience(String),
    /// Issued for another tenant than the one addressed.
    WrongTenant(String),
    /// The tenant no longer exists.
    UnknownTenant(String),
    /// Neither `roles` nor `scp`.
    NoPermissions,
}

impl AuthError {
    /// Graph's message for this failure (code `InvalidAuthenticationToken`).
    pub fn graph_message(&self) -> String {
        match self {
            AuthError::Missing => "Access token is empty.".into(),
            AuthError::Malformed => "IDX14100: JWT is not well formed, there are no dots (.).".into(),
            AuthError::InvalidSignature => {
                "Access token validation failure. Invalid issuer or signature.".into()
            }
            AuthError::Expired => "Lifetime validation failed, the token is expired.".into(),
            AuthError::WrongAudience(_) => "Access token validation failure. Invalid audience.".into(),
            AuthError::WrongTenant(_) | AuthError::UnknownTenant(_) => {
                "Access token validation failure. Invalid issuer or signature.".into()
            }
            AuthError::NoPermissions => "Either scp or roles claim need to be present in the token.".into(),
        }
    }
}

/// The bearer token text, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Verifies the signature and returns the claims (no expiry, audience or tenant checks yet:
/// callers need the tenant id to count the request and apply faults first).
pub fn verify(state: &SimState, headers: &HeaderMap) -> Result<AccessClaims, AuthError> {
    let token = bearer(headers).ok_or(AuthError::Missing)?;
    if token.split('.').count() != 3 {
        return Err(AuthError::Malformed);
    }
    state.signer.verify(token).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => AuthError::InvalidSignature,
        _ => AuthError::Malformed,
    })
}

/// Checks expiry (simulated time), audience, tenant and that some permission is present.
/// `tenant` is the tenant addressed by the request, when the URL names one (Exchange).
pub fn check(
    state: &SimState,
    c: &AccessClaims,
    audience: &str,
    tenant: Option<&str>,
) -> Result<(), AuthError> {
    if c.exp <= state.clock.now_secs() {
        return Err(AuthError::Expired);
    }
    if c.aud != audience {
        return Err(AuthError::WrongAudience(c.aud.clone()));
    }
    if let Some(t) = tenant
        && t != c.tid
    {
        return Err(AuthError::WrongTenant(c.tid.clone()));
    }
    if state.tenant(&c.tid).is_none() {
        return Err(AuthError::UnknownTenant(c.tid.clone()));
    }
    if c.roles.is_empty() && c.scp.as_deref().is_none_or(str::is_empty) {
        return Err(AuthError::NoPermissions);
    }
    Ok(())
}
