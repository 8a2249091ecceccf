//! Onboarding through Entra's admin-consent flow as Microsoft documents it ("Admin consent on
//! the Microsoft identity platform"; m365-sim serves the page and its answers the same way):
//! the link for a tenant named by its domain, the admin's answer at the redirect URI, recorded
//! once, and believed only as far as the sealed state says. (Cancel, a non-admin, and tampered,
//! expired and forged states are tested over HTTP through `onboard`: `functions::onboard`.)

use std::collections::HashMap;

use chrono::Utc;
use integration_tests::{browser::Browser, lab::TestStack};
use lifecycle::onboarding::{
    ConsentAnswer, ConsentOutcome, ConsentRequest, ConsentState, OnboardingError, admin_consent_url,
};
use m365_sim::{SimConfig, Simulator, TenantSpec};
use microsoft::identity::IdentityClient;
use model::{cloud::Cloud, policy::DomainName, retry::RetryPolicy, tenant::TenantId};
use serde_json::json;
use state::{seal::MacKey, store::Key};

const REDIRECT: &str = "https://vendor.example/consent/callback";

struct World {
    aws: TestStack,
    sim: Simulator,
    key: MacKey,
    tenant: TenantId,
}

async fn world() -> World {
    let aws = TestStack::new().await;
    let key = aws.new_mac_key().await;
    let sim = Simulator::start(SimConfig {
        redirect_uris: vec![REDIRECT.to_owned()],
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    sim.create_tenant(&TenantSpec {
        domains: vec!["contoso.com".into()],
        consented: Some(false),
        ..Default::default()
    })
    .expect("tenant");
    // The operator names the tenant by its domain; Entra's discovery document gives its id.
    let identity = IdentityClient::new(microsoft::http::loopback_client(), RetryPolicy::default());
    let domain: DomainName = "contoso.com".parse().expect("domain");
    let tenant = identity
        .tenant_of(&sim.base_url(), &domain)
        .await
        .expect("the tenant");
    World {
        aws,
        sim,
        key,
        tenant,
    }
}

impl World {
    /// A consent link with its request recorded: the state and the URL.
    async fn link(&self) -> (ConsentState, String) {
        let state = ConsentState::new(self.tenant, Cloud::Commercial, Utc::now());
        let sealed = state.seal(&self.key).await.expect("sealed");
        let request = json!({"tenant_id": self.tenant.to_string(), "site": "eu"});
        let services = vec![model::service::Service::ExchangeOnline];
        let mut record = ConsentRequest::new(&state, services, Some(request), true, Utc::now());
        self.aws.store.create(&mut record).await.expect("the request");
        let url = admin_consent_url(
            &self.sim.base_url(),
            Cloud::Commercial,
            self.tenant,
            self.sim.client_id(),
            REDIRECT,
            &sealed,
        );
        (state, url)
    }

    /// The admin opens `url` and presses `button` on the consent page: the redirect's query.
    async fn consent(&self, url: &str, button: &str) -> HashMap<String, String> {
        let location = Browser::default().consent(url, None, button).await;
        let (target, query) = location.split_once('?').expect("a query");
        assert_eq!(target, REDIRECT);
        form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }

    /// The redirect's `query` as the callback reads it: our sealed state, and the answer.
    async fn read(&self, query: &HashMap<String, String>) -> (ConsentState, ConsentAnswer) {
        let opened = ConsentState::open(&self.key, &query["state"], Utc::now())
            .await
            .expect("our state");
        (opened, ConsentAnswer::parse(query).expect("a documented answer"))
    }

    async fn recorded(&self, state: &ConsentState) -> ConsentRequest {
        self.aws
            .store
            .get(&Key::consent(&state.nonce))
            .await
            .expect("read")
            .expect("recorded")
    }
}

#[tokio::test]
async fn an_admins_grant_is_recorded_once_and_a_replay_or_another_tenant_changes_nothing() {
    let w = world().await;
    let (state, url) = w.link().await;
    let query = w.consent(&url, "accept").await;
    let (opened, answer) = w.read(&query).await;
    assert_eq!(opened, state);
    let recorded = ConsentRequest::answer(&w.aws.store, &opened, &answer, Utc::now())
        .await
        .expect("recorded");
    assert!(
        matches!(recorded.outcome, Some(ConsentOutcome::Granted { .. })),
        "{recorded:?}"
    );
    assert!(recorded.provision);

    let again = ConsentRequest::answer(&w.aws.store, &opened, &answer, Utc::now()).await;
    assert!(
        matches!(again, Err(OnboardingError::StateReplayed { .. })),
        "{again:?}"
    );
    assert_eq!(w.recorded(&state).await, recorded, "a replay changes nothing");

    // A grant naming another tenant than the link's is not believed.
    let (other_state, _) = w.link().await;
    let elsewhere = ConsentAnswer::Granted {
        tenant: "00000000-0000-4000-8000-000000000001".to_owned(),
        scope: "https://graph.microsoft.com/.default".to_owned(),
    };
    let refused = ConsentRequest::answer(&w.aws.store, &other_state, &elsewhere, Utc::now()).await;
    assert!(
        matches!(refused, Err(OnboardingError::OtherTenant { .. })),
        "{refused:?}"
    );
    assert_eq!(w.recorded(&other_state).await.outcome, None);
}
