//! Access tokens as Entra issues them, one per Microsoft resource.

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// A Microsoft resource a token is minted for; one token per resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Microsoft Graph.
    Graph,
    /// Exchange Online (the admin API).
    Exchange,
}

impl Resource {
    /// Both resources.
    pub const ALL: [Resource; 2] = [Self::Graph, Self::Exchange];

    /// The application permission without which no call to the resource can work, if one is.
    pub fn required_role(self) -> Option<&'static str> {
        match self {
            Self::Graph => None,
            Self::Exchange => Some("Exchange.ManageAsApp"),
        }
    }
}

/// An access token and when it stops working. `Debug` never shows the token.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessToken {
    /// The bearer token.
    pub token: SecretString,
    /// When Microsoft stops accepting it.
    pub expires_at: DateTime<Utc>,
    /// When it was minted (absent in secrets written before this was kept).
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
}

impl AccessToken {
    /// A token minted now that expires at `expires_at`.
    pub fn new(token: SecretString, expires_at: DateTime<Utc>) -> Self {
        Self {
            token,
            expires_at,
            issued_at: Some(Utc::now()),
        }
    }

    /// Whether it was minted less than `age` before `now`.
    pub fn minted_within(&self, now: DateTime<Utc>, age: Duration) -> bool {
        self.issued_at.is_some_and(|at| now - at < age)
    }

    /// The application permissions (`roles`) the token carries; `None` when the token cannot
    /// be read as a JWT. Read without checking the signature: it says what Entra granted, for
    /// our own decisions, and proves nothing to anyone.
    pub fn granted_roles(&self) -> Option<Vec<String>> {
        use base64::Engine as _;
        use secrecy::ExposeSecret as _;
        let payload = self.token.expose_secret().split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        Some(
            claims
                .get("roles")
                .and_then(serde_json::Value::as_array)
                .map(|roles| {
                    roles
                        .iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    /// Whether it still works for at least `min_life` after `now`.
    pub fn lasts(&self, now: DateTime<Utc>, min_life: Duration) -> bool {
        self.expires_at - now >= min_life
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn token(claims: serde_json::Value) -> AccessToken {
        let part =
            |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = format!(
            "{}.{}.sig",
            part(&serde_json::json!({"alg": "RS256"})),
            part(&claims)
        );
        AccessToken::new(SecretString::from(jwt), Utc::now())
    }

    #[test]
    fn the_roles_claim_is_read_and_an_absent_one_is_empty() {
        let granted = token(serde_json::json!({"roles": ["Exchange.ManageAsApp"], "tid": "t"}));
        assert_eq!(
            granted.granted_roles(),
            Some(vec!["Exchange.ManageAsApp".to_owned()])
        );
        // Entra issues app-only tokens without `roles` once the grants are revoked.
        assert_eq!(
            token(serde_json::json!({"tid": "t"})).granted_roles(),
            Some(Vec::new())
        );
        let opaque = AccessToken::new(SecretString::from("opaque"), Utc::now());
        assert_eq!(opaque.granted_roles(), None);
    }
}
