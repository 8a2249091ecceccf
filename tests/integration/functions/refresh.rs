//! The hourly token refresh against moto and m365-sim.

use chrono::Duration;
use integration_tests::{capture::Capture, lab::Lab};
use lifecycle::refresh::LastRefresh;
use microsoft::identity::{Grant, IdentityClient};
use model::{
    retry::RetryPolicy,
    sites::Site,
    tenant::{LifecycleState, TenantId},
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use state::vault::TenantTokens;

/// Tokens the simulator issues: two hours, so fresh ones outlive the next run.
fn long_tokens() -> m365_sim::SimConfig {
    m365_sim::SimConfig {
        token_lifetime_min_secs: 7200,
        token_lifetime_max_secs: 7200,
        ..Default::default()
    }
}

async fn version(lab: &Lab, tenant: TenantId) -> String {
    lab.stored_tokens(tenant).await.version_id
}

#[tokio::test]
async fn fresh_tokens_cost_no_token_request_and_no_write_and_due_ones_one_each() {
    let lab = Lab::with_sim(long_tokens()).await;
    let mut tenants = Vec::new();
    for site in [Site::Eu, Site::Us, Site::Jp, Site::Us] {
        tenants.push(lab.active_tenant(site, 2).await);
    }
    let first = lab.refresher().run(&json!({})).await.expect("first run");
    assert_eq!(
        (
            first.tenants,
            first.refreshed,
            first.token_requests,
            first.secret_writes
        ),
        (4, 4, 8, 4),
        "{first:?}"
    );

    // Every token outlives the next run plus the margin: nothing to do.
    lab.sim.reset_stats();
    let versions: Vec<String> = futures_versions(&lab, &tenants).await;
    let fresh = lab.refresher().run(&json!({})).await.expect("fresh run");
    assert_eq!(
        (fresh.skipped_fresh, fresh.token_requests, fresh.secret_writes),
        (4, 0, 0),
        "{fresh:?}"
    );
    assert_eq!(token_requests_each(&lab, &tenants), [0; 4], "no token request");
    assert_eq!(
        futures_versions(&lab, &tenants).await,
        versions,
        "no secret written"
    );

    // Two hours later (the simulator's clock, and our tokens as they would look): every token
    // is due, once.
    lab.sim.advance_clock(7200.0);
    for tenant in &tenants {
        age_tokens(&lab, *tenant, Duration::hours(2)).await;
    }
    let due = lab.refresher().run(&json!({})).await.expect("due run");
    assert_eq!(
        (due.refreshed, due.token_requests, due.secret_writes),
        (4, 8, 4),
        "{due:?}"
    );
    assert_eq!(token_requests_each(&lab, &tenants), [2; 4], "one per resource");
    // The new tokens work against the simulator's advanced clock.
    let view = lab
        .provision(json!({"tenant_id": tenants[0].to_string(), "site": "eu", "options": {"dry_run": true}}))
        .await;
    assert!(view.is_ok());
}

/// Token requests the simulator saw from each of `tenants`, in order.
fn token_requests_each(lab: &Lab, tenants: &[TenantId]) -> Vec<u64> {
    tenants.iter().map(|t| lab.counts(*t).token.requests).collect()
}

/// Rewrites the tenant's access tokens as if minted `ago` (their lifetime unchanged).
async fn age_tokens(lab: &Lab, tenant: TenantId, ago: Duration) {
    let mut stored = lab.stored_tokens(tenant).await;
    for token in [&mut stored.tokens.graph, &mut stored.tokens.exchange]
        .into_iter()
        .flatten()
    {
        token.expires_at -= ago;
        token.issued_at = token.issued_at.map(|at| at - ago);
    }
    lab.aws
        .vault
        .write_tokens(tenant, Site::Eu, &stored.tokens, Some(&stored.version_id))
        .await
        .expect("aged");
}

async fn futures_versions(lab: &Lab, tenants: &[TenantId]) -> Vec<String> {
    let mut versions = Vec::new();
    for tenant in tenants {
        versions.push(version(lab, *tenant).await);
    }
    versions
}

/// Stores a delegated grant's first refresh token for `tenant`, as an admin sign-in would.
async fn delegated(lab: &Lab, tenant: TenantId) -> String {
    let refresh = lab
        .sim
        .mint_refresh_token(&tenant.to_string(), None)
        .expect("refresh token");
    let tokens = TenantTokens {
        refresh_token: Some(SecretString::from(refresh.clone())),
        ..TenantTokens::default()
    };
    lab.aws
        .vault
        .write_tokens(tenant, Site::Eu, &tokens, None)
        .await
        .expect("store grant");
    refresh
}

/// Redeems `refresh` at the simulator; the error text if refused.
async fn redeem(lab: &Lab, tenant: TenantId, refresh: &str) -> Result<(), String> {
    let identity = IdentityClient::new(microsoft::http::loopback_client(), RetryPolicy::quick());
    let app = lab
        .aws
        .vault
        .app_credentials(model::cloud::Cloud::Commercial)
        .await
        .expect("app");
    let token = SecretString::from(refresh.to_owned());
    identity
        .token(
            &lab.sim.base_url(),
            tenant,
            "https://graph.microsoft.com/.default",
            &app,
            Grant::RefreshToken(&token),
        )
        .await
        .map(drop)
        .map_err(|err| err.to_string())
}

fn stored_refresh(tokens: &TenantTokens) -> String {
    tokens
        .refresh_token
        .as_ref()
        .map(|t| t.expose_secret().to_owned())
        .expect("refresh token stored")
}

#[tokio::test]
async fn the_rotated_refresh_token_is_persisted_and_the_old_one_is_dead() {
    let lab = Lab::start().await;
    let tenant = lab.active_tenant(Site::Eu, 2).await;
    let first = delegated(&lab, tenant).await;
    let report = lab.refresher().run(&json!({"force": true})).await.expect("run");
    assert_eq!(
        (report.refreshed, report.token_requests, report.secret_writes),
        (1, 2, 1),
        "{report:?}"
    );
    let stored = lab.stored_tokens(tenant).await;
    let newest = stored_refresh(&stored.tokens);
    assert_ne!(newest, first, "rotated");
    let refused = redeem(&lab, tenant, &first)
        .await
        .expect_err("the redeemed token is dead");
    assert!(refused.contains("invalid_grant"), "{refused}");
    redeem(&lab, tenant, &newest).await.expect("the stored one works");
}

#[tokio::test]
async fn two_refresh_runs_at_once_keep_the_newest_refresh_token() {
    let lab = Lab::start().await;
    let mut tenants = Vec::new();
    for _ in 0..3 {
        let tenant = lab.active_tenant(Site::Uk, 2).await;
        delegated(&lab, tenant).await;
        tenants.push(tenant);
    }
    let (a, b) = (lab.refresher(), lab.refresher());
    let force = json!({"force": true});
    let (ra, rb) = tokio::join!(a.run(&force), b.run(&force));
    let (ra, rb) = (ra.expect("run a"), rb.expect("run b"));
    assert!(ra.failed.is_empty() && rb.failed.is_empty(), "{ra:?} {rb:?}");
    let issued = lab.sim.issued_tokens();
    for tenant in tenants {
        let stored = stored_refresh(&lab.stored_tokens(tenant).await.tokens);
        let newest = newest_refresh_token(&issued, tenant);
        assert_eq!(stored, newest, "the stored refresh token is the newest issued");
        redeem(&lab, tenant, &stored).await.expect("and it works");
    }
}

fn newest_refresh_token(issued: &Value, tenant: TenantId) -> String {
    let mut refresh: Vec<&Value> = issued["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter(|t| t["kind"] == "refresh" && t["tenant_id"] == tenant.to_string())
        .collect();
    refresh.sort_by_key(|t| t["issued_at"].to_string());
    refresh
        .last()
        .and_then(|t| t["token"].as_str())
        .expect("a refresh token")
        .to_owned()
}

#[tokio::test]
async fn revoked_consent_moves_the_tenant_to_needs_reconsent_and_out_of_the_sync() {
    let lab = Lab::start().await;
    let kept = lab.active_tenant(Site::Ca, 2).await;
    let revoked = lab.active_tenant(Site::Ca, 2).await;
    lab.sim.revoke_consent(&revoked.to_string()).expect("revoke");
    let report = lab.refresher().run(&json!({})).await.expect("run");
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(report.needs_reconsent.len(), 1, "{report:?}");
    let reconsent = &report.needs_reconsent[0];
    assert_eq!((reconsent.tenant_id, reconsent.aadsts), (revoked, Some(65001)));
    assert!(reconsent.reason.contains("admin consent"), "{}", reconsent.reason);
    // The scheduler drops what the run answers: the report is kept, for operators.
    let last = || async {
        lab.aws
            .store
            .get::<LastRefresh>(&LastRefresh::key_of())
            .await
            .expect("read")
            .expect("the last run's report")
    };
    assert_eq!(last().await.report, report);
    let record = lab.record(revoked).await;
    assert_eq!(record.state, LifecycleState::NeedsReconsent);
    assert!(record.attention.is_some_and(|a| a.contains("AADSTS65001")));
    // The daily sync reads the site index: the tenant has left it; the refresh skips it too.
    let active: Vec<TenantId> = lab
        .aws
        .store
        .active_tenants(Site::Ca)
        .await
        .expect("index")
        .into_iter()
        .map(|t| t.tenant_id)
        .collect();
    assert_eq!(active, [kept]);
    let next = lab.refresher().run(&json!({})).await.expect("next run");
    assert_eq!(next.tenants, 1);
    let replaced = last().await;
    assert_eq!(replaced.report, next);
    assert!(replaced.report.needs_reconsent.is_empty());
}

#[tokio::test]
async fn entra_throttling_and_outages_are_ridden_out_and_nothing_is_lost() {
    let lab = Lab::start().await;
    let mut tenants = Vec::new();
    for _ in 0..6 {
        tenants.push(lab.active_tenant(Site::Sg, 2).await);
    }
    lab.fault(json!({"surface": "token", "status": 429, "retry_after": 0.2, "count": 4}));
    lab.fault(json!({"surface": "token", "status": 503, "count": 4}));
    let report = lab.refresher().run(&json!({})).await.expect("run");
    assert_eq!(
        report.refreshed + report.failed.len(),
        6,
        "every tenant accounted for: {report:?}"
    );
    assert_eq!(report.refreshed, 6, "{report:?}");
    for tenant in tenants {
        assert!(lab.aws.vault.read_tokens(tenant).await.expect("read").is_some());
    }
}

#[tokio::test]
async fn no_issued_token_or_client_secret_reaches_the_trace_logs() {
    let capture = Capture::global();
    let start = capture.mark();
    let lab = Lab::start().await;
    let tenant = lab.active_tenant(Site::Us, 2).await;
    delegated(&lab, tenant).await;
    lab.active_tenant(Site::Us, 2).await;
    let report = lab.refresher().run(&json!({"force": true})).await.expect("run");
    tracing::info!(?report, "report");
    let logs = capture.since(start);
    assert!(
        logs.contains("token refresh finished"),
        "the capture sees the run: {} lines, report line {}, first: {:?}",
        logs.lines().count(),
        logs.contains("\"report\""),
        logs.lines().take(3).collect::<Vec<_>>()
    );
    let issued = lab.sim.issued_tokens();
    let secrets: Vec<String> = issued["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|t| t["token"].as_str().map(str::to_owned))
        .chain([lab.sim.client_secret().to_owned()])
        .collect();
    assert!(secrets.len() >= 5, "{secrets:?}");
    for secret in secrets {
        assert!(
            !logs.contains(&secret),
            "an issued token or the client secret reached the logs"
        );
    }
}

#[tokio::test]
async fn the_handler_takes_scheduler_payloads_and_refuses_a_bad_force() {
    let lab = Lab::start().await;
    lab.active_tenant(Site::In, 2).await;
    let refresher = lab.refresher();
    let call = |payload: Value| {
        let event = lambda_runtime::LambdaEvent::new(payload, integration_tests::lab::lambda_context());
        token_refresh::handler(&refresher, event)
    };
    let envelope = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"});
    assert_eq!(call(envelope).await.expect("scheduler envelope").tenants, 1);
    let err = call(json!({"force": "yes"})).await.expect_err("bad force");
    assert_eq!(err.error_type, "InvalidInput");
    assert!(err.error_message.contains("`force`"), "{}", err.error_message);
}
