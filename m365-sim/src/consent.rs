//! Entra's admin-consent endpoint and OpenID discovery document, as the Microsoft identity
//! platform documents them ("Admin consent on the Microsoft identity platform"; "OpenID Connect
//! on the Microsoft identity platform").
//!
//! `GET /{tenant}/v2.0/adminconsent?client_id&redirect_uri&scope&state` shows the consent page:
//! the app, the permissions it requires, who signs in, and a form whose buttons are `accept` and
//! `cancel`. Its answer is a `302` to the registered redirect URI: `admin_consent=True`, `tenant`
//! (GUID), `scope`, `state` when an administrator accepts (our service principal is created with
//! the registration's app roles), or `error`, `error_description` (and `error_uri`,
//! `admin_consent`, `state`; no `tenant`) when they cancel, when the account is not an
//! administrator (AADSTS90094) or not of the tenant (AADSTS50020). A request Entra cannot answer
//! to the app (unknown tenant, app or redirect URI) gets an error page and no redirect.
//!
//! `GET /{tenant}/v2.0/.well-known/openid-configuration` answers a tenant (by id or any of its
//! domains) with its discovery document, whose `issuer` and `token_endpoint` name the tenant's
//! GUID; an unknown one with `400 invalid_tenant` (AADSTS90002).

use std::{collections::HashMap, sync::Arc};

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    response::Response,
};
use chrono::{DateTime, Utc};
use m365_sim_model::{
    catalog,
    state::{SimState, TenantRef, lock},
    stats::Surface,
    tenant::Consenter,
};
use serde_json::json;

use crate::reply::{self, escape};

/// A consent request that names our app and one of its redirect URIs.
struct Request {
    /// The tenant, unless the request said `organizations` (then the account's decides).
    tenant: Option<TenantRef>,
    redirect_uri: String,
    scope: Option<String>,
    state: Option<String>,
    params: HashMap<String, String>,
}

/// An error description as Entra writes them: the code, the text, trace, correlation, time.
fn description(code: u32, text: &str, now: DateTime<Utc>) -> String {
    format!(
        "AADSTS{code}: {text}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
        reply::request_id(),
        reply::request_id(),
        now.format("%Y-%m-%d %H:%M:%SZ")
    )
}

/// Why a request cannot be answered to the app: its AADSTS code and text.
struct Unanswerable(u32, String);

impl Unanswerable {
    fn page(&self, state: &SimState) -> Response {
        error_page(state, self.0, &self.1)
    }
}

/// Entra's error page: the request cannot be answered to the app, so nothing is redirected.
fn error_page(state: &SimState, code: u32, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\
         <body><h1>Sorry, but we're having trouble signing you in.</h1><p id=\"error\">{}</p></body></html>",
        escape(&description(code, text, state.clock.now()))
    );
    reply::html(400, body)
}

/// Reads and checks what every step of the flow needs, in Entra's order: the parameters, the
/// app, the redirect URI, the tenant.
fn request(
    state: &SimState,
    tenant_key: &str,
    params: HashMap<String, String>,
) -> Result<Request, Unanswerable> {
    let required = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| {
                Unanswerable(
                    900144,
                    format!("The request body must contain the following parameter: '{name}'."),
                )
            })
    };
    let client_id = required("client_id")?;
    let redirect_uri = required("redirect_uri")?;
    if client_id != state.config.client_id {
        return Err(Unanswerable(
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_key}'."
            ),
        ));
    }
    if !state.is_redirect_uri(&redirect_uri) {
        return Err(Unanswerable(
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'."
            ),
        ));
    }
    let tenant = if tenant_key.eq_ignore_ascii_case("organizations") {
        None
    } else {
        Some(
            state
                .tenant(tenant_key)
                .ok_or_else(|| Unanswerable(90002, format!("Tenant '{tenant_key}' not found.")))?,
        )
    };
    Ok(Request {
        tenant,
        redirect_uri,
        scope: params.get("scope").cloned(),
        state: params.get("state").cloned(),
        params,
    })
}

impl Request {
    /// The answer to the app: `pairs`, then `admin_consent` and the app's `state`.
    fn answer(&self, mut pairs: Vec<(&str, String)>) -> Response {
        pairs.push(("admin_consent", "True".to_owned()));
        if let Some(s) = &self.state {
            pairs.push(("state", s.clone()));
        }
        let query: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        reply::redirect(&self.redirect_uri, &query)
    }

    /// An error answer: `error`, `error_description` and `error_uri`.
    fn refuse(&self, state: &SimState, error: &str, code: u32, text: &str) -> Response {
        self.answer(vec![
            ("error", error.to_owned()),
            ("error_description", description(code, text, state.clock.now())),
            (
                "error_uri",
                format!("https://login.microsoftonline.com/error?code={code}"),
            ),
        ])
    }

    /// The scope if it asks for the app's permissions (`{resource}/.default`).
    fn default_scope(&self) -> Option<&str> {
        self.scope
            .as_deref()
            .filter(|s| s.split(' ').any(|one| one.ends_with("/.default")))
    }
}

fn label(tenant: Option<&TenantRef>) -> String {
    tenant.map_or_else(|| "organizations".to_owned(), |t| lock(t).id.clone())
}

/// `GET /{tenant}/v2.0/adminconsent`: the consent page.
pub async fn page(
    State(state): State<Arc<SimState>>,
    Path(tenant_key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let request = match request(&state, &tenant_key, params) {
        Ok(r) => r,
        Err(unanswerable) => return unanswerable.page(&state),
    };
    state
        .stats
        .record(&label(request.tenant.as_ref()), Surface::Token, false);
    if request.default_scope().is_none() {
        return request.refuse(
            &state,
            "invalid_request",
            70011,
            "The provided value for the input parameter 'scope' isn't valid: application permissions are requested with '{resource}/.default'.",
        );
    }
    let (organization, admin) = match &request.tenant {
        Some(t) => {
            let t = lock(t);
            (t.display_name.clone(), format!("admin@{}", t.initial_domain()))
        }
        None => ("your organization".to_owned(), String::new()),
    };
    let permissions: String = state
        .requested_app_roles()
        .iter()
        .map(|role| {
            let resource = match catalog::app_role(role).map(|(_, _, r)| r) {
                Some(catalog::Resource::Exchange) => "Office 365 Exchange Online",
                _ => "Microsoft Graph",
            };
            format!(
                "<li class=\"permission\" data-role=\"{0}\">{0} <small>({1})</small></li>",
                escape(role),
                resource
            )
        })
        .collect();
    let hidden: String = ["client_id", "redirect_uri", "scope", "state"]
        .iter()
        .filter_map(|name| request.params.get(*name).map(|v| (name, v)))
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        })
        .collect();
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Permissions requested</title></head><body>\
         <h1>Permissions requested</h1>\
         <p><strong id=\"app\">{app}</strong> wants these permissions in <span id=\"organization\">{organization}</span>. \
         Accepting grants them for the whole organization.</p>\
         <ul id=\"permissions\">{permissions}</ul>\
         <form method=\"post\" action=\"/{tenant_key}/v2.0/adminconsent\">{hidden}\
         <label>Signed in as <input type=\"email\" name=\"login_hint\" value=\"{admin}\"></label>\
         <button type=\"submit\" name=\"accept\" value=\"accept\">Accept</button>\
         <button type=\"submit\" name=\"cancel\" value=\"cancel\">Cancel</button>\
         </form></body></html>",
        app = escape(&state.config.app_display_name),
        organization = escape(&organization),
        tenant_key = escape(&tenant_key),
        admin = escape(&admin),
    );
    reply::html(200, body)
}

/// `POST /{tenant}/v2.0/adminconsent`: the consent page's form, accepted or cancelled.
pub async fn answer(
    State(state): State<Arc<SimState>>,
    Path(tenant_key): Path<String>,
    body: Bytes,
) -> Response {
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let request = match request(&state, &tenant_key, params) {
        Ok(r) => r,
        Err(unanswerable) => return unanswerable.page(&state),
    };
    if request.params.contains_key("cancel") {
        state
            .stats
            .record(&label(request.tenant.as_ref()), Surface::Token, false);
        return request.refuse(
            &state,
            "access_denied",
            65004,
            "User declined to consent to access the app.",
        );
    }
    if !request.params.contains_key("accept") {
        return error_page(
            &state,
            900144,
            "The request body must contain the following parameter: 'accept' or 'cancel'.",
        );
    }
    let Some(scope) = request.default_scope().map(str::to_owned) else {
        return request.refuse(
            &state,
            "invalid_request",
            70011,
            "The provided value for the input parameter 'scope' isn't valid.",
        );
    };
    let upn = request.params.get("login_hint").cloned().unwrap_or_default();
    // `organizations`: the account's own tenant answers.
    let tenant = match request.tenant.clone().or_else(|| {
        let domain = upn.rsplit_once('@')?.1;
        state.tenant(domain)
    }) {
        Some(t) => t,
        None => return stranger(&state, &request, &upn, &tenant_key),
    };
    let mut t = lock(&tenant);
    state.stats.record(&t.id, Surface::Token, true);
    match t.consenter(&upn) {
        Consenter::Stranger => {
            let name = t.display_name.clone();
            drop(t);
            stranger(&state, &request, &upn, &name)
        }
        Consenter::NotAdmin => request.refuse(
            &state,
            "access_denied",
            90094,
            &format!(
                "{} needs permission to access resources in your organization that only an admin can grant. Ask an admin to grant permission to this app before you can use it.",
                state.config.app_display_name
            ),
        ),
        Consenter::Admin => {
            let app = (state.config.client_id.as_str(), state.config.app_display_name.as_str());
            if let Err(err) = t.consent(app, &state.requested_app_roles(), state.clock.now()) {
                return error_page(&state, 500011, &err.to_string());
            }
            let id = t.id.clone();
            request.answer(vec![("tenant", id), ("scope", scope)])
        }
    }
}

/// AADSTS50020: the account is not of the tenant asked.
fn stranger(state: &SimState, request: &Request, upn: &str, tenant_name: &str) -> Response {
    request.refuse(
        state,
        "access_denied",
        50020,
        &format!(
            "User account '{upn}' does not exist in tenant '{tenant_name}' and cannot access the application '{}'({}) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.",
            state.config.client_id, state.config.app_display_name
        ),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`: the tenant's discovery document.
pub async fn discovery(State(state): State<Arc<SimState>>, Path(tenant_key): Path<String>) -> Response {
    let Some(tenant) = state.tenant(&tenant_key) else {
        let now = state.clock.now();
        let body = json!({
            "error": "invalid_tenant",
            "error_description": description(90002, &format!("Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."), now),
            "error_codes": [90002],
            "timestamp": now.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": reply::request_id(),
            "correlation_id": reply::request_id(),
            "error_uri": "https://login.microsoftonline.com/error?code=90002",
        });
        return reply::json(400, &body, &[]);
    };
    let id = lock(&tenant).id.clone();
    state.stats.record(&id, Surface::Token, false);
    let base = state.base_url();
    let body = json!({
        "token_endpoint": format!("{base}/{id}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{id}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{id}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{base}/{id}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{id}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{id}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{id}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    reply::json(200, &body, &[])
}
