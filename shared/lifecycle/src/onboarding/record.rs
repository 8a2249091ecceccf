//! The request behind a consent link: the operator's choices, kept until the link's answer is
//! recorded, once.

use chrono::{DateTime, Duration, Utc};
use model::{service::Service, task::TaskId, tenant::TenantId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use state::store::{Key, Record, Store, StoreError};
use uuid::Uuid;

use super::{ConsentAnswer, ConsentState, OnboardingError};
use crate::verify::Checklist;

/// How long a consent request is kept after its link expires (its answer stays readable).
const KEPT_AFTER_EXPIRY: Duration = Duration::days(30);

/// What became of a consent link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ConsentOutcome {
    /// An administrator granted the app's permissions.
    Granted {
        /// When the answer came.
        at: DateTime<Utc>,
    },
    /// Refused, cancelled or failed, as Microsoft said.
    Refused {
        /// When the answer came.
        at: DateTime<Utc>,
        /// Microsoft's `error` (bounded, made safe).
        error: String,
        /// Microsoft's `error_description`, first line (bounded, made safe).
        description: String,
    },
}

impl ConsentOutcome {
    fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Granted { at } | Self::Refused { at, .. } => *at,
        }
    }
}

/// A consent link's request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// The link's nonce.
    pub nonce: Uuid,
    /// The tenant the link is for.
    pub tenant_id: TenantId,
    /// The services whose permissions the grant is verified for.
    #[serde(default)]
    pub services: Vec<Service>,
    /// The provisioning request the operator chose (site, cloud, services, targets, options);
    /// none for a link that only grants again (Verify's).
    #[serde(default)]
    pub request: Option<Value>,
    /// Whether provisioning starts once the grant is verified (only with a `request`).
    pub provision: bool,
    /// When the link was made.
    pub created_at: DateTime<Utc>,
    /// Until when the link can be answered.
    pub link_expires_at: DateTime<Utc>,
    /// The answer, once received.
    #[serde(default)]
    pub outcome: Option<ConsentOutcome>,
    /// Verify's checklist after a grant.
    #[serde(default)]
    pub verified: Option<Checklist>,
    /// The provisioning task started after a verified grant.
    #[serde(default)]
    pub task_id: Option<TaskId>,
    /// What followed the answer when it did not go as asked (Verify or the start failed).
    #[serde(default)]
    pub note: Option<String>,
    /// The new consent link made when the grant did not hold (one per answer).
    #[serde(default)]
    pub reconsent_url: Option<String>,
    /// Version for conditional writes.
    #[serde(default)]
    pub version: u64,
}

state::versioned!(ConsentRequest);

impl Record for ConsentRequest {
    const ENTITY: &'static str = "consent_request";

    fn key(&self) -> Key {
        Key::consent(&self.nonce)
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        Some(self.link_expires_at + KEPT_AFTER_EXPIRY)
    }
}

impl ConsentRequest {
    /// The request behind `state`'s link for `services`, made at `now`: with the operator's
    /// provisioning `request`, started after the grant when `provision`, or only a grant.
    pub fn new(
        state: &ConsentState,
        services: Vec<Service>,
        request: Option<Value>,
        provision: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            nonce: state.nonce,
            tenant_id: state.tenant_id,
            services,
            provision: provision && request.is_some(),
            request,
            created_at: now,
            link_expires_at: state.expires_at,
            outcome: None,
            verified: None,
            task_id: None,
            note: None,
            reconsent_url: None,
            version: 0,
        }
    }

    /// Whether this is a grant whose follow-up is not done: Verify did not succeed or saw the
    /// grant incomplete, or the provisioning asked for has not started.
    pub fn follow_up_pending(&self) -> bool {
        matches!(self.outcome, Some(ConsentOutcome::Granted { .. }))
            && self.task_id.is_none()
            && (self.provision || self.verified.as_ref().is_none_or(|c| !c.grant_holds()))
    }

    /// Records `answer` to `state`'s link, once: a link answered before (or at the same moment)
    /// is [`OnboardingError::StateReplayed`], and a grant naming another tenant than the link's
    /// is [`OnboardingError::OtherTenant`]; neither changes anything.
    pub async fn answer(
        store: &Store,
        state: &ConsentState,
        answer: &ConsentAnswer,
        now: DateTime<Utc>,
    ) -> Result<Self, OnboardingError> {
        let mut request: Self = store
            .get(&Key::consent(&state.nonce))
            .await?
            .filter(|r: &Self| r.tenant_id == state.tenant_id)
            .ok_or(OnboardingError::UnknownRequest)?;
        if let Some(outcome) = &request.outcome {
            return Err(OnboardingError::StateReplayed {
                answered_at: outcome.at(),
            });
        }
        request.outcome = Some(match answer {
            ConsentAnswer::Granted { tenant, .. } => {
                if !tenant.eq_ignore_ascii_case(&state.tenant_id.to_string()) {
                    return Err(OnboardingError::OtherTenant {
                        expected: state.tenant_id.to_string(),
                        answered: tenant.clone(),
                    });
                }
                ConsentOutcome::Granted { at: now }
            }
            ConsentAnswer::Refused { error, description } => ConsentOutcome::Refused {
                at: now,
                error: error.clone(),
                description: description.clone(),
            },
        });
        match store.update(&mut request).await {
            Ok(()) => Ok(request),
            // Answered at the same moment by another request: its time is the recorded one.
            Err(StoreError::Conflict { .. }) => {
                let recorded: Option<Self> = store.get(&Key::consent(&state.nonce)).await?;
                let answered_at = recorded.and_then(|r| r.outcome.map(|o| o.at())).unwrap_or(now);
                Err(OnboardingError::StateReplayed { answered_at })
            }
            Err(err) => Err(err.into()),
        }
    }
}
