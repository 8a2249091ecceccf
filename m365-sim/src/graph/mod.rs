//! Microsoft Graph v1.0 subset under `/v1.0/...`, with Graph's error envelope everywhere.

/// The value of a `Result` whose error is the handler's answer, or that answer, returned.
macro_rules! or_reply {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(reply) => return reply,
        }
    };
}

pub mod apps;
pub mod batch;
pub mod delta;
pub mod directory;
pub mod groups;
pub mod odata;
pub mod users;

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{OriginalUri, State},
    http::{HeaderMap, Method},
    response::Response,
};
use chrono::{DateTime, Utc};
use m365_sim_model::{
    catalog::GRAPH_RESOURCE,
    faults::{FaultHit, Phase},
    state::{SimState, lock},
    stats::Surface,
    tenant::Tenant,
    token::AccessClaims,
};
use odata::Query;
use serde_json::{Value, json};

use crate::{
    auth::{self, AuthError},
    fault::strike,
    reply,
};

/// A Graph response before rendering (also the body of a `$batch` sub-response).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphReply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
}

impl GraphReply {
    /// 200 with a body.
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    /// 201 with a body.
    pub fn created(body: Value) -> Self {
        Self {
            status: 201,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    /// 204.
    pub fn no_content() -> Self {
        Self {
            status: 204,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Renders as an HTTP response.
    pub fn into_response(self) -> Response {
        match &self.body {
            Some(b) => reply::json(self.status, b, &self.headers),
            None => reply::raw(self.status, None, &self.headers),
        }
    }
}

/// Graph's error envelope: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub fn error(status: u16, code: &str, message: impl Into<String>) -> GraphReply {
    let id = reply::request_id();
    GraphReply {
        status,
        headers: Vec::new(),
        body: Some(json!({
            "error": {
                "code": code,
                "message": message.into(),
                "innerError": {
                    "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": id,
                    "client-request-id": id,
                }
            }
        })),
    }
}

/// 400 for malformed OData.
pub fn bad_request(message: impl Into<String>) -> GraphReply {
    error(400, "BadRequest", message)
}

/// 400 for invalid directory writes.
pub fn directory_bad_request(message: impl Into<String>) -> GraphReply {
    error(400, "Request_BadRequest", message)
}

/// Directory 404.
pub fn not_found(id: &str) -> GraphReply {
    error(
        404,
        "Request_ResourceNotFound",
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// Directory 403.
pub fn forbidden() -> GraphReply {
    error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// A Graph request, from HTTP or from a `$batch` entry.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    /// Upper-case method.
    pub method: String,
    /// Path after `/v1.0`, starting with `/`.
    pub path: String,
    /// Query options.
    pub query: Query,
    /// JSON body.
    pub body: Option<Value>,
}

/// What a handler may use besides the tenant.
pub struct Ctx<'a> {
    /// Shared state.
    pub state: &'a SimState,
    /// Caller's token claims.
    pub claims: &'a AccessClaims,
    /// Simulated time.
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    /// Base URL for links.
    pub fn base(&self) -> &str {
        self.state.base_url()
    }
}

const R_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "User.ReadBasic.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const R_GROUPS_READ: &[&str] = &[
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const R_GROUPS_CREATE: &[&str] = &["Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All"];
const R_GROUPS_WRITE: &[&str] = &["Group.ReadWrite.All", "Directory.ReadWrite.All"];
const R_MEMBERS_WRITE: &[&str] = &[
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const R_ORG: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const R_DOMAINS: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const R_APPS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const R_ROLES_READ: &[&str] = &[
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const R_ROLES_WRITE: &[&str] = &["RoleManagement.ReadWrite.Directory"];
const R_APPS_WRITE: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const R_SITES: &[&str] = &["Sites.Read.All", "Sites.ReadWrite.All", "Sites.FullControl.All"];
const R_FILES: &[&str] = &[
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
];

fn is_delta(seg: &str) -> bool {
    matches!(
        seg,
        "delta" | "delta()" | "microsoft.graph.delta" | "microsoft.graph.delta()"
    )
}

/// Routes one request. The tenant is the token's `tid`.
pub fn dispatch(ctx: &Ctx<'_>, req: &GraphRequest) -> GraphReply {
    let Some(tref) = ctx.state.tenant(&ctx.claims.tid) else {
        return error(
            401,
            "InvalidAuthenticationToken",
            AuthError::UnknownTenant(String::new()).graph_message(),
        );
    };
    let mut t = lock(&tref);
    let raw: Vec<String> = req
        .path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    // user-get: `/users/$x@y.com` "violates the OData URL convention, which expects only system
    // query options to be prefixed with a `$` character" and fails with 400.
    if raw.len() >= 2 && raw[0] == "users" && raw[1].starts_with('$') {
        return bad_request(format!(
            "Invalid request: the segment '{}' reads as a system query option; address the user as /users('{}').",
            raw[1], raw[1]
        ));
    }
    let segs: Vec<String> = raw.iter().flat_map(|seg| key_segment(seg)).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    route(ctx, &mut t, req, &segs)
}

/// `users('key')` is `users/key` (OData's key-in-parentheses form, quotes doubled inside).
fn key_segment(seg: &str) -> Vec<String> {
    match seg.split_once("('") {
        Some((name, rest)) if !name.is_empty() && rest.ends_with("')") => {
            let key = rest.trim_end_matches("')").replace("''", "'");
            vec![name.to_owned(), key]
        }
        _ => vec![seg.to_owned()],
    }
}

fn percent_decode(s: &str) -> String {
    let bytes: Vec<u8> = s.bytes().collect();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn need(ctx: &Ctx<'_>, roles: &[&str]) -> Option<GraphReply> {
    (!ctx.claims.has_any(roles)).then(forbidden)
}

fn route(ctx: &Ctx<'_>, t: &mut Tenant, req: &GraphRequest, segs: &[&str]) -> GraphReply {
    macro_rules! guard {
        ($roles:expr) => {
            if let Some(denied) = need(ctx, $roles) {
                return denied;
            }
        };
    }
    let m = req.method.as_str();
    // A group named right after its creation may be unknown to the replica that answers.
    if let ["groups", id, ..] = segs
        && let Some(group) = t.find_group(id)
        && t.replicating(group.created_at, ctx.now)
    {
        return error(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    }
    match (m, segs) {
        ("GET", ["organization"]) => {
            guard!(R_ORG);
            directory::organization(ctx, t, req, None)
        }
        ("GET", ["organization", id]) => {
            guard!(R_ORG);
            directory::organization(ctx, t, req, Some(id))
        }
        ("GET", ["domains"]) => {
            guard!(R_DOMAINS);
            directory::domains(t, req)
        }
        ("GET", ["domains", id]) => {
            guard!(R_DOMAINS);
            directory::domain(t, req, id)
        }
        ("GET", ["domains", id, "serviceConfigurationRecords"]) => {
            guard!(R_DOMAINS);
            directory::service_configuration_records(t, id)
        }
        ("GET", ["users"]) => {
            guard!(R_USERS);
            users::list(ctx, t, req)
        }
        ("GET", ["users", d]) if is_delta(d) => {
            guard!(R_USERS);
            delta::users(ctx, t, req)
        }
        ("GET", ["users", id]) => {
            guard!(R_USERS);
            users::get(t, req, id)
        }
        ("GET", ["users", id, "drive"]) => {
            if need(ctx, R_FILES).is_some() {
                return error(403, "accessDenied", "Access denied");
            }
            directory::user_drive(t, id)
        }
        ("GET", ["groups"]) => {
            guard!(R_GROUPS_READ);
            groups::list(ctx, t, req)
        }
        ("POST", ["groups"]) => {
            guard!(R_GROUPS_CREATE);
            groups::create(ctx, t, req)
        }
        ("GET", ["groups", d]) if is_delta(d) => {
            guard!(R_GROUPS_READ);
            delta::groups(ctx, t, req)
        }
        ("GET", ["groups", id]) => {
            guard!(R_GROUPS_READ);
            groups::get(t, req, id)
        }
        ("PATCH", ["groups", id]) => {
            guard!(R_GROUPS_WRITE);
            groups::patch(ctx, t, req, id)
        }
        ("DELETE", ["groups", id]) => {
            guard!(R_GROUPS_WRITE);
            groups::delete(t, id)
        }
        ("GET", ["groups", id, "members"]) | ("GET", ["groups", id, "members", "microsoft.graph.user"]) => {
            guard!(R_GROUPS_READ);
            groups::members(ctx, t, req, id)
        }
        ("POST", ["groups", id, "members", "$ref"]) => {
            guard!(R_MEMBERS_WRITE);
            groups::add_member_ref(ctx, t, req, id)
        }
        ("DELETE", ["groups", id, "members", member, "$ref"]) => {
            guard!(R_MEMBERS_WRITE);
            groups::remove_member_ref(t, id, member)
        }
        ("GET", ["servicePrincipals"]) => {
            guard!(R_APPS);
            apps::list_service_principals(t, req)
        }
        ("GET", [sp]) if sp.starts_with("servicePrincipals(") => {
            guard!(R_APPS);
            apps::service_principal(t, req, sp)
        }
        ("GET", ["servicePrincipals", id]) => {
            guard!(R_APPS);
            apps::service_principal(t, req, id)
        }
        ("DELETE", ["servicePrincipals", id]) => {
            guard!(R_APPS_WRITE);
            apps::delete_service_principal(t, id, ctx.now)
        }
        ("GET", [sp, "appRoleAssignments"]) if sp.starts_with("servicePrincipals(") => {
            guard!(R_APPS);
            apps::app_role_assignments(t, sp)
        }
        ("GET", ["servicePrincipals", id, "appRoleAssignments"]) => {
            guard!(R_APPS);
            apps::app_role_assignments(t, id)
        }
        ("GET", ["roleManagement", "directory", "roleAssignments"]) => {
            guard!(R_ROLES_READ);
            apps::list_role_assignments(ctx, t, req)
        }
        ("POST", ["roleManagement", "directory", "roleAssignments"]) => {
            guard!(R_ROLES_WRITE);
            apps::create_role_assignment(ctx, t, req)
        }
        ("GET", ["roleManagement", "directory", "roleAssignments", id]) => {
            guard!(R_ROLES_READ);
            apps::get_role_assignment(t, id)
        }
        ("DELETE", ["roleManagement", "directory", "roleAssignments", id]) => {
            guard!(R_ROLES_WRITE);
            apps::delete_role_assignment(t, id)
        }
        ("GET", ["sites", "root"]) => {
            if need(ctx, R_SITES).is_some() {
                return error(403, "accessDenied", "Access denied");
            }
            directory::site_root(t)
        }
        _ => {
            let first = segs.first().copied().unwrap_or_default();
            let known = [
                "organization",
                "domains",
                "users",
                "groups",
                "servicePrincipals",
                "roleManagement",
                "sites",
                "$batch",
            ];
            if known.contains(&first) && segs.len() <= 2 {
                error(
                    405,
                    "Request_BadRequest",
                    format!("The HTTP method '{m}' is not supported for this resource."),
                )
            } else {
                let unknown = if known.contains(&first) {
                    segs.last().copied().unwrap_or(first)
                } else {
                    first
                };
                bad_request(format!("Resource not found for the segment '{unknown}'."))
            }
        }
    }
}

/// Graph's answer for an injected fault.
pub fn fault_reply(hit: &FaultHit, status: u16) -> GraphReply {
    let mut r = match status {
        429 => {
            let mut r = error(429, "TooManyRequests", "Too many requests.");
            if let Some(inner) = r
                .body
                .as_mut()
                .and_then(|b| b["error"]["innerError"].as_object_mut())
            {
                inner.insert("code".into(), json!("429"));
                inner.insert("message".into(), json!("Please retry after"));
                inner.insert("status".into(), json!("429"));
            }
            r
        }
        503 => error(
            503,
            "serviceNotAvailable",
            "Service unavailable. Please retry later.",
        ),
        504 => error(504, "gatewayTimeout", "Gateway timeout."),
        // What the directory answers a token without the permission the call needs.
        403 => forbidden(),
        s => error(
            s,
            "generalException",
            "An injected fault occurred while processing the request.",
        ),
    };
    if let Some(ra) = &hit.retry_after {
        r.headers.push(("Retry-After".into(), ra.clone()));
    }
    r
}

/// Runs one request through the fault, auth and dispatch pipeline. Used for plain requests and
/// for every `$batch` sub-request, which Graph throttles individually.
pub async fn pipeline(
    state: &SimState,
    verified: &Result<AccessClaims, AuthError>,
    req: &GraphRequest,
    count: bool,
) -> GraphReply {
    let tenant_label = verified.as_ref().map(|c| c.tid.as_str()).unwrap_or("-");
    if count {
        state
            .stats
            .record(tenant_label, Surface::Graph, req.method != "GET");
    }
    let hit = state.faults.take(
        tenant_label,
        Surface::Graph,
        &format!("{} {}", req.method, req.path),
    );
    if let Some((h, s)) = strike(hit.as_ref(), Phase::Before).await {
        return fault_reply(h, s);
    }
    let claims = match verified {
        Ok(c) => c,
        Err(e) => return error(401, "InvalidAuthenticationToken", e.graph_message()),
    };
    if let Err(e) = auth::check(state, claims, GRAPH_RESOURCE, None) {
        return error(401, "InvalidAuthenticationToken", e.graph_message());
    }
    let ctx = Ctx {
        state,
        claims,
        now: state.clock.now(),
    };
    let r = dispatch(&ctx, req);
    // Applied: a delay now is an answer that arrives late, or never (a caller that dies).
    if let Some((h, s)) = strike(hit.as_ref(), Phase::After).await {
        return fault_reply(h, s);
    }
    r
}

/// HTTP handler for everything under `/v1.0/`.
pub async fn handle(
    State(state): State<Arc<SimState>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().strip_prefix("/v1.0").unwrap_or(uri.path()).to_owned();
    let verified = auth::verify(&state, &headers);
    state.stats.round_trip(
        verified.as_ref().map(|c| c.tid.as_str()).unwrap_or("-"),
        Surface::Graph,
        crate::reply::traced(&headers),
    );
    let body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                state.stats.record(
                    verified.as_ref().map(|c| c.tid.as_str()).unwrap_or("-"),
                    Surface::Graph,
                    false,
                );
                return bad_request(format!("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"))
                    .into_response();
            }
        }
    };
    let req = GraphRequest {
        method: method.as_str().to_ascii_uppercase(),
        path,
        query: Query::parse(uri.query().unwrap_or("")),
        body,
    };
    if req.path == "/$batch" && req.method == "POST" {
        return batch::run(&state, &verified, &req).await.into_response();
    }
    pipeline(&state, &verified, &req, true).await.into_response()
}
