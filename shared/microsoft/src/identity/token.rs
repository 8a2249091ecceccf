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

    /// Whether it still works for at least `min_life` after `now`.
    pub fn lasts(&self, now: DateTime<Utc>, min_life: Duration) -> bool {
        self.expires_at - now >= min_life
    }
}
