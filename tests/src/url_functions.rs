//! The lab's functions that answer HTTP: `onboard` (its consent callback) and `api`, each on a
//! function URL on loopback, built as its `main` builds it.

use std::sync::Arc;

use lifecycle::{console::Console, onboarding::Onboarding};
use serde_json::json;

use crate::{
    function_url::{self, FunctionUrl},
    lab::{Lab, invoke},
};

impl Lab {
    /// `onboard` on a function URL, built as its `main` builds it, with its callback there and
    /// registered on the simulated app registration: the URL, and the services behind it.
    pub async fn onboard_url(&self) -> (FunctionUrl, Arc<Onboarding>) {
        let (listener, base) = function_url::bind().await;
        let redirect = format!("{base}/consent/callback");
        self.sim.register_redirect_uri(&redirect);
        let mut env = self.env_of_function("onboard");
        env.insert("CONSENT_REDIRECT_URI".to_owned(), redirect);
        let onboarding =
            Arc::new(Onboarding::from_source(&self.aws.sdk, &env).expect("the lab configures onboard"));
        let services = onboarding.clone();
        let url = FunctionUrl::serve(
            listener,
            Arc::new(move |event| {
                let services = services.clone();
                Box::pin(async move {
                    invoke(onboard::handler, &*services, event)
                        .await
                        .unwrap_or_else(|err| json!({"statusCode": 502, "body": err.error_message}))
                })
            }),
        );
        (url, onboarding)
    }

    /// `api` on a function URL, built as its `main` builds it, calling AWS under `access_key`
    /// (so moto's record shows what the console called): the URL, and the services behind it.
    pub async fn api_url(&self, access_key: &str) -> (FunctionUrl, Arc<Console>) {
        self.api_url_in(access_key, self.env_of_function("api")).await
    }

    /// The operator's portal: `api` on a function URL whose consent links come back to
    /// `onboard`'s callback on its own function URL, as a deployed stack wires them. The API's
    /// URL, then onboard's.
    pub async fn portal(&self) -> (FunctionUrl, FunctionUrl) {
        let (onboard, _) = self.onboard_url().await;
        let mut env = self.env_of_function("api");
        env.insert(
            "CONSENT_REDIRECT_URI".to_owned(),
            format!("{}/consent/callback", onboard.base),
        );
        let (api, _) = self.api_url_in("api-portal", env).await;
        (api, onboard)
    }

    async fn api_url_in(
        &self,
        access_key: &str,
        env: std::collections::BTreeMap<String, String>,
    ) -> (FunctionUrl, Arc<Console>) {
        let (listener, _) = function_url::bind().await;
        let sdk = crate::aws::as_key(&self.aws.sdk, access_key);
        let console = Arc::new(Console::from_source(&sdk, &env).expect("the lab configures api"));
        let services = console.clone();
        let url = FunctionUrl::serve(
            listener,
            Arc::new(move |event| {
                let services = services.clone();
                Box::pin(async move {
                    invoke(api::handler, &*services, event)
                        .await
                        .unwrap_or_else(|err| json!({"statusCode": 502, "body": err.error_message}))
                })
            }),
        );
        (url, console)
    }
}
