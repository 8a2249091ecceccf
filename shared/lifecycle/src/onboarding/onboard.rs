//! The `onboard` function's services and its three doors: a consent link for a tenant named by
//! its id or a domain, the consent callback (Microsoft's answer, recorded once, then Verify and
//! the provisioning the operator asked for), and Verify any time.

use std::collections::HashMap;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use microsoft::identity::IdentityClient;
use model::{
    cloud::Cloud,
    config::{ConfigError, ProcessEnv, Source, optional},
    event::{self, EventError},
    permissions::redirect_uri_is_allowed,
    policy::DomainName,
    service::Service,
    tenant::{LifecycleState, TenantId},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use state::{
    seal::MacKey,
    store::{Key, StoreError},
};
use tracing::Instrument;

use super::{
    ConsentAnswer, ConsentOutcome, ConsentRequest, ConsentState, OnboardingError, Page, admin_consent_url,
};
use crate::{
    entry::{Admission, Invocation},
    provisioning::{ProvisionRequest, Provisioning},
    span,
    tasks::{Engine, TaskPlan},
    verify::{self, Checklist},
};

/// Where a tenant's `attention` gives the admin's consent link (what comes before is the reason).
const CONSENT_LINK: &str = "; the admin's consent link";

/// The `onboard` function's services.
pub struct Onboarding {
    /// The task engine (provisioning starts on it once the grant is verified).
    pub engine: Engine,
    /// What the deployment lets into provisioning.
    pub admission: Admission,
    /// The key that seals the links' state.
    pub key: MacKey,
    /// `CONSENT_REDIRECT_URI`: the callback's URL, registered on the app registration.
    pub redirect_uri: Option<String>,
    /// Reads Entra's discovery documents.
    discovery: IdentityClient,
}

/// A consent link for the tenant's admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentLink {
    /// The tenant it is for.
    pub tenant_id: TenantId,
    /// The admin-consent URL to send the tenant's admin.
    pub consent_url: String,
    /// Until when it can be answered.
    pub expires_at: DateTime<Utc>,
}

/// `{"tenant", "site", "services"?, "policy_targets"?, "options"?, "cloud"?, "provision"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    tenant: String,
    site: Value,
    #[serde(default)]
    cloud: Cloud,
    #[serde(default)]
    services: Option<Value>,
    #[serde(default)]
    policy_targets: Option<Value>,
    #[serde(default)]
    options: Option<Value>,
    provision: bool,
}

/// `{"verify": "<tenant_id>", "cloud"?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    verify: TenantId,
    #[serde(default)]
    cloud: Option<Cloud>,
}

impl Onboarding {
    /// Builds every service from `source` (README: Configuration) and the SDK configuration.
    pub fn from_source(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        let engine = Engine::opener(sdk, source)?;
        let redirect_uri = optional(source, "CONSENT_REDIRECT_URI");
        if let Some(uri) = redirect_uri.as_deref().filter(|u| !redirect_uri_is_allowed(u)) {
            return Err(ConfigError::Invalid {
                name: "CONSENT_REDIRECT_URI",
                reason: format!(
                    "{uri:?}: Entra ID takes https redirect URIs (http only for localhost); give the onboard function's URL followed by /consent/callback"
                ),
            });
        }
        Ok(Self {
            discovery: IdentityClient::new(engine.ms.http.clone(), engine.ms.retry),
            engine,
            admission: Admission::from_source(source)?,
            key: MacKey::consent_state(sdk, source)?,
            redirect_uri,
        })
    }

    /// Builds every service from the process environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = state::aws::sdk_config().await;
        Self::from_source(&sdk, &state::parameters::resolve(&sdk, &ProcessEnv).await?)
    }

    /// A consent link for the tenant the event names (by id or any of its domains), carrying the
    /// operator's choices, which are validated as provisioning validates them.
    pub async fn link(&self, event: Value) -> Result<ConsentLink, OnboardingError> {
        let asked: LinkRequest = event::from_value(event)?;
        let tenant_id = self.tenant_of(&asked.tenant, asked.cloud).await?;
        let mut request = json!({"tenant_id": tenant_id, "site": asked.site, "cloud": asked.cloud});
        for (field, value) in [
            ("services", asked.services),
            ("policy_targets", asked.policy_targets),
            ("options", asked.options),
        ] {
            if let Some(value) = value {
                request[field] = value;
            }
        }
        let request = Provisioning::parse(request)?;
        if request.options.dry_run {
            return Err(invalid("options.dry_run", "a consent link starts no dry run"));
        }
        let Invocation::Start(request) = self.admission.admit(Invocation::Start(Box::new(request)))? else {
            unreachable!("admission hands back what it admits")
        };
        self.new_link(
            tenant_id,
            asked.cloud,
            &request.services,
            Some(&request),
            asked.provision,
        )
        .await
    }

    /// Microsoft's answer at the redirect URI, as the admin's result page: recorded once, then
    /// Verify, then provisioning when the operator asked for it. A state that is not ours,
    /// expired or used before changes nothing and the page says why.
    pub async fn callback(&self, query: &HashMap<String, String>) -> Page {
        match self.answer(query).await {
            Ok(page) => page,
            Err(err) => {
                tracing::warn!(error = %err, error_type = err.error_type(), "consent answer refused");
                Page::refused(&err)
            }
        }
    }

    /// Verify on demand: the checklist; a tenant whose grant does not hold gets a re-consent
    /// link (when the deployment has its redirect URI), in the checklist and in its record's
    /// `attention`.
    pub async fn verify(&self, event: Value) -> Result<Checklist, OnboardingError> {
        let asked: VerifyRequest = event::from_value(event)?;
        let span = span::tenant(asked.verify);
        self.verify_asked(asked).instrument(span).await
    }

    /// [`Self::verify`] within the tenant's span.
    async fn verify_asked(&self, asked: VerifyRequest) -> Result<Checklist, OnboardingError> {
        let tenant = self.engine.store.tenant(asked.verify).await?;
        if let (Some(asked), Some(tenant)) = (asked.cloud, tenant.as_ref())
            && asked != tenant.cloud
        {
            return Err(invalid(
                "cloud",
                &format!(
                    "tenant {} is in the {} cloud; leave cloud out, or give that one",
                    tenant.tenant_id, tenant.cloud
                ),
            ));
        }
        let cloud = asked
            .cloud
            .or(tenant.as_ref().map(|t| t.cloud))
            .unwrap_or_default();
        let services = tenant
            .as_ref()
            .map_or_else(|| Service::ALL.to_vec(), |t| t.services.clone());
        let mut checklist = self.check(asked.verify, cloud, &services).await?;
        if checklist.grant_holds() || self.redirect_uri.is_none() {
            return Ok(checklist);
        }
        // The link only grants again; provisioning is the operator's to start.
        let link = self.new_link(asked.verify, cloud, &services, None, false).await?;
        checklist.point_to(&link.consent_url);
        if tenant.is_some() {
            let missing = checklist.missing().join(", ");
            self.attend(asked.verify, &missing, &link).await?;
        }
        Ok(checklist)
    }

    /// Puts `link` in the tenant's `attention`, after the reason already there, unless a task
    /// owns the tenant (it writes its own attention when it ends).
    async fn attend(
        &self,
        tenant: TenantId,
        missing: &str,
        link: &ConsentLink,
    ) -> Result<(), OnboardingError> {
        for _ in 0..3 {
            let Some(mut record) = self.engine.store.tenant(tenant).await? else {
                return Ok(());
            };
            if matches!(
                record.state,
                LifecycleState::Provisioning | LifecycleState::Deprovisioning
            ) {
                return Ok(());
            }
            let reason = record
                .attention
                .as_deref()
                .and_then(|a| a.split(CONSENT_LINK).next())
                .filter(|r| !r.is_empty())
                .map_or_else(|| format!("the app's grant lacks {missing}"), str::to_owned);
            record.attention = Some(format!(
                "{reason}{CONSENT_LINK} (until {}): {}",
                link.expires_at.to_rfc3339(),
                link.consent_url
            ));
            record.updated_at = Utc::now();
            match self.engine.store.update(&mut record).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    async fn answer(&self, query: &HashMap<String, String>) -> Result<Page, OnboardingError> {
        let sealed = query
            .get("state")
            .ok_or_else(|| OnboardingError::StateMalformed {
                reason: "the answer carries no state".to_owned(),
            })?;
        let now = Utc::now();
        let state = ConsentState::open(&self.key, sealed, now).await?;
        let answer = ConsentAnswer::parse(query)?;
        let request = match ConsentRequest::answer(&self.engine.store, &state, &answer, now).await {
            Ok(request) => request,
            // The same answer again (the admin reloads the page): a grant whose follow-up did not
            // finish (Verify failed or saw too little, the start failed, the process died) is
            // followed up again; anything else was done and is refused.
            Err(OnboardingError::StateReplayed { answered_at }) => {
                let recorded: Option<ConsentRequest> =
                    self.engine.store.get(&Key::consent(&state.nonce)).await?;
                match recorded.filter(ConsentRequest::follow_up_pending) {
                    Some(request) => request,
                    None => return Err(OnboardingError::StateReplayed { answered_at }),
                }
            }
            Err(err) => return Err(err),
        };
        let span = span::tenant(state.tenant_id);
        span.in_scope(|| tracing::info!(outcome = ?request.outcome, "consent answered"));
        if let Some(ConsentOutcome::Refused {
            error, description, ..
        }) = &request.outcome
        {
            return Ok(Page::declined(state.tenant_id, error, description));
        }
        Ok(self.after_grant(&state, request).instrument(span).await)
    }

    /// Verify, then the provisioning asked for; whatever fails from here is kept in the record's
    /// `note` and shown, never refused: the grant is recorded, and a reload follows it up again.
    async fn after_grant(&self, state: &ConsentState, mut request: ConsentRequest) -> Page {
        if let Err(err) = self.follow_up(state, &mut request).await {
            tracing::warn!(error = %err, error_type = err.error_type(), "consent follow-up failed");
            request.note = Some(format!(
                "Verify or the start of provisioning could not finish ({}); reload this page in a few minutes to try again",
                err.error_type()
            ));
        }
        if let Err(err) = self.engine.store.update(&mut request).await {
            tracing::warn!(error = %err, "the consent follow-up was not recorded; a reload picks it up");
        }
        Page::granted(
            state.tenant_id,
            request.verified.as_ref(),
            request.task_id,
            request.note.as_deref(),
        )
    }

    async fn follow_up(
        &self,
        state: &ConsentState,
        request: &mut ConsentRequest,
    ) -> Result<(), OnboardingError> {
        let provision: Option<ProvisionRequest> = request
            .request
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|err| OnboardingError::StateMalformed {
                reason: format!("the recorded request does not read: {err}"),
            })?;
        let services = match (&provision, request.services.is_empty()) {
            // Recorded before links named their services.
            (Some(provision), true) => provision.services.clone(),
            _ => request.services.clone(),
        };
        let mut checklist = self.check(state.tenant_id, state.cloud, &services).await?;
        request.note = None;
        if !checklist.grant_holds() {
            // One new link per answer, however often the page is reloaded.
            let link = match request.reconsent_url.clone() {
                Some(link) => link,
                None => {
                    self.new_link(
                        state.tenant_id,
                        state.cloud,
                        &services,
                        provision.as_ref(),
                        request.provision,
                    )
                    .await?
                    .consent_url
                }
            };
            checklist.point_to(&link);
            request.note = Some(format!(
                "the grant lacks {}: Entra ID can take a few minutes to put a new grant in tokens, so reload this page to verify again; if it stays missing, the admin consents with the new link",
                checklist.missing().join(", ")
            ));
            request.reconsent_url = Some(link);
            request.verified = Some(checklist);
            return Ok(());
        }
        request.verified = Some(checklist);
        if let Some(provision) = provision.filter(|_| request.provision) {
            // Admitted again: the deployment's gates may have changed since the link was made.
            let Invocation::Start(provision) =
                self.admission.admit(Invocation::Start(Box::new(provision)))?
            else {
                unreachable!("admission hands back what it admits")
            };
            request.task_id = Some(self.engine.start::<Provisioning>(&provision).await?);
        }
        Ok(())
    }

    async fn check(
        &self,
        tenant: TenantId,
        cloud: Cloud,
        services: &[Service],
    ) -> Result<Checklist, OnboardingError> {
        Ok(verify::verify(
            &self.engine.ms,
            &self.engine.vendor.names(),
            tenant,
            cloud,
            services,
        )
        .await?)
    }

    /// A new link to grant the permissions `services` need, carrying `request` (started after
    /// the grant when `provision`) or nothing more.
    async fn new_link(
        &self,
        tenant_id: TenantId,
        cloud: Cloud,
        services: &[Service],
        request: Option<&ProvisionRequest>,
        provision: bool,
    ) -> Result<ConsentLink, OnboardingError> {
        let redirect_uri = self
            .redirect_uri
            .as_deref()
            .ok_or(OnboardingError::NoRedirectUri)?;
        let app = self
            .engine
            .ms
            .tokens
            .app(cloud)
            .await
            .map_err(|err| OnboardingError::AppCredentials(Box::new(err.into())))?;
        let now = Utc::now();
        let state = ConsentState::new(tenant_id, cloud, now);
        let sealed = state.seal(&self.key).await?;
        let value = request
            .map(serde_json::to_value)
            .transpose()
            .map_err(|err| invalid("request", &err.to_string()))?;
        let mut record = ConsentRequest::new(&state, services.to_vec(), value, provision, now);
        self.engine.store.create(&mut record).await?;
        let login = self.engine.ms.overrides.apply(cloud).login;
        Ok(ConsentLink {
            tenant_id,
            consent_url: admin_consent_url(&login, cloud, tenant_id, &app.client_id, redirect_uri, &sealed),
            expires_at: state.expires_at,
        })
    }

    /// The tenant `named` names: its id, or the tenant one of its domains belongs to.
    async fn tenant_of(&self, named: &str, cloud: Cloud) -> Result<TenantId, OnboardingError> {
        if let Ok(id) = named.parse::<TenantId>() {
            return Ok(id);
        }
        let domain: DomainName = named.parse().map_err(|_| {
            invalid(
                "tenant",
                "neither a tenant id (a GUID) nor a domain name (e.g. contoso.com)",
            )
        })?;
        let login = self.engine.ms.overrides.apply(cloud).login;
        Ok(self.discovery.tenant_of(&login, &domain).await?)
    }
}

fn invalid(field: &str, reason: &str) -> OnboardingError {
    OnboardingError::Input(EventError::Invalid {
        field: field.to_owned(),
        reason: reason.to_owned(),
    })
}
