//! The Entra ID token endpoint: `POST /{tenant}/oauth2/v2.0/token`.

use std::{collections::HashMap, sync::Arc};

use axum::{
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use m365_sim_model::{
    catalog::{APP_DEFAULT_WID, EXCHANGE_MANAGE_AS_APP, GLOBAL_ADMIN_ROLE, Resource},
    faults::{FaultHit, Phase},
    state::{SimState, lock},
    stats::Surface,
    token::{AccessClaims, RefreshRecord, RefreshState, random_bytes},
};
use serde_json::{Value, json};

use crate::reply;

/// An error in Entra's token-endpoint shape.
#[derive(Debug, Clone)]
pub struct EntraError {
    /// HTTP status.
    pub status: u16,
    /// OAuth error (`invalid_client`, `invalid_grant`, ...).
    pub error: &'static str,
    /// AADSTS number.
    pub code: u32,
    /// Description after `AADSTSnnnn: `.
    pub description: String,
    /// Optional `suberror`.
    pub suberror: Option<&'static str>,
    /// Extra headers (Retry-After).
    pub headers: Vec<(String, String)>,
}

impl EntraError {
    fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
            suberror: None,
            headers: Vec::new(),
        }
    }

    /// Renders the documented JSON: error, error_description (with trace and correlation ids and
    /// a timestamp), error_codes, timestamp, trace_id, correlation_id, error_uri.
    pub fn into_response(self, now: DateTime<Utc>) -> Response {
        let trace = reply::request_id();
        let corr = reply::request_id();
        let ts = now.format("%Y-%m-%d %H:%M:%SZ").to_string();
        let mut body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
                self.code, self.description, trace, corr, ts
            ),
            "error_codes": [self.code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        if let Some(s) = self.suberror {
            body["suberror"] = json!(s);
        }
        reply::json(self.status, &body, &self.headers)
    }
}

fn missing(param: &str) -> EntraError {
    EntraError::new(
        400,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// The fault answer on the token surface.
fn fault_error(hit: &FaultHit, status: u16) -> EntraError {
    let mut e = match status {
        429 => EntraError::new(
            429,
            "temporarily_unavailable",
            90055,
            "There are too many incoming requests. Wait for the time given in Retry-After and try again.",
        ),
        503 => EntraError::new(
            503,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        ),
        s => EntraError::new(
            s,
            "server_error",
            90033,
            "An error occurred while processing the request (injected fault).",
        ),
    };
    if let Some(ra) = &hit.retry_after {
        e.headers.push(("Retry-After".into(), ra.clone()));
    }
    e
}

/// Handler of `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token(
    State(state): State<Arc<SimState>>,
    Path(tenant_key): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let tenant = state.tenant(&tenant_key);
    let tenant_label = tenant
        .as_ref()
        .map(|t| lock(t).id.clone())
        .unwrap_or_else(|| tenant_key.clone());
    state.stats.record(&tenant_label, Surface::Token, false);
    state
        .stats
        .round_trip(&tenant_label, Surface::Token, crate::reply::traced(&headers));
    let what = format!(
        "POST /{tenant_key}/oauth2/v2.0/token {}",
        params.get("grant_type").map(String::as_str).unwrap_or("")
    );
    let hit = state.faults.take(&tenant_label, Surface::Token, &what);
    if let Some(h) = &hit {
        if h.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(h.latency_ms)).await;
        }
        if let (Phase::Before, Some(s)) = (h.phase, h.status) {
            return fault_error(h, s).into_response(state.clock.now());
        }
    }
    let result = issue(&state, &tenant_key, &params);
    if let Some(h) = &hit
        && let (Phase::After, Some(s)) = (h.phase, h.status)
    {
        return fault_error(h, s).into_response(state.clock.now());
    }
    match result {
        Ok(v) => reply::json(200, &v, &[("Cache-Control".into(), "no-store, no-cache".into())]),
        Err(e) => e.into_response(state.clock.now()),
    }
}

/// Validates a token request and mints the token(s).
fn issue(state: &SimState, tenant_key: &str, p: &HashMap<String, String>) -> Result<Value, EntraError> {
    let grant = p.get("grant_type").ok_or_else(|| missing("grant_type"))?;
    let tenant_ref = state.tenant(tenant_key).ok_or_else(|| {
        EntraError::new(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    })?;
    if grant != "client_credentials" && grant != "refresh_token" {
        return Err(EntraError::new(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = p.get("client_id").ok_or_else(|| missing("client_id"))?;
    let cfg = &state.config;
    let mut t = lock(&tenant_ref);
    if !client_id.eq_ignore_ascii_case(&cfg.client_id) {
        return Err(EntraError::new(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                t.display_name
            ),
        ));
    }
    let mut names = vec![t.id.clone()];
    names.extend(t.domains.iter().map(|d| d.name.clone()));
    let appidacr = authenticate_client(state, p, client_id, &names)?;
    let scope = p.get("scope").ok_or_else(|| missing("scope"))?;
    let resource = parse_scope(scope, grant == "client_credentials", &t.display_name)?;
    let now = state.clock.now();
    if grant == "refresh_token" {
        return redeem_refresh(state, &mut t, p, client_id, resource, scope, appidacr, now);
    }
    if !t.consented {
        return Err(no_consent(client_id, &cfg.app_display_name));
    }
    let sp = t.our_sp(&cfg.client_id).map(|s| s.id).unwrap_or_default();
    let mut wids = vec![APP_DEFAULT_WID.to_owned()];
    wids.extend(t.directory_roles(sp));
    let claims = base_claims(state, &t.id, resource, appidacr, now, "app", sp.to_string());
    let claims = AccessClaims {
        roles: t.granted_roles(sp, resource),
        wids,
        ..claims
    };
    drop(t);
    let token = state.signer.sign(&claims);
    state.tokens.record_access(&token, &claims, "client_credentials");
    let ttl = claims.exp - claims.iat;
    Ok(json!({"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token}))
}

fn no_consent(client_id: &str, name: &str) -> EntraError {
    let mut e = EntraError::new(
        400,
        "invalid_grant",
        65001,
        format!(
            "The user or administrator has not consented to use the application with ID '{client_id}' named '{name}'. Send an interactive authorization request for this user and resource."
        ),
    );
    e.suberror = Some("consent_required");
    e
}

/// Checks the client secret or certificate assertion; returns `appidacr` ("1" or "2").
fn authenticate_client(
    state: &SimState,
    p: &HashMap<String, String>,
    client_id: &str,
    tenant_names: &[String],
) -> Result<&'static str, EntraError> {
    if let Some(assertion) = p.get("client_assertion") {
        if p.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(EntraError::new(
                400,
                "invalid_request",
                50027,
                "client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
            ));
        }
        let cert = state.certificate.as_ref().ok_or_else(|| {
            EntraError::new(
                401,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on application.",
            )
        })?;
        cert.verify(assertion, client_id, tenant_names)
            .map_err(|(code, msg)| EntraError::new(401, "invalid_client", code, msg))?;
        return Ok("2");
    }
    match p.get("client_secret") {
        Some(s) if *s == state.config.client_secret => Ok("1"),
        Some(_) => Err(EntraError::new(
            401,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )),
        None => Err(EntraError::new(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
    }
}

/// Accepts exactly one resource, given as a real resource URI (whatever URL the simulator has).
fn parse_scope(scope: &str, app_only: bool, tenant_name: &str) -> Result<Resource, EntraError> {
    let mut resources = Vec::new();
    for s in scope.split_whitespace() {
        if !app_only && matches!(s, "offline_access" | "openid" | "profile" | "email") {
            continue;
        }
        let (res, perm) = match s.rsplit_once('/') {
            Some((r, p)) if !r.is_empty() && r.contains("://") => (r, p),
            _ => {
                return Err(not_a_default_scope(s));
            }
        };
        if app_only && perm != ".default" {
            return Err(not_a_default_scope(s));
        }
        if !resources.contains(&res) {
            resources.push(res);
        }
    }
    match resources.as_slice() {
        [one] => Resource::from_uri(one).ok_or_else(|| {
            EntraError::new(
                400,
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {one} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
                ),
            )
        }),
        [] => Err(missing("scope")),
        _ => Err(EntraError::new(
            400,
            "invalid_scope",
            28000,
            format!(
                "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."
            ),
        )),
    }
}

fn base_claims(
    state: &SimState,
    tid: &str,
    resource: Resource,
    appidacr: &str,
    now: DateTime<Utc>,
    idtyp: &str,
    oid: String,
) -> AccessClaims {
    let cfg = &state.config;
    let span = cfg.token_lifetime_max_secs - cfg.token_lifetime_min_secs + 1;
    let r = u64::from_le_bytes(random_bytes::<8>());
    let ttl = cfg.token_lifetime_min_secs + r % span;
    let iat = now.timestamp();
    AccessClaims {
        aud: resource.uri().to_owned(),
        iss: format!("https://sts.windows.net/{tid}/"),
        iat,
        nbf: iat,
        exp: iat + ttl as i64,
        app_displayname: cfg.app_display_name.clone(),
        appid: cfg.client_id.clone(),
        appidacr: appidacr.to_owned(),
        idtyp: idtyp.to_owned(),
        sub: oid.clone(),
        oid,
        tid: tid.to_owned(),
        uti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
        ver: "1.0".into(),
        roles: Vec::new(),
        scp: None,
        wids: Vec::new(),
        upn: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn redeem_refresh(
    state: &SimState,
    t: &mut m365_sim_model::tenant::Tenant,
    p: &HashMap<String, String>,
    client_id: &str,
    resource: Resource,
    scope: &str,
    appidacr: &str,
    now: DateTime<Utc>,
) -> Result<Value, EntraError> {
    let rt = p
        .get("refresh_token")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("refresh_token"))?;
    let malformed = || {
        EntraError::new(
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        )
    };
    let rec = state.tokens.refresh(rt).ok_or_else(malformed)?;
    if rec.tenant_id != t.id {
        return Err(malformed());
    }
    if !rec.client_id.eq_ignore_ascii_case(client_id) {
        return Err(EntraError::new(
            400,
            "invalid_grant",
            70000,
            "The provided value for the 'refresh_token' is not valid. It was issued to a different client.",
        ));
    }
    if let Some(revoked) = t.consent_revoked_at
        && revoked >= rec.issued_at
    {
        return Err(EntraError::new(
            400,
            "invalid_grant",
            50173,
            format!(
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '{}' and the TokensValidFrom date (before which tokens are not valid) for this user is '{}'.",
                rec.issued_at.to_rfc3339(),
                revoked.to_rfc3339()
            ),
        ));
    }
    let inactivity = TimeDelta::seconds(state.config.refresh_token_inactivity_secs as i64);
    if now - rec.last_used > inactivity {
        return Err(EntraError::new(
            400,
            "invalid_grant",
            700082,
            format!(
                "The refresh token has expired due to inactivity. The token was issued on {} and was inactive for {}.00:00:00.",
                rec.issued_at.to_rfc3339(),
                inactivity.num_days()
            ),
        ));
    }
    if rec.state == RefreshState::Rotated && !state.config.refresh_token_keep_valid {
        return Err(EntraError::new(
            400,
            "invalid_grant",
            70000,
            "The provided value for the 'refresh_token' is not valid. It was already redeemed and replaced by a newer refresh token (m365-sim rejects superseded refresh tokens; Entra keeps them valid).",
        ));
    }
    if !t.consented {
        return Err(no_consent(client_id, &state.config.app_display_name));
    }
    let sp = t
        .our_sp(&state.config.client_id)
        .map(|s| s.id)
        .unwrap_or_default();
    let granted = t.granted_roles(sp, resource);
    // Delegated tokens carry scopes, not roles; the signed-in user is a Global Administrator.
    let scp = match resource {
        Resource::Exchange if granted.iter().any(|r| r == EXCHANGE_MANAGE_AS_APP) => {
            "Exchange.Manage".to_owned()
        }
        Resource::Exchange => String::new(),
        Resource::Graph => granted.join(" "),
    };
    let claims = base_claims(state, &t.id, resource, appidacr, now, "user", rec.user_id.clone());
    let claims = AccessClaims {
        scp: Some(scp),
        wids: vec![GLOBAL_ADMIN_ROLE.to_owned()],
        upn: Some(rec.user_upn.clone()),
        ..claims
    };
    let token = state.signer.sign(&claims);
    state.tokens.record_access(&token, &claims, "refresh_token");
    let new_rt = state.tokens.new_refresh(
        RefreshRecord {
            issued_at: now,
            last_used: now,
            state: RefreshState::Active,
            ..rec
        },
        "refresh_token",
    );
    if state.config.refresh_token_keep_valid {
        state.tokens.touch(rt, now);
    } else {
        state.tokens.rotate(rt);
    }
    let ttl = claims.exp - claims.iat;
    Ok(json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": token,
        "refresh_token": new_rt,
    }))
}

/// Mints the first refresh token of a delegated session (what an admin's interactive sign-in
/// would yield); served by `POST /_sim/tenants/{id}/refresh_tokens`.
pub fn mint_admin_refresh_token(state: &SimState, tenant_id: &str, upn: Option<&str>) -> Option<String> {
    let t = state.tenant(tenant_id)?;
    let t = lock(&t);
    let upn = upn
        .map(str::to_owned)
        .unwrap_or_else(|| format!("admin@{}", t.initial_domain()));
    let user_id = t
        .find_user(&upn)
        .map(|u| u.id)
        .unwrap_or_else(|| m365_sim_model::ids::IdGen::new(t.name_seed, &upn).uuid())
        .to_string();
    let now = state.clock.now();
    let rec = RefreshRecord {
        tenant_id: t.id.clone(),
        client_id: state.config.client_id.clone(),
        user_upn: upn,
        user_id,
        issued_at: now,
        last_used: now,
        state: RefreshState::Active,
    };
    drop(t);
    Some(state.tokens.new_refresh(rec, "admin"))
}

/// AADSTS1002012: a client-credentials scope must be a resource with `/.default`.
fn not_a_default_scope(scope: &str) -> EntraError {
    EntraError::new(
        400,
        "invalid_scope",
        1002012,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    )
}
