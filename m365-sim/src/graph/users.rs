//! `GET /users`, `GET /users/{id | userPrincipalName}`.

use m365_sim_model::tenant::{Tenant, User};
use serde_json::{Value, json};

use super::{
    Ctx, GraphReply, GraphRequest, bad_request, not_found,
    odata::{self, Query},
};

/// Properties `$select` accepts on users.
pub const PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "givenName",
    "surname",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "proxyAddresses",
    "accountEnabled",
    "userType",
    "createdDateTime",
    "businessPhones",
    "jobTitle",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "onPremisesSyncEnabled",
    "otherMails",
    "usageLocation",
];

/// Properties returned without `$select` (Graph v1.0 defaults).
pub const DEFAULT_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Value of one user property.
pub fn prop(t: &Tenant, u: &User, name: &str) -> Value {
    let (given, surname) = u.display_name.split_once(' ').unwrap_or((&u.display_name, ""));
    match name {
        "id" => json!(u.id),
        "displayName" => json!(u.display_name),
        "givenName" => json!(given),
        "surname" => json!(surname),
        "userPrincipalName" => json!(u.upn),
        "mail" => json!(u.mail()),
        "mailNickname" => json!(u.upn.split('@').next().unwrap_or_default()),
        "proxyAddresses" => json!([format!("SMTP:{}", u.mail())]),
        "accountEnabled" => json!(true),
        "userType" => json!("Member"),
        "createdDateTime" => json!(m365_sim_model::clock::graph_time(t.created_at)),
        "businessPhones" | "otherMails" => json!([]),
        "preferredLanguage" => json!("en-US"),
        "usageLocation" => json!("US"),
        _ => Value::Null,
    }
}

/// A user as JSON with the selected (or default) properties.
pub fn render(t: &Tenant, u: &User, select: Option<&[String]>) -> serde_json::Map<String, Value> {
    let defaults: Vec<String>;
    let props = match select {
        Some(s) if !s.is_empty() => s,
        _ => {
            defaults = DEFAULT_PROPERTIES.iter().map(|s| (*s).to_owned()).collect();
            &defaults
        }
    };
    let mut m = odata::project(props, &|p| prop(t, u, p));
    // Graph always returns the id, even when not selected.
    m.entry("id").or_insert_with(|| json!(u.id));
    m
}

/// `GET /users` with `$top` (default 100, max 999), `$select`, `$filter` and `$skiptoken` paging.
pub fn list(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest) -> GraphReply {
    let q = &req.query;
    let select = or_reply!(odata::select(q, PROPERTIES, "user"));
    let top = or_reply!(odata::top(q, 100, 999));
    let filter = or_reply!(odata::filter(q));
    let start = or_reply!(skip_offset(q, &t.id));
    let mut value = Vec::with_capacity(top.min(t.users.len()));
    let mut next = None;
    for (i, u) in t.users.iter().enumerate().skip(start) {
        if !u.alive() || !filter.iter().all(|c| odata::matches(c, &|p| prop(t, u, p))) {
            continue;
        }
        if value.len() == top {
            next = Some(i);
            break;
        }
        value.push(Value::Object(render(t, u, select.as_deref())));
    }
    let mut body = json!({
        "@odata.context": odata::context("users", select.as_deref()),
        "value": value,
    });
    if let Some(i) = next {
        let tok = odata::encode_token(&json!({"t": t.id, "o": i}));
        body["@odata.nextLink"] = json!(q.link(ctx.base(), "users", "$skiptoken", &tok));
    }
    GraphReply::ok(body)
}

/// Offset encoded in `$skiptoken`, checked to belong to this tenant.
pub fn skip_offset(q: &Query, tenant: &str) -> Result<usize, GraphReply> {
    let Some(tok) = q.get("$skiptoken") else {
        return Ok(0);
    };
    let v = odata::decode_token(tok).ok_or_else(|| bad_request("The $skiptoken is invalid."))?;
    if v["t"] != json!(tenant) {
        return Err(bad_request("The $skiptoken is invalid."));
    }
    v["o"]
        .as_u64()
        .map(|o| o as usize)
        .ok_or_else(|| bad_request("The $skiptoken is invalid."))
}

/// `GET /users/{id | userPrincipalName}`. A key that starts with `$` must be given in
/// parentheses (`/users('$x@y.com')`): in the path it reads as a system query option.
pub fn get(t: &Tenant, req: &GraphRequest, key: &str) -> GraphReply {
    let select = or_reply!(odata::select(&req.query, PROPERTIES, "user"));
    match t.find_user(key) {
        Some(u) => {
            let mut m = render(t, u, select.as_deref());
            let ctx = format!("{}/$entity", odata::context("users", select.as_deref()));
            m.insert("@odata.context".into(), json!(ctx));
            GraphReply::ok(Value::Object(m))
        }
        None => not_found(key),
    }
}
