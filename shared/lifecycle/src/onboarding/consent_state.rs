//! The consent link's `state`: which request it answers, for which tenant, until when.

use chrono::{DateTime, Duration, Utc};
use model::{cloud::Cloud, tenant::TenantId};
use serde::{Deserialize, Serialize};
use state::seal::MacKey;
use uuid::Uuid;

use super::OnboardingError;

/// How long a consent link can be answered (an admin may take a day to get to it).
pub const LINK_LIFETIME: Duration = Duration::hours(72);

/// What the link's `state` says, sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentState {
    /// The consent request it answers (its nonce).
    pub nonce: Uuid,
    /// The tenant the link was made for.
    pub tenant_id: TenantId,
    /// Its cloud.
    pub cloud: Cloud,
    /// Until when it can be answered.
    pub expires_at: DateTime<Utc>,
}

impl ConsentState {
    /// A new state for `tenant_id` in `cloud`, answerable until [`LINK_LIFETIME`] after `now`.
    pub fn new(tenant_id: TenantId, cloud: Cloud, now: DateTime<Utc>) -> Self {
        Self {
            nonce: Uuid::new_v4(),
            tenant_id,
            cloud,
            expires_at: now + LINK_LIFETIME,
        }
    }

    /// The sealed text for the link.
    pub async fn seal(&self, key: &MacKey) -> Result<String, OnboardingError> {
        let payload = serde_json::to_vec(self).map_err(|err| OnboardingError::StateMalformed {
            reason: err.to_string(),
        })?;
        Ok(key.seal(&payload).await?)
    }

    /// The state `sealed` holds, if `key` sealed it, nothing changed and it has not expired at
    /// `now`.
    pub async fn open(key: &MacKey, sealed: &str, now: DateTime<Utc>) -> Result<Self, OnboardingError> {
        let payload = key.open(sealed).await?;
        let state: Self = serde_json::from_slice(&payload).map_err(|_| OnboardingError::StateMalformed {
            reason: "its content is not a consent state".to_owned(),
        })?;
        if state.expires_at <= now {
            return Err(OnboardingError::StateExpired {
                expired_at: state.expires_at,
            });
        }
        Ok(state)
    }
}
