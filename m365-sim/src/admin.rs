//! The simulator's own admin API under `/_sim/` (documented in the crate README). Every
//! operation is also a plain function on [`SimState`] so in-process tests can skip HTTP.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    response::Response,
};
use m365_sim_model::{
    error::SimError,
    faults::FaultSpec,
    registration::Registration,
    state::{SimState, lock},
    tenant::{DirectoryPatch, TenantSpec, propagation},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::reply;

/// Body of `PATCH /_sim/tenants/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    /// Delay before new Graph groups reach Exchange.
    pub group_propagation_seconds: Option<u64>,
    /// Assign (true) or remove (false) Exchange Administrator on the app's service principal.
    pub exchange_admin_role: Option<bool>,
    /// Replace the app roles granted at consent.
    pub app_roles: Option<Vec<String>>,
    /// Show renamed users in incremental delta rounds with only what the rename changed.
    pub delta_changed_properties_only: Option<bool>,
    /// Replication lag of new groups, role assignments and spoof entries, in seconds.
    pub replication_lag_seconds: Option<u64>,
}

/// Body of `POST /_sim/tenants/{id}/consent`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// App roles to grant (defaults to the standard set).
    #[serde(default)]
    pub app_roles: Option<Vec<String>>,
}

/// Body of `POST /_sim/tenants/{id}/refresh_tokens`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenBody {
    /// Signed-in administrator (default `admin@<initial domain>`).
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

/// Body of `POST /_sim/app/redirect_uris`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUriBody {
    /// The redirect URI to register on the app registration.
    pub redirect_uri: String,
}

/// Body of `POST /_sim/clock`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// Seconds to move simulated time forward.
    pub advance_seconds: f64,
}

fn err(e: SimError) -> Response {
    let status = match e {
        SimError::NotFound(_) => 404,
        SimError::Conflict(_) => 409,
        _ => 400,
    };
    reply::json(status, &json!({"error": e.to_string()}), &[])
}

fn parse<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, SimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| SimError::BadRequest(e.to_string()))
}

fn ok(v: Value) -> Response {
    reply::json(200, &v, &[])
}

/// Applies tenant settings.
pub fn apply_settings(state: &SimState, id: &str, s: &TenantSettings) -> Result<(), SimError> {
    let t = state
        .tenant(id)
        .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
    let mut t = lock(&t);
    if let Some(p) = s.group_propagation_seconds {
        t.group_propagation = propagation(p);
    }
    if let Some(lag) = s.replication_lag_seconds {
        t.replication_lag = propagation(lag);
    }
    if let Some(on) = s.delta_changed_properties_only {
        t.delta_changed_properties_only = on;
    }
    let app = (
        state.config.client_id.as_str(),
        state.config.app_display_name.as_str(),
    );
    if let Some(roles) = &s.app_roles {
        t.consent(app, roles, state.clock.now())?;
    }
    if let Some(on) = s.exchange_admin_role {
        t.set_exchange_admin(app.0, on)?;
    }
    Ok(())
}

/// Applies a directory patch; returns the ids of added users.
pub fn patch_directory(state: &SimState, id: &str, p: &DirectoryPatch) -> Result<Value, SimError> {
    let tref = state
        .tenant(id)
        .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
    for d in &p.add_domains {
        if state.domain_owner(d).is_some_and(|o| o != id) {
            return Err(SimError::Conflict(format!(
                "domain {d} belongs to another tenant"
            )));
        }
    }
    let (added, domains, tid) = {
        let mut t = lock(&tref);
        for d in &p.add_domains {
            t.add_domain(d)?;
        }
        for d in &p.remove_domains {
            t.remove_domain(d)?;
        }
        for d in &p.dnssec_mx_domains {
            t.move_mx_to_dnssec(d)?;
        }
        let added = match &p.add_users {
            Some(u) => t.add_users(u)?,
            None => Vec::new(),
        };
        for r in &p.rename_users {
            t.rename_user(r)?;
        }
        for u in &p.remove_users {
            t.remove_user(u)?;
        }
        (
            added,
            t.domains.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            t.id.clone(),
        )
    };
    state.reindex_domains(&tid, &domains)?;
    Ok(json!({"added_user_ids": added}))
}

/// Revokes consent.
pub fn revoke_consent(state: &SimState, id: &str) -> Result<(), SimError> {
    let t = state
        .tenant(id)
        .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
    lock(&t).revoke_consent(&state.config.client_id, state.clock.now());
    Ok(())
}

/// Revokes the app's permissions and keeps its service principal (see `Tenant::revoke_grants`).
pub fn revoke_grants(state: &SimState, id: &str) -> Result<(), SimError> {
    let t = state
        .tenant(id)
        .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
    lock(&t).revoke_grants(&state.config.client_id);
    Ok(())
}

/// Grants consent again.
pub fn grant_consent(state: &SimState, id: &str, roles: Option<Vec<String>>) -> Result<(), SimError> {
    let t = state
        .tenant(id)
        .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
    let roles = roles.unwrap_or_else(m365_sim_model::catalog::default_app_roles);
    let app = (
        state.config.client_id.as_str(),
        state.config.app_display_name.as_str(),
    );
    lock(&t).consent(app, &roles, state.clock.now())
}

/// Tenant dump.
pub fn dump(state: &SimState, id: &str) -> Result<Value, SimError> {
    let t = state
        .tenant(id)
        .ok_or_else(|| SimError::NotFound(format!("tenant {id}")))?;
    Ok(lock(&t).dump(&state.config.client_id, state.clock.now()))
}

type St = State<Arc<SimState>>;

/// `POST /_sim/tenants`.
pub async fn create_tenant(State(s): St, body: Bytes) -> Response {
    match parse::<TenantSpec>(&body).and_then(|spec| s.create_tenant(&spec)) {
        Ok(id) => reply::json(201, &json!({"tenant_id": id}), &[]),
        Err(e) => err(e),
    }
}

/// `GET /_sim/tenants`.
pub async fn list_tenants(State(s): St) -> Response {
    ok(json!({"tenants": s.tenant_ids()}))
}

/// `GET /_sim/tenants/{id}`.
pub async fn get_tenant(State(s): St, Path(id): Path<String>) -> Response {
    dump(&s, &id).map(ok).unwrap_or_else(err)
}

/// `DELETE /_sim/tenants/{id}`.
pub async fn delete_tenant(State(s): St, Path(id): Path<String>) -> Response {
    match s.delete_tenant(&id) {
        Ok(()) => reply::raw(204, None, &[]),
        Err(e) => err(e),
    }
}

/// `PATCH /_sim/tenants/{id}`.
pub async fn patch_tenant(State(s): St, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<TenantSettings>(&body).and_then(|b| apply_settings(&s, &id, &b)) {
        Ok(()) => dump(&s, &id).map(ok).unwrap_or_else(err),
        Err(e) => err(e),
    }
}

/// `PATCH /_sim/tenants/{id}/directory`.
pub async fn patch_directory_handler(State(s): St, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<DirectoryPatch>(&body).and_then(|p| patch_directory(&s, &id, &p)) {
        Ok(v) => ok(v),
        Err(e) => err(e),
    }
}

/// `POST /_sim/app/redirect_uris`: registers a redirect URI (the admin-consent endpoint
/// answers only to registered ones).
pub async fn post_redirect_uri(State(s): St, body: Bytes) -> Response {
    match parse::<RedirectUriBody>(&body) {
        Ok(b) if !b.redirect_uri.is_empty() => {
            s.register_redirect_uri(&b.redirect_uri);
            ok(json!({"redirect_uri": b.redirect_uri}))
        }
        Ok(_) => err(SimError::BadRequest("redirect_uri is required".into())),
        Err(e) => err(e),
    }
}

/// `POST /_sim/app/registration`: the app registration becomes the Graph `application` object
/// of the body (its redirect URIs and required app roles), as creating it in the vendor's
/// tenant with `POST /applications` does.
pub async fn post_registration(State(s): St, body: Bytes) -> Response {
    let registration = serde_json::from_slice::<Value>(&body)
        .map_err(|e| SimError::BadRequest(format!("invalid JSON: {e}")))
        .and_then(|app| Registration::from_application(&app));
    match registration {
        Ok(registration) => {
            let answer = json!({
                "redirect_uris": registration.redirect_uris,
                "requested_app_roles": registration.requested_app_roles,
            });
            s.set_registration(registration);
            ok(answer)
        }
        Err(e) => err(e),
    }
}

/// `DELETE /_sim/tenants/{id}/consent`.
pub async fn delete_consent(State(s): St, Path(id): Path<String>) -> Response {
    match revoke_consent(&s, &id) {
        Ok(()) => reply::raw(204, None, &[]),
        Err(e) => err(e),
    }
}

/// `DELETE /_sim/tenants/{id}/grants`.
pub async fn delete_grants(State(s): St, Path(id): Path<String>) -> Response {
    match revoke_grants(&s, &id) {
        Ok(()) => reply::raw(204, None, &[]),
        Err(e) => err(e),
    }
}

/// `POST /_sim/tenants/{id}/consent`.
pub async fn post_consent(State(s): St, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<ConsentBody>(&body).and_then(|b| grant_consent(&s, &id, b.app_roles)) {
        Ok(()) => reply::raw(204, None, &[]),
        Err(e) => err(e),
    }
}

/// `POST /_sim/tenants/{id}/refresh_tokens`.
pub async fn post_refresh_token(State(s): St, Path(id): Path<String>, body: Bytes) -> Response {
    let b = match parse::<RefreshTokenBody>(&body) {
        Ok(b) => b,
        Err(e) => return err(e),
    };
    match crate::entra::mint_admin_refresh_token(&s, &id, b.user_principal_name.as_deref()) {
        Some(rt) => reply::json(201, &json!({"refresh_token": rt}), &[]),
        None => err(SimError::NotFound(format!("tenant {id}"))),
    }
}

/// `POST /_sim/faults`.
pub async fn post_fault(State(s): St, Json(spec): Json<FaultSpec>) -> Response {
    match s.faults.add(spec) {
        Ok(id) => reply::json(201, &json!({"id": id}), &[]),
        Err(e) => err(e),
    }
}

/// `GET /_sim/faults`.
pub async fn list_faults(State(s): St) -> Response {
    ok(json!({"faults": s.faults.list()}))
}

/// `DELETE /_sim/faults`.
pub async fn clear_faults(State(s): St) -> Response {
    s.faults.clear();
    reply::raw(204, None, &[])
}

/// `DELETE /_sim/faults/{id}`.
pub async fn delete_fault(State(s): St, Path(id): Path<u64>) -> Response {
    if s.faults.remove(id) {
        reply::raw(204, None, &[])
    } else {
        err(SimError::NotFound(format!("fault {id}")))
    }
}

fn clock_json(s: &SimState) -> Value {
    json!({"now": s.clock.now().to_rfc3339(), "offset_seconds": s.clock.offset_secs()})
}

/// `POST /_sim/clock`.
pub async fn post_clock(State(s): St, Json(b): Json<ClockBody>) -> Response {
    if !b.advance_seconds.is_finite() || b.advance_seconds < 0.0 {
        return err(SimError::BadRequest(
            "advance_seconds must be a non-negative number".into(),
        ));
    }
    s.clock.advance(b.advance_seconds);
    ok(clock_json(&s))
}

/// `GET /_sim/clock`.
pub async fn get_clock(State(s): St) -> Response {
    ok(clock_json(&s))
}

/// `GET /_sim/stats`.
pub async fn get_stats(State(s): St) -> Response {
    ok(s.stats.snapshot())
}

/// `DELETE /_sim/stats`.
pub async fn delete_stats(State(s): St) -> Response {
    s.stats.reset();
    reply::raw(204, None, &[])
}

/// `GET /_sim/tokens`.
pub async fn get_tokens(State(s): St) -> Response {
    ok(s.tokens.snapshot())
}
