//! Shared helpers: a simulator with a tenant, HTTP calls, token minting and shape comparison.

use base64::Engine;
use m365_sim::{SimConfig, Simulator};
use reqwest::Client;
use serde_json::{Value, json};

pub const GRAPH: &str = "https://graph.microsoft.com/.default";
pub const EXO: &str = "https://outlook.office365.com/.default";
/// The Exchange Administrator role's template id (Microsoft Entra built-in roles reference),
/// written here, not taken from the simulator, so the tests check its catalog.
pub const EXCHANGE_ADMIN_ROLE: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
pub const CERT: &str = include_str!("../fixtures/app-cert.pem");
pub const KEY: &str = include_str!("../fixtures/app-key.pem");
pub const OTHER_KEY: &str = include_str!("../fixtures/other-key.pem");

pub struct Env {
    pub sim: Simulator,
    pub http: Client,
    pub base: String,
    pub tenant: String,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The error message of a Graph or Exchange error answer (empty for any other answer).
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    /// Asserts the answer is an error with `status` whose message says `text`.
    pub fn assert_refused(&self, status: u16, text: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.message().contains(text),
            "{text:?} not in {:?}",
            self.message()
        );
    }

    /// The string `field` of every object in the answer's `value` list.
    pub fn strings(&self, field: &str) -> Vec<String> {
        self.body["value"]
            .as_array()
            .expect("a value list")
            .iter()
            .map(|x| x[field].as_str().expect("a string field").to_owned())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// Names a request by a fresh `client-request-id`, as Microsoft's SDKs and our clients do.
pub fn traced(rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rb.header("client-request-id", uuid::Uuid::new_v4().to_string())
}

async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json body")
    };
    Resp {
        status,
        headers,
        body,
    }
}

pub fn config() -> SimConfig {
    SimConfig {
        certificate_pem: Some(CERT.to_owned()),
        ..SimConfig::default()
    }
}

impl Env {
    /// A simulator with one tenant created from `spec` through the admin API.
    pub async fn new(spec: Value) -> Env {
        Self::with_config(config(), spec).await
    }

    pub async fn with_config(cfg: SimConfig, spec: Value) -> Env {
        let sim = Simulator::start(cfg).await.expect("start");
        let base = sim.base_url();
        let http = Client::new();
        let mut env = Env {
            sim,
            http,
            base,
            tenant: String::new(),
        };
        let r = env.admin("POST", "/_sim/tenants", Some(spec)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        env.tenant = r.body["tenant_id"].as_str().expect("tenant id").to_owned();
        env
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, format!("{}{}", self.base, path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        into_resp(rb.send().await.expect("send")).await
    }

    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, tenant))
            .form(form)
            .send()
            .await
            .expect("send");
        into_resp(r).await
    }

    /// A client-credentials token request for this env's tenant and `scope`, with the app's secret.
    pub async fn client_credentials(&self, scope: &str) -> Resp {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.sim.client_id()),
            ("client_secret", self.sim.client_secret()),
            ("scope", scope),
        ];
        self.token_request(&self.tenant, &form).await
    }

    pub async fn token_for(&self, tenant: &str, scope: &str) -> String {
        let r = self
            .token_request(
                tenant,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", self.sim.client_id()),
                    ("client_secret", self.sim.client_secret()),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn token(&self, scope: &str) -> String {
        self.token_for(&self.tenant, scope).await
    }

    pub async fn graph(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0{}", self.base, path)
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = traced(self.http.request(m, url).bearer_auth(token));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        into_resp(rb.send().await.expect("send")).await
    }

    pub async fn exo_url(&self, url: &str, token: &str, body: &Value, prefer: Option<&str>) -> Resp {
        let mut rb = traced(self.http.post(url).bearer_auth(token).json(body));
        if let Some(p) = prefer {
            rb = rb.header("Prefer", p);
        }
        into_resp(rb.send().await.expect("send")).await
    }

    pub async fn exo(&self, token: &str, cmdlet: &str, params: Value) -> Resp {
        let url = format!("{}/adminapi/beta/{}/InvokeCommand", self.base, self.tenant);
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
        self.exo_url(&url, token, &body, None).await
    }

    /// `GET /servicePrincipals(appId=...)` of the app, with a Graph `token`.
    pub async fn app_service_principal(&self, token: &str) -> Resp {
        let path = format!("/servicePrincipals(appId='{}')", self.sim.client_id());
        self.graph("GET", &path, token, None).await
    }

    /// Assigns the Exchange Administrator directory role, tenant-wide, to service principal `spid`.
    pub async fn assign_exchange_admin(&self, token: &str, spid: &str) -> Resp {
        let body = json!({
            "principalId": spid,
            "roleDefinitionId": EXCHANGE_ADMIN_ROLE,
            "directoryScopeId": "/",
        });
        self.graph(
            "POST",
            "/roleManagement/directory/roleAssignments",
            token,
            Some(body),
        )
        .await
    }

    /// The status of an Exchange cmdlet's answer.
    pub async fn exo_status(&self, token: &str, cmdlet: &str, params: Value) -> u16 {
        self.exo(token, cmdlet, params).await.status
    }

    /// The status of an admin API answer.
    pub async fn admin_status(&self, method: &str, path: &str, body: Option<Value>) -> u16 {
        self.admin(method, path, body).await.status
    }

    pub async fn dump(&self) -> Value {
        let r = self
            .admin("GET", &format!("/_sim/tenants/{}", self.tenant), None)
            .await;
        assert_eq!(r.status, 200);
        r.body
    }
}

/// Decodes a JWT's claims without verifying it.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("jwt");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("claims")
}

/// A certificate client assertion signed with `key`.
pub fn assertion(key: &str, client_id: &str, aud: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let cert = m365_sim::model::assertion::AppCertificate::from_pem(CERT).expect("cert");
    let now = chrono::Utc::now().timestamp();
    let mut h = Header::new(Algorithm::RS256);
    h.x5t = Some(cert.x5t.clone());
    let c = json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "exp": now + 600});
    jsonwebtoken::encode(&h, &c, &EncodingKey::from_rsa_pem(key.as_bytes()).expect("key")).expect("sign")
}

/// Loads a fixture.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture json")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `actual` has the shape of `expected`: every expected key (except `_`-prefixed)
/// exists with the same JSON type (expected `null` = nullable, any type); each actual array
/// element matches one of the expected elements; `...Link` values keep the same path and
/// token parameter.
pub fn assert_shape(expected: &Value, actual: &Value) {
    if let Err(e) = shape(expected, actual, "$") {
        let actual: String = actual.to_string().chars().take(2000).collect();
        panic!("shape mismatch at {e}\nexpected: {expected}\nactual (first 2000 chars): {actual}");
    }
}

fn shape(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Null, _) => Ok(()),
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                if k.starts_with('_') {
                    continue;
                }
                let av = a.get(k).ok_or_else(|| format!("{at}.{k} (missing)"))?;
                if k.ends_with("Link") {
                    link(ev, av).map_err(|m| format!("{at}.{k}: {m}"))?;
                } else {
                    shape(ev, av, &format!("{at}.{k}"))?;
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.is_empty() {
                return Ok(());
            }
            for (i, av) in a.iter().enumerate() {
                if !e.iter().any(|ev| shape(ev, av, at).is_ok()) {
                    return Err(format!("{at}[{i}] matches no expected element: {av}"));
                }
            }
            Ok(())
        }
        (e, a) if type_name(e) == type_name(a) => Ok(()),
        (e, a) => Err(format!("{at}: expected {} got {}", type_name(e), type_name(a))),
    }
}

fn link(expected: &Value, actual: &Value) -> Result<(), String> {
    let (e, a) = (
        expected.as_str().ok_or("expected str")?,
        actual.as_str().ok_or("actual not a string")?,
    );
    let path = |s: &str| {
        s.split("/v1.0/")
            .nth(1)
            .unwrap_or(s)
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned()
    };
    if path(e) != path(a) {
        return Err(format!("path {} != {}", path(a), path(e)));
    }
    for token in ["$skiptoken=", "$deltatoken="] {
        if e.contains(token) != a.contains(token) {
            return Err(format!("token parameter differs ({token}): {a}"));
        }
    }
    if !a.starts_with("http://127.0.0.1:") {
        return Err(format!("link does not point at the simulator: {a}"));
    }
    Ok(())
}

/// The default consent plus the two permissions that write roles and apps, for the tests that
/// exercise those endpoints (the default consent grants neither).
pub fn writing_roles_and_apps() -> Vec<&'static str> {
    let mut roles = m365_sim::model::catalog::DEFAULT_APP_ROLES.to_vec();
    roles.extend(["RoleManagement.ReadWrite.Directory", "Application.ReadWrite.All"]);
    roles
}
