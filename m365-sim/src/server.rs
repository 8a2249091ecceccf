//! The HTTP server and the in-process [`Simulator`] handle.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    routing::{any, delete, get, post},
};
use m365_sim_model::{
    config::SimConfig,
    error::SimError,
    faults::FaultSpec,
    state::SimState,
    tenant::{DirectoryPatch, TenantSpec},
};
use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{admin, reply};

/// All routes on one origin: the three Microsoft surfaces' paths do not collide.
pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(crate::entra::token))
        .route(
            "/{tenant}/v2.0/adminconsent",
            get(crate::consent::page).post(crate::consent::answer),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(crate::consent::discovery),
        )
        .route("/v1.0/{*rest}", any(crate::graph::handle))
        .route("/adminapi/beta/{tenant}/InvokeCommand", post(crate::exchange::invoke))
        .route("/adminapi/beta/{tenant}/$batch", post(crate::exchange::batch))
        .route("/_sim/tenants", post(admin::create_tenant).get(admin::list_tenants))
        .route("/_sim/tenants/{id}", get(admin::get_tenant).delete(admin::delete_tenant).patch(admin::patch_tenant))
        .route("/_sim/tenants/{id}/directory", axum::routing::patch(admin::patch_directory_handler))
        .route("/_sim/tenants/{id}/consent", delete(admin::delete_consent).post(admin::post_consent))
        .route("/_sim/app/redirect_uris", post(admin::post_redirect_uri))
        .route("/_sim/app/registration", post(admin::post_registration))
        .route("/_sim/tenants/{id}/grants", delete(admin::delete_grants))
        .route("/_sim/tenants/{id}/refresh_tokens", post(admin::post_refresh_token))
        .route("/_sim/faults", post(admin::post_fault).get(admin::list_faults).delete(admin::clear_faults))
        .route("/_sim/faults/{id}", delete(admin::delete_fault))
        .route("/_sim/clock", post(admin::post_clock).get(admin::get_clock))
        .route("/_sim/stats", get(admin::get_stats).delete(admin::delete_stats))
        .route("/_sim/tokens", get(admin::get_tokens))
        .fallback(|| async {
            reply::json(404, &serde_json::json!({"error": {"code": "NotFound", "message": "No such endpoint in m365-sim."}}), &[])
        })
        .layer(axum::middleware::from_fn(request_ids))
        .with_state(state)
}

/// Names every Microsoft answer as Microsoft's services do. Graph and Exchange answer a
/// `request-id` of their own and the caller's `client-request-id` back, and Graph puts both in an
/// error's `innerError` (learn.microsoft.com/graph/errors). Entra answers `x-ms-request-id` and
/// the `client-request-id`, and its error body's `correlation_id` is the caller's id. The
/// simulator's admin paths are left as they are.
async fn request_ids(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        return next.run(request).await;
    }
    let client = request.headers().get(reply::CLIENT_REQUEST_ID).cloned();
    let client_text = client.as_ref().and_then(|c| c.to_str().ok()).map(str::to_owned);
    let ours = reply::request_id();
    let token = path.ends_with("/oauth2/v2.0/token");
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let body = if parts.status.as_u16() >= 400 && (token || path.starts_with("/v1.0/")) {
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut envelope) => {
                if token {
                    if let Some(client) = &client_text {
                        envelope["correlation_id"] = Value::from(client.as_str());
                    }
                } else if let Some(inner) = envelope["error"]["innerError"].as_object_mut() {
                    inner.insert("request-id".into(), Value::from(ours.as_str()));
                    match &client_text {
                        Some(client) => {
                            inner.insert("client-request-id".into(), Value::from(client.as_str()))
                        }
                        None => inner.remove("client-request-id"),
                    };
                }
                parts.headers.remove(axum::http::header::CONTENT_LENGTH);
                axum::body::Body::from(serde_json::to_vec(&envelope).unwrap_or_default())
            }
            Err(_) => axum::body::Body::from(bytes),
        }
    } else {
        body
    };
    if let Ok(value) = ours.parse() {
        parts
            .headers
            .insert(if token { "x-ms-request-id" } else { "request-id" }, value);
    }
    if let Some(client) = client {
        parts.headers.insert(reply::CLIENT_REQUEST_ID, client);
    }
    axum::response::Response::from_parts(parts, body)
}

/// Parses a listen address and refuses anything but loopback: the simulator hands out tokens.
pub fn loopback_addr(listen: &str) -> Result<SocketAddr, SimError> {
    let text = listen.replacen("localhost", "127.0.0.1", 1);
    let addr: SocketAddr = text
        .parse()
        .map_err(|e| SimError::Listen(listen.to_owned(), format!("{e}")))?;
    if !addr.ip().is_loopback() {
        return Err(SimError::Listen(
            listen.to_owned(),
            "only loopback addresses are allowed".into(),
        ));
    }
    Ok(addr)
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    state: Arc<SimState>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Simulator({})", self.base_url())
    }
}

impl Simulator {
    /// Binds `config.listen` (default `127.0.0.1:0`, an ephemeral port) and starts serving.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let addr = loopback_addr(&config.listen)?;
        let state = Arc::new(SimState::new(config)?);
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        state.set_base_url(format!("http://{addr}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "m365-sim server stopped");
            }
        });
        Ok(Self {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the base of the token endpoint, Graph, Exchange and `/_sim/`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Direct access to the state (clock, faults, stats, tokens, tenants).
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// Client id of the simulated app.
    pub fn client_id(&self) -> &str {
        &self.state.config.client_id
    }

    /// Client secret of the simulated app.
    pub fn client_secret(&self) -> &str {
        &self.state.config.client_secret
    }

    /// Same as `POST /_sim/tenants`.
    pub fn create_tenant(&self, spec: &TenantSpec) -> Result<String, SimError> {
        self.state.create_tenant(spec)
    }

    /// Same as `GET /_sim/tenants/{id}`.
    pub fn tenant_dump(&self, id: &str) -> Result<Value, SimError> {
        admin::dump(&self.state, id)
    }

    /// Same as `PATCH /_sim/tenants/{id}/directory`.
    pub fn patch_directory(&self, id: &str, patch: &DirectoryPatch) -> Result<Value, SimError> {
        admin::patch_directory(&self.state, id, patch)
    }

    /// Same as `PATCH /_sim/tenants/{id}`.
    pub fn tenant_settings(&self, id: &str, settings: &admin::TenantSettings) -> Result<(), SimError> {
        admin::apply_settings(&self.state, id, settings)
    }

    /// Registers a redirect URI on the app registration (the admin-consent endpoint answers only
    /// to registered ones).
    pub fn register_redirect_uri(&self, uri: &str) {
        self.state.register_redirect_uri(uri);
    }

    /// Same as `DELETE /_sim/tenants/{id}/grants`.
    pub fn revoke_grants(&self, id: &str) -> Result<(), SimError> {
        admin::revoke_grants(&self.state, id)
    }

    /// Same as `DELETE /_sim/tenants/{id}/consent`.
    pub fn revoke_consent(&self, id: &str) -> Result<(), SimError> {
        admin::revoke_consent(&self.state, id)
    }

    /// Same as `POST /_sim/tenants/{id}/refresh_tokens`.
    pub fn mint_refresh_token(&self, id: &str, upn: Option<&str>) -> Option<String> {
        crate::entra::mint_admin_refresh_token(&self.state, id, upn)
    }

    /// Same as `POST /_sim/faults`; returns the fault id.
    pub fn add_fault(&self, spec: FaultSpec) -> Result<u64, SimError> {
        self.state.faults.add(spec)
    }

    /// Same as `GET /_sim/faults`: the faults still armed, with their hits.
    pub fn faults(&self) -> Value {
        serde_json::json!({"faults": self.state.faults.list()})
    }

    /// Same as `DELETE /_sim/faults`.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Same as `POST /_sim/clock`.
    pub fn advance_clock(&self, seconds: f64) {
        self.state.clock.advance(seconds);
    }

    /// Same as `GET /_sim/stats`.
    pub fn stats(&self) -> Value {
        self.state.stats.snapshot()
    }

    /// Same as `DELETE /_sim/stats`.
    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    /// Same as `GET /_sim/tokens`.
    pub fn issued_tokens(&self) -> Value {
        self.state.tokens.snapshot()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
