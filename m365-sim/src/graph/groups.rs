//! Groups: list, create (Unified), get, PATCH (`members@odata.bind`), delete, members and `$ref`.

use m365_sim_model::{
    clock::graph_time,
    tenant::{Group, Tenant},
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Ctx, GraphReply, GraphRequest, bad_request, directory_bad_request, not_found, odata, users};

/// Properties `$select` accepts on groups.
pub const PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "members",
];

/// Values Graph accepts in `resourceBehaviorOptions`.
const BEHAVIOR_OPTIONS: &[&str] = &[
    "AllowOnlyMembersToPost",
    "HideGroupInOutlook",
    "SubscribeMembersToCalendarEventsDisabled",
    "SubscribeNewGroupMembers",
    "WelcomeEmailDisabled",
];

/// Graph's limit on links changed in one request (members and owners together).
pub const MAX_LINK_CHANGES: usize = 20;

/// Value of one group property.
pub fn prop(t: &Tenant, g: &Group, name: &str) -> Value {
    let dd = t.default_domain();
    match name {
        "id" => json!(g.id),
        "displayName" => json!(g.display_name),
        "description" => json!(g.description),
        "groupTypes" => json!(if g.unified { vec!["Unified"] } else { vec![] }),
        "mail" => json!(g.mail(dd)),
        "mailEnabled" => json!(g.mail_enabled),
        "mailNickname" => json!(g.mail_nickname),
        "securityEnabled" => json!(g.security_enabled),
        "visibility" => json!(g.visibility),
        "resourceBehaviorOptions" => json!(g.resource_behavior_options),
        "resourceProvisioningOptions" | "creationOptions" => json!([]),
        "proxyAddresses" => json!(g.mail(dd).map(|m| vec![format!("SMTP:{m}")]).unwrap_or_default()),
        "createdDateTime" | "renewedDateTime" => json!(graph_time(g.created_at)),
        "securityIdentifier" => {
            let b = g.id.as_bytes();
            json!(format!(
                "S-1-12-1-{}-{}-{}-{}",
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
                u32::from_le_bytes([b[12], b[13], b[14], b[15]])
            ))
        }
        _ => Value::Null,
    }
}

fn render(t: &Tenant, g: &Group, select: Option<&[String]>) -> Map<String, Value> {
    project(t, g, select.filter(|s| !s.is_empty()), PROPERTIES)
}

/// The group's `select`ed properties (`defaults` without a `$select`), never `members`, always
/// with its `id`.
pub(super) fn project(
    t: &Tenant,
    g: &Group,
    select: Option<&[String]>,
    defaults: &[&str],
) -> Map<String, Value> {
    let props: Vec<String> = match select {
        Some(s) => s.iter().filter(|p| *p != "members").cloned().collect(),
        None => defaults
            .iter()
            .filter(|p| **p != "members")
            .map(|s| (*s).to_owned())
            .collect(),
    };
    let mut m = odata::project(&props, &|p| prop(t, g, p));
    m.entry("id").or_insert_with(|| json!(g.id));
    m
}

/// `GET /groups` with `$filter`, `$select`, `$top`, paging.
pub fn list(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest) -> GraphReply {
    let q = &req.query;
    let select = or_reply!(odata::select(q, PROPERTIES, "group"));
    let (top, filter, start) = match (
        odata::top(q, 100, 999),
        odata::filter(q),
        users::skip_offset(q, &t.id),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let mut value = Vec::new();
    let mut next = None;
    for (i, g) in t.groups.iter().enumerate().skip(start) {
        // A new group is listed once it has replicated.
        let listed = g.alive() && !t.replicating(g.created_at, ctx.now);
        if !listed || !filter.iter().all(|c| odata::matches(c, &|p| prop(t, g, p))) {
            continue;
        }
        if value.len() == top {
            next = Some(i);
            break;
        }
        value.push(Value::Object(render(t, g, select.as_deref())));
    }
    let mut body = json!({"@odata.context": odata::context("groups", select.as_deref()), "value": value});
    if let Some(i) = next {
        let tok = odata::encode_token(&json!({"t": t.id, "o": i}));
        body["@odata.nextLink"] = json!(q.link(ctx.base(), "groups", "$skiptoken", &tok));
    }
    GraphReply::ok(body)
}

/// `GET /groups/{id}`.
pub fn get(t: &Tenant, req: &GraphRequest, id: &str) -> GraphReply {
    let select = or_reply!(odata::select(&req.query, PROPERTIES, "group"));
    match t.find_group(id) {
        Some(g) => {
            let mut m = render(t, g, select.as_deref());
            m.insert(
                "@odata.context".into(),
                json!("https://graph.microsoft.com/v1.0/$metadata#groups/$entity"),
            );
            GraphReply::ok(Value::Object(m))
        }
        None => not_found(id),
    }
}

fn invalid(prop: &str) -> GraphReply {
    directory_bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'Group'."
    ))
}

/// Resolves `...@odata.bind` URLs (`https://graph.microsoft.com/v1.0/users/{id}`,
/// `.../directoryObjects/{id}`) to existing object ids.
fn resolve_binds(t: &Tenant, v: Option<&Value>, prop: &str) -> Result<Vec<Uuid>, GraphReply> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let arr = v.as_array().ok_or_else(|| invalid(prop))?;
    let mut out: Vec<Uuid> = Vec::new();
    for x in arr {
        let url = x.as_str().ok_or_else(|| invalid(prop))?;
        let id = object_id_from_url(url)
            .ok_or_else(|| directory_bad_request(format!("Invalid object identifier '{url}'.")))?;
        if t.object_kind(id).is_none() {
            return Err(directory_bad_request(format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            )));
        }
        if out.contains(&id) {
            return Err(directory_bad_request(format!(
                "Object '{id}' referenced from the group can only be present once as an add/remove change."
            )));
        }
        out.push(id);
    }
    Ok(out)
}

/// The object id at the end of an `@odata.id` / `@odata.bind` URL.
pub fn object_id_from_url(url: &str) -> Option<Uuid> {
    let path = url.split('?').next().unwrap_or(url).trim_end_matches('/');
    let mut parts = path.rsplit('/');
    let id = parts.next()?;
    let kind = parts.next()?;
    if !matches!(
        kind,
        "directoryObjects" | "users" | "groups" | "servicePrincipals"
    ) {
        return None;
    }
    Uuid::parse_str(id).ok()
}

/// `POST /groups`.
pub fn create(ctx: &Ctx<'_>, t: &mut Tenant, req: &GraphRequest) -> GraphReply {
    let Some(b) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    for k in b.keys() {
        let known = PROPERTIES.contains(&k.as_str()) || k == "members@odata.bind" || k == "owners@odata.bind";
        if !known || matches!(k.as_str(), "id" | "members") {
            return bad_request(format!(
                "Property '{k}' does not exist on type 'microsoft.graph.group'. Make sure to only use property names that are defined by the type or mark the type as open type."
            ));
        }
    }
    let Some(display) = b
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return invalid("displayName");
    };
    let Some(mail_enabled) = b.get("mailEnabled").and_then(Value::as_bool) else {
        return invalid("mailEnabled");
    };
    let Some(security_enabled) = b.get("securityEnabled").and_then(Value::as_bool) else {
        return invalid("securityEnabled");
    };
    let Some(nick) = b.get("mailNickname").and_then(Value::as_str) else {
        return invalid("mailNickname");
    };
    if nick.is_empty()
        || nick.len() > 64
        || nick
            .chars()
            .any(|c| c.is_whitespace() || !c.is_ascii() || "@()\\[]\";:<>,".contains(c))
    {
        return invalid("mailNickname");
    }
    let mut unified = false;
    if let Some(gt) = b.get("groupTypes") {
        let Some(arr) = gt.as_array() else {
            return invalid("groupTypes");
        };
        for x in arr {
            match x.as_str() {
                Some("Unified") => unified = true,
                Some("DynamicMembership") => {
                    return directory_bad_request(
                        "The simulator does not support dynamic membership groups.",
                    );
                }
                _ => return invalid("groupTypes"),
            }
        }
    }
    if mail_enabled && !unified {
        return directory_bad_request(
            "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.",
        );
    }
    if unified && !mail_enabled {
        return invalid("mailEnabled");
    }
    let visibility = match b.get("visibility") {
        None | Some(Value::Null) => unified.then(|| "Public".to_owned()),
        Some(Value::String(v)) if ["Public", "Private", "HiddenMembership"].contains(&v.as_str()) => {
            Some(v.clone())
        }
        _ => return invalid("visibility"),
    };
    let mut rbo = Vec::new();
    if let Some(v) = b.get("resourceBehaviorOptions") {
        let Some(arr) = v.as_array() else {
            return invalid("resourceBehaviorOptions");
        };
        for x in arr {
            match x
                .as_str()
                .and_then(|s| BEHAVIOR_OPTIONS.iter().find(|o| o.eq_ignore_ascii_case(s)))
            {
                Some(o) if unified => rbo.push((*o).to_owned()),
                _ => return invalid("resourceBehaviorOptions"),
            }
        }
    }
    let members = or_reply!(resolve_binds(t, b.get("members@odata.bind"), "members"));
    let owners = or_reply!(resolve_binds(t, b.get("owners@odata.bind"), "owners"));
    if members.len() + owners.len() > MAX_LINK_CHANGES {
        return directory_bad_request("A resource cannot contain more than 20 link changes.");
    }
    if unified
        && t.groups
            .iter()
            .any(|g| g.alive() && g.mail_enabled && g.mail_nickname.eq_ignore_ascii_case(nick))
    {
        return directory_bad_request(
            "Another object with the same value for property proxyAddresses already exists.",
        );
    }
    let id = t.ids.uuid();
    let seq = t.next_seq();
    let group = Group {
        id,
        display_name: display.to_owned(),
        mail_nickname: nick.to_owned(),
        description: b.get("description").and_then(Value::as_str).map(str::to_owned),
        unified,
        mail_enabled,
        security_enabled,
        visibility,
        resource_behavior_options: rbo,
        member_log: members.iter().map(|m| (seq, *m, true)).collect(),
        members,
        owners,
        created_at: ctx.now,
        exchange_visible_at: ctx.now + t.group_propagation,
        changed_seq: seq,
        deleted_seq: 0,
        joined: Vec::new(),
    };
    let mut m = render(t, &group, None);
    m.insert(
        "@odata.context".into(),
        json!("https://graph.microsoft.com/v1.0/$metadata#groups/$entity"),
    );
    t.groups.push(group);
    GraphReply::created(Value::Object(m))
}

/// `PATCH /groups/{id}`: properties and `members@odata.bind` (at most 20 links).
pub fn patch(ctx: &Ctx<'_>, t: &mut Tenant, req: &GraphRequest, id: &str) -> GraphReply {
    let Some(b) = req.body.as_ref().and_then(Value::as_object) else {
        return bad_request("Empty Payload. JSON content expected.");
    };
    if t.find_group(id).is_none() {
        return not_found(id);
    }
    if b.contains_key("resourceBehaviorOptions") {
        // Graph only honours these at creation time.
        return directory_bad_request("Property 'resourceBehaviorOptions' is read-only and cannot be set.");
    }
    let add = or_reply!(resolve_binds(t, b.get("members@odata.bind"), "members"));
    let add_owners = or_reply!(resolve_binds(t, b.get("owners@odata.bind"), "owners"));
    if add.len() + add_owners.len() > MAX_LINK_CHANGES {
        return directory_bad_request("A resource cannot contain more than 20 link changes.");
    }
    for k in b.keys() {
        if !matches!(
            k.as_str(),
            "displayName" | "description" | "visibility" | "members@odata.bind" | "owners@odata.bind"
        ) {
            return bad_request(format!("Property '{k}' cannot be updated by the simulator."));
        }
    }
    let seq = t.next_seq();
    let Some(g) = t.find_group_mut(id) else {
        return not_found(id);
    };
    if add.iter().any(|m| g.members.contains(m)) {
        return directory_bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        );
    }
    if let Some(d) = b.get("displayName").and_then(Value::as_str) {
        g.display_name = d.to_owned();
    }
    if let Some(d) = b.get("description") {
        g.description = d.as_str().map(str::to_owned);
    }
    if let Some(v) = b.get("visibility").and_then(Value::as_str) {
        g.visibility = Some(v.to_owned());
    }
    for m in add {
        g.members.push(m);
        g.member_log.push((seq, m, true));
        g.joined.push((m, ctx.now));
    }
    for o in add_owners {
        if !g.owners.contains(&o) {
            g.owners.push(o);
        }
    }
    g.changed_seq = seq;
    GraphReply::no_content()
}

/// `DELETE /groups/{id}` (soft delete: the group shows as removed in delta).
pub fn delete(t: &mut Tenant, id: &str) -> GraphReply {
    let seq = t.next_seq();
    match t.find_group_mut(id) {
        Some(g) => {
            g.deleted_seq = seq;
            g.changed_seq = seq;
            GraphReply::no_content()
        }
        None => not_found(id),
    }
}

/// `GET /groups/{id}/members` (also `/members/microsoft.graph.user`), paged.
pub fn members(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest, id: &str) -> GraphReply {
    let q = &req.query;
    let Some(g) = t.find_group(id) else {
        return not_found(id);
    };
    let select = or_reply!(odata::select(q, users::PROPERTIES, "user"));
    let (top, start) = match (odata::top(q, 100, 999), users::skip_offset(q, &t.id)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let only_users = req.path.ends_with("microsoft.graph.user");
    let mut value = Vec::new();
    let mut next = None;
    for (i, m) in g.members.iter().enumerate().skip(start) {
        // A new membership is listed once it has replicated.
        if g.joined
            .iter()
            .any(|(j, at)| j == m && t.replicating(*at, ctx.now))
        {
            continue;
        }
        let item = if let Some(u) = t.user_by_id(*m).filter(|u| u.alive()) {
            let mut o = users::render(t, u, select.as_deref());
            o.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            o
        } else if only_users {
            continue;
        } else {
            let mut o = Map::new();
            o.insert(
                "@odata.type".into(),
                json!(t.object_kind(*m).unwrap_or("#microsoft.graph.directoryObject")),
            );
            o.insert("id".into(), json!(m));
            o
        };
        if value.len() == top {
            next = Some(i);
            break;
        }
        value.push(Value::Object(item));
    }
    let path = req.path.trim_start_matches('/').to_owned();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
        "value": value,
    });
    if let Some(i) = next {
        let tok = odata::encode_token(&json!({"t": t.id, "o": i}));
        body["@odata.nextLink"] = json!(q.link(ctx.base(), &path, "$skiptoken", &tok));
    }
    GraphReply::ok(body)
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`.
pub fn add_member_ref(ctx: &Ctx<'_>, t: &mut Tenant, req: &GraphRequest, id: &str) -> GraphReply {
    // group-post-members: the body is `{"@odata.id": ".../directoryObjects/{id}"}` and only that.
    if let Some(unknown) = req
        .body
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|b| b.keys().find(|k| *k != "@odata.id"))
    {
        return bad_request(format!(
            "Property '{unknown}' is not allowed in a reference's body; send only '@odata.id'."
        ));
    }
    let Some(url) = req
        .body
        .as_ref()
        .and_then(|b| b.get("@odata.id"))
        .and_then(Value::as_str)
    else {
        return bad_request("Missing '@odata.id' in the request body.");
    };
    let Some(member) = object_id_from_url(url) else {
        return bad_request(format!("Invalid object identifier '{url}'."));
    };
    if t.find_group(id).is_none() {
        return not_found(id);
    }
    if t.object_kind(member).is_none() {
        return not_found(&member.to_string());
    }
    let seq = t.next_seq();
    let Some(g) = t.find_group_mut(id) else {
        return not_found(id);
    };
    if g.members.contains(&member) {
        return directory_bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        );
    }
    g.members.push(member);
    g.member_log.push((seq, member, true));
    g.joined.push((member, ctx.now));
    g.changed_seq = seq;
    GraphReply::no_content()
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`.
pub fn remove_member_ref(t: &mut Tenant, id: &str, member: &str) -> GraphReply {
    let seq = t.next_seq();
    let Some(g) = t.find_group_mut(id) else {
        return not_found(id);
    };
    let pos = Uuid::parse_str(member)
        .ok()
        .and_then(|m| g.members.iter().position(|x| *x == m));
    match pos {
        Some(p) => {
            let m = g.members.remove(p);
            g.member_log.push((seq, m, false));
            g.joined.retain(|(j, _)| *j != m);
            g.changed_seq = seq;
            GraphReply::no_content()
        }
        None => not_found(member),
    }
}
