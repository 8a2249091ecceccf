//! Onboarding a tenant that has never seen the vendor's app: the admin-consent link with a
//! sealed, expiring, single-use `state`, and the reading of Microsoft's answer to it.
//!
//! The operator's choices (site, cloud, services, policy targets, options, whether to provision
//! after) are kept in a [`ConsentRequest`] record under a random nonce; the link's `state` holds
//! only the nonce, the tenant, the cloud and the expiry, sealed with the deployment's HMAC key
//! in KMS ([`state::seal`]). Microsoft's answer is believed only as far as the sealed state
//! says: its `tenant` must be the one the link was made for, and the request is consumed once.

mod answer;
mod consent_state;
mod error;
mod link;
mod onboard;
mod page;
mod record;

pub use self::{
    answer::ConsentAnswer,
    consent_state::{ConsentState, LINK_LIFETIME},
    error::OnboardingError,
    link::admin_consent_url,
    onboard::{ConsentLink, Onboarding},
    page::Page,
    record::{ConsentOutcome, ConsentRequest},
};
