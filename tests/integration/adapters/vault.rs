//! The token vault against Secrets Manager on moto.

use chrono::{Duration, Utc};
use integration_tests::{
    capture::Capture,
    lab::{TestStack, tenant_id},
};
use microsoft::identity::{AccessToken, AppCredential, Resource};
use model::{sites::Site, tenant::TenantId};
use secrecy::{ExposeSecret, SecretString};
use state::vault::{TenantTokens, Vault, VaultError};

/// Token-like values minted per test run, so no real-looking secret is committed.
fn minted(label: &str) -> String {
    format!(
        "{label}.{}.{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn tokens(graph: &str, exchange: &str, refresh: Option<&str>) -> TenantTokens {
    let expires = Utc::now() + Duration::minutes(75);
    TenantTokens {
        graph: Some(AccessToken::new(SecretString::from(graph.to_owned()), expires)),
        exchange: Some(AccessToken::new(SecretString::from(exchange.to_owned()), expires)),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
    }
}

/// The Graph token stored for `tenant` (the secret must exist).
async fn stored_graph_token(vault: &Vault, tenant: TenantId) -> String {
    let stored = vault
        .read_tokens(tenant)
        .await
        .expect("read")
        .expect("the secret exists");
    let graph = stored.tokens.access(Resource::Graph).expect("a graph token");
    graph.token.expose_secret().to_owned()
}

#[tokio::test]
async fn tokens_round_trip_create_then_put_with_tags_and_expiry() {
    let TestStack { vault, sdk, .. } = TestStack::new().await;
    let tenant = tenant_id();
    assert!(
        vault.read_tokens(tenant).await.expect("read").is_none(),
        "no secret yet"
    );

    let (graph, exchange, refresh) = (minted("graph"), minted("exchange"), minted("refresh"));
    let first = vault
        .write_tokens(tenant, Site::Jp, &tokens(&graph, &exchange, Some(&refresh)), None)
        .await
        .expect("create");
    let stored = vault
        .read_tokens(tenant)
        .await
        .expect("read")
        .expect("secret exists");
    assert_eq!(stored.version_id, first);
    let read_graph = stored.tokens.access(Resource::Graph).expect("graph token");
    assert_eq!(read_graph.token.expose_secret(), graph);
    assert!(read_graph.lasts(Utc::now(), Duration::minutes(60)));
    assert!(!read_graph.lasts(Utc::now(), Duration::minutes(80)));
    assert_eq!(
        stored
            .tokens
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        Some(refresh)
    );

    // The second write puts a new version of the same secret.
    let newer = minted("graph2");
    let second = vault
        .write_tokens(tenant, Site::Jp, &tokens(&newer, &exchange, None), Some(&first))
        .await
        .expect("put");
    assert_ne!(first, second);
    assert_eq!(stored_graph_token(&vault, tenant).await, newer, "exists");
    let stored = vault.read_tokens(tenant).await.expect("read").expect("exists");
    assert!(
        stored.tokens.refresh_token.is_none(),
        "the newer version has none"
    );

    let described = aws_sdk_secretsmanager::Client::new(&sdk)
        .describe_secret()
        .secret_id(vault.tenant_secret_name(tenant))
        .send()
        .await
        .expect("describe");
    let tags: Vec<_> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert!(
        tags.contains(&("tenant", tenant.to_string().as_str())),
        "{tags:?}"
    );
    assert!(tags.contains(&("site", "jp")), "{tags:?}");
    assert!(
        vault
            .tenant_secret_name(tenant)
            .ends_with(&format!("/tenants/{tenant}"))
    );
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_reads_as_absent_until_restored() {
    let TestStack { vault, .. } = TestStack::new().await;
    let tenant = tenant_id();
    vault
        .write_tokens(tenant, Site::Eu, &tokens(&minted("g"), &minted("x"), None), None)
        .await
        .expect("create");
    vault
        .schedule_deletion(tenant, 7)
        .await
        .expect("schedule deletion");
    vault
        .schedule_deletion(tenant, 7)
        .await
        .expect("scheduling twice is harmless");
    assert!(vault.read_tokens(tenant).await.expect("read").is_none());
    vault
        .schedule_deletion(tenant_id(), 7)
        .await
        .expect("deleting a missing secret is harmless");

    vault.restore(tenant).await.expect("restore");
    vault
        .restore(tenant)
        .await
        .expect("restoring a live secret is harmless");
    vault
        .restore(tenant_id())
        .await
        .expect("restoring a missing secret is harmless");
    assert!(
        vault.read_tokens(tenant).await.expect("read").is_some(),
        "restored"
    );
    let graph = minted("again");
    vault
        .write_tokens(tenant, Site::Eu, &tokens(&graph, &minted("x"), None), None)
        .await
        .expect("put after restore");
    assert_eq!(stored_graph_token(&vault, tenant).await, graph, "restored");
}

fn fixture(name: &str) -> String {
    let path = format!("{}/../m365-sim/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect(&path)
}

/// Reads the app credentials of a stack of `kind` whose secret is `json`.
async fn read_app(
    kind: &str,
    json: &serde_json::Value,
) -> Result<microsoft::identity::AppCredentials, VaultError> {
    let test = TestStack::with_app_credentials(kind, Some(json.to_string())).await;
    test.vault.app_credentials(model::cloud::Cloud::Commercial).await
}

/// Each `AppCredentialKind` takes its own document and refuses the others' (a client secret
/// only where the deployment asked for one), with errors naming fields, never values.
#[tokio::test]
async fn app_credentials_of_each_kind_and_clear_errors_without_values() {
    let client_id = uuid::Uuid::new_v4().to_string();
    let secret = minted("client-secret");
    let with_secret = serde_json::json!({"client_id": client_id, "client_secret": secret});
    let credentials = read_app("client-secret", &with_secret).await.expect("read");
    assert_eq!(credentials.client_id, client_id);
    assert!(matches!(&credentials.credential, AppCredential::ClientSecret(s) if s.expose_secret() == secret));
    assert!(
        !format!("{credentials:?}").contains(&secret),
        "Debug must not show the client secret"
    );

    let key = fixture("app-key.pem");
    let with_key =
        serde_json::json!({"client_id": client_id, "private_key_pem": key, "certificate_pem": "CERT"});
    let credentials = read_app("certificate", &with_key).await.expect("read");
    assert!(
        matches!(&credentials.credential, AppCredential::Certificate { certificate_pem, .. } if certificate_pem == "CERT")
    );
    let key_line = key.lines().nth(5).expect("a line of the key");
    assert!(!format!("{credentials:?}").contains(key_line));

    let with_certificate = serde_json::json!({"client_id": client_id, "certificate_pem": "CERT"});
    let credentials = read_app("kms-certificate", &with_certificate)
        .await
        .expect("read");
    assert!(
        format!("{credentials:?}").contains("KmsKey"),
        "the stack's KMS key signs: {credentials:?}"
    );

    let missing = TestStack::new().await;
    let err = missing
        .vault
        .app_credentials(model::cloud::Cloud::Commercial)
        .await
        .expect_err("no app secret");
    assert!(matches!(err, VaultError::AppSecretMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("APP_SECRET_ID"), "{err}");

    let bad_cases = [
        (
            "client-secret",
            serde_json::json!({"client_id": "not-a-guid", "client_secret": secret}),
            "client_id",
        ),
        (
            "client-secret",
            serde_json::json!({"client_id": client_id}),
            "`client_secret` only",
        ),
        (
            "client-secret",
            serde_json::json!({"client_id": client_id, "client_secret": 42, "x": secret}),
            "field",
        ),
        ("client-secret", with_key.clone(), "`client_secret` only"),
        // The default refuses a client secret, and a private key it would hold in memory.
        ("kms-certificate", with_secret.clone(), "is kms-certificate"),
        ("kms-certificate", with_key.clone(), "no private key"),
        (
            "certificate",
            with_secret.clone(),
            "`private_key_pem` with `certificate_pem`",
        ),
        (
            "certificate",
            serde_json::json!({"client_id": client_id, "private_key_pem": secret}),
            "`certificate_pem`",
        ),
        (
            "certificate",
            serde_json::json!({"client_id": client_id, "private_key_pem": secret, "certificate_pem": "C"}),
            "not a PEM RSA private key",
        ),
        (
            "certificate",
            serde_json::json!({"client_id": client_id, "client_secret": secret, "private_key_pem": key, "certificate_pem": "C"}),
            "no `client_secret`",
        ),
    ];
    for (kind, json, expected) in bad_cases {
        let err = read_app(kind, &json).await.expect_err("malformed");
        let message = err.to_string();
        assert!(matches!(err, VaultError::Malformed { .. }), "{message}");
        assert!(
            message.contains(expected),
            "{kind}: {message:?} should mention {expected:?}"
        );
        assert!(
            !message.contains(&secret) && !message.contains(key_line),
            "the error must not echo the secret: {message}"
        );
    }
    let not_json =
        TestStack::with_app_credentials("client-secret", Some(format!("{{\"client_secret\": \"{secret}")))
            .await;
    let message = not_json
        .vault
        .app_credentials(model::cloud::Cloud::Commercial)
        .await
        .expect_err("not json")
        .to_string();
    assert!(
        message.contains("not valid JSON") && !message.contains(&secret),
        "{message}"
    );
}

#[tokio::test]
async fn no_token_or_secret_reaches_debug_output_or_trace_logs() {
    let capture = Capture::global();
    let start = capture.mark();

    let client_id = uuid::Uuid::new_v4().to_string();
    let client_secret = minted("client-secret");
    let json = serde_json::json!({"client_id": client_id, "client_secret": client_secret}).to_string();
    let TestStack { vault, .. } = TestStack::with_app_credentials("client-secret", Some(json)).await;
    let tenant = tenant_id();
    let (graph, exchange, refresh) = (minted("graph"), minted("exchange"), minted("refresh"));
    let written = tokens(&graph, &exchange, Some(&refresh));
    vault
        .write_tokens(tenant, Site::Sg, &written, None)
        .await
        .expect("create");
    let current = vault
        .read_tokens(tenant)
        .await
        .expect("read")
        .expect("exists")
        .version_id;
    vault
        .write_tokens(tenant, Site::Sg, &written, Some(&current))
        .await
        .expect("put");
    let stored = vault.read_tokens(tenant).await.expect("read").expect("exists");
    let credentials = vault
        .app_credentials(model::cloud::Cloud::Commercial)
        .await
        .expect("app credentials");
    // What a careless handler might log: the values themselves, through Debug.
    tracing::info!(?stored, ?credentials, ?written, "vault values");
    let debug = format!("{stored:?} {credentials:?} {written:?}");

    let logs = capture.since(start);
    assert!(
        logs.lines().count() > 10,
        "the capture must see the SDK's trace lines:\n{logs}"
    );
    assert!(logs.contains("vault values"), "the capture must see our own line");
    for secret in [&graph, &exchange, &refresh, &client_secret] {
        assert!(
            !debug.contains(secret.as_str()),
            "Debug output leaks a secret: {debug}"
        );
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
        // Also no fragment long enough to be useful.
        let fragment = &secret[secret.len() - 20..];
        assert!(!logs.contains(fragment), "a secret fragment reached the logs");
    }
    assert!(debug.contains("REDACTED"), "{debug}");
}

#[tokio::test]
async fn with_a_refresh_token_only_the_writer_of_the_current_version_wins() {
    let TestStack { vault, .. } = TestStack::new().await;
    let tenant = tenant_id();
    // Fresh access tokens with `refresh`, written as read from `version`.
    let write = |refresh: String, version: Option<String>| {
        let vault = vault.clone();
        async move {
            let tokens = tokens(&minted("g"), &minted("x"), Some(&refresh));
            vault
                .write_tokens(tenant, Site::Us, &tokens, version.as_deref())
                .await
        }
    };
    let first = write(minted("rt1"), None).await.expect("create");
    let err = write(minted("rt0"), None)
        .await
        .expect_err("a second creator with a refresh token must not overwrite");
    assert!(matches!(err, VaultError::Conflict { .. }), "{err:?}");

    // Two writers read `first`; the first to write wins, the second gets a conflict.
    let newest = minted("rt2");
    write(newest.clone(), Some(first.clone())).await.expect("winner");
    let err = write(minted("rt3"), Some(first))
        .await
        .expect_err("the loser read an old version");
    assert!(matches!(err, VaultError::Conflict { .. }), "{err:?}");
    let stored = vault.read_tokens(tenant).await.expect("read").expect("exists");
    assert_eq!(
        stored
            .tokens
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        Some(newest)
    );
}

/// Each national cloud has its own app registration: a cloud without one is an error naming its
/// variable, never the commercial credential; one that has it reads its own secret.
#[tokio::test]
async fn app_credentials_are_per_cloud() {
    use model::cloud::Cloud;
    let commercial =
        serde_json::json!({"client_id": uuid::Uuid::new_v4().to_string(), "client_secret": minted("c")});
    let test = TestStack::with_app_credentials("client-secret", Some(commercial.to_string())).await;
    let err = test
        .vault
        .app_credentials(Cloud::GccHigh)
        .await
        .expect_err("no GCC High registration");
    assert!(err.to_string().contains("APP_SECRET_ID_GCC_HIGH"), "{err}");
    assert!(!test.vault.has_app_credentials(Cloud::China));

    let gcc_client = uuid::Uuid::new_v4().to_string();
    let name = format!("{}-gcc-high-app", test.stack.table_name);
    aws_sdk_secretsmanager::Client::new(&test.sdk)
        .create_secret()
        .name(&name)
        .secret_string(serde_json::json!({"client_id": gcc_client, "client_secret": minted("g")}).to_string())
        .send()
        .await
        .expect("gcc secret");
    let mut env = test.stack.env.clone();
    env.insert("APP_SECRET_ID_GCC_HIGH".to_owned(), name);
    let vault = state::vault::Vault::from_source(&test.sdk, &env).expect("vault");
    assert!(vault.has_app_credentials(Cloud::GccHigh));
    let gcc = vault.app_credentials(Cloud::GccHigh).await.expect("read");
    assert_eq!(gcc.client_id, gcc_client);
    assert_ne!(
        vault
            .app_credentials(Cloud::Commercial)
            .await
            .expect("read")
            .client_id,
        gcc_client
    );
}
