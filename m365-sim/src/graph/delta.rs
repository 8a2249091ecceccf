//! `users/delta` and `groups/delta`: fixed 200-object pages, `@odata.nextLink` until the last
//! page, which carries `@odata.deltaLink`; `@removed` for deleted objects; `$deltatoken=latest`;
//! tokens that expire after 7 simulated days (400 `syncStateNotFound`, as Graph answers).

use std::collections::BTreeMap;

use chrono::TimeDelta;
use m365_sim_model::tenant::Tenant;
use serde_json::{Map, Value, json};

use super::{
    Ctx, GraphReply, GraphRequest, bad_request, error, groups,
    odata::{self, Query},
    users,
};

/// Objects per delta page, as Graph returns for users.
pub const PAGE_SIZE: usize = 200;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Groups => "groups",
        }
    }
}

/// Where a delta round stands: changes after `since` up to `upto`, resuming at `pos`.
struct Cursor {
    since: Option<u64>,
    upto: u64,
    pos: usize,
    select: Option<String>,
}

/// `GET /users/delta`.
pub fn users(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest) -> GraphReply {
    run(ctx, t, req, Kind::Users)
}

/// `GET /groups/delta`.
pub fn groups(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest) -> GraphReply {
    run(ctx, t, req, Kind::Groups)
}

/// Microsoft's answer to an expired delta token (devblogs "Duration of change tracking tokens
/// for identity and education resources": 400, not 410).
fn expired() -> GraphReply {
    error(
        400,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    )
}

fn parse_cursor(ctx: &Ctx<'_>, t: &Tenant, q: &Query, kind: Kind) -> Result<Cursor, GraphReply> {
    let invalid = || bad_request("The delta or skip token is malformed or does not belong to this request.");
    let lifetime = TimeDelta::seconds(ctx.state.config.delta_token_lifetime_secs as i64);
    let token = q
        .get("$deltatoken")
        .map(|v| ("d", v))
        .or_else(|| q.get("$skiptoken").map(|v| ("s", v)));
    let Some((which, raw)) = token else {
        let select = q.get("$select").map(str::to_owned);
        return Ok(Cursor {
            since: None,
            upto: t.seq,
            pos: 0,
            select,
        });
    };
    if which == "d" && raw.eq_ignore_ascii_case("latest") {
        // "Sync from now": no data, only a delta link.
        return Ok(Cursor {
            since: Some(t.seq),
            upto: t.seq,
            pos: usize::MAX,
            select: q.get("$select").map(str::to_owned),
        });
    }
    let v = odata::decode_token(raw).ok_or_else(invalid)?;
    if v["t"] != json!(t.id) || v["k"] != json!(kind.name()) {
        return Err(invalid());
    }
    let issued = v["i"].as_i64().ok_or_else(invalid)?;
    if ctx.now.timestamp() - issued > lifetime.num_seconds() {
        return Err(expired());
    }
    let since = v["s"].as_u64();
    let select = v["sel"].as_str().map(str::to_owned);
    if which == "d" {
        // A delta link starts a new round: everything changed after `s` up to now.
        Ok(Cursor {
            since,
            upto: t.seq,
            pos: 0,
            select,
        })
    } else {
        let upto = v["u"].as_u64().ok_or_else(invalid)?;
        let pos = v["p"].as_u64().ok_or_else(invalid)? as usize;
        Ok(Cursor {
            since,
            upto,
            pos,
            select,
        })
    }
}

fn run(ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest, kind: Kind) -> GraphReply {
    let q = &req.query;
    for unsupported in ["$top", "$orderby", "$expand", "$search"] {
        if q.get(unsupported).is_some() {
            return bad_request(format!(
                "The query parameter '{unsupported}' is not supported with delta queries."
            ));
        }
    }
    let cur = or_reply!(parse_cursor(ctx, t, q, kind));
    // $select travels inside the tokens, as in Graph: later links need not repeat it.
    let sel_query = Query {
        pairs: cur
            .select
            .iter()
            .map(|s| ("$select".to_owned(), s.clone()))
            .collect(),
    };
    let (props, entity) = match kind {
        Kind::Users => (users::PROPERTIES, "user"),
        Kind::Groups => (groups::PROPERTIES, "group"),
    };
    let select = or_reply!(odata::select(&sel_query, props, entity));
    let in_round = |changed: u64| cur.since.is_none_or(|s| changed > s);
    let mut value = Vec::new();
    let mut next_pos = None;
    let len = match kind {
        Kind::Users => t.users.len(),
        Kind::Groups => t.groups.len(),
    };
    let mut i = cur.pos;
    while i < len {
        let (changed, alive, id) = match kind {
            Kind::Users => {
                let u = &t.users[i];
                (u.changed_seq, u.alive(), u.id)
            }
            Kind::Groups => {
                let g = &t.groups[i];
                (g.changed_seq, g.alive(), g.id)
            }
        };
        let item = if changed > cur.upto || !in_round(changed) || (cur.since.is_none() && !alive) {
            None
        } else if !alive {
            Some(removed(id))
        } else {
            Some(match kind {
                Kind::Users
                    if t.delta_changed_properties_only && cur.since.is_some() && t.users[i].renamed != 0 =>
                {
                    changed_only(t, &t.users[i], select.as_deref())
                }
                Kind::Users => users::render(t, &t.users[i], select.as_deref()),
                Kind::Groups => group_item(t, &t.groups[i], select.as_deref(), &cur),
            })
        };
        if let Some(item) = item {
            if value.len() == PAGE_SIZE {
                next_pos = Some(i);
                break;
            }
            value.push(Value::Object(item));
        }
        i += 1;
    }
    let path = format!("{}/delta", kind.name());
    let context = odata::context(kind.name(), select.as_deref());
    let mut body = json!({"@odata.context": context, "value": value});
    let now = ctx.now.timestamp();
    let mut link_q = Query::default();
    if q.get("$filter").is_some() {
        link_q
            .pairs
            .push(("$filter".into(), q.get("$filter").unwrap_or_default().to_owned()));
    }
    match next_pos {
        Some(p) => {
            let tok = odata::encode_token(&json!({
                "t": t.id, "k": kind.name(), "s": cur.since, "u": cur.upto, "p": p, "i": now, "sel": cur.select,
            }));
            body["@odata.nextLink"] = json!(link_q.link(ctx.base(), &path, "$skiptoken", &tok));
        }
        None => {
            let tok = odata::encode_token(
                &json!({"t": t.id, "k": kind.name(), "s": cur.upto, "i": now, "sel": cur.select}),
            );
            body["@odata.deltaLink"] = json!(link_q.link(ctx.base(), &path, "$deltatoken", &tok));
        }
    }
    GraphReply::ok(body)
}

/// A renamed user as an incremental round may show it: its id and what the rename changed.
fn changed_only(
    t: &Tenant,
    u: &m365_sim_model::tenant::User,
    select: Option<&[String]>,
) -> Map<String, Value> {
    use m365_sim_model::tenant::{RENAMED_DISPLAY_NAME, RENAMED_UPN};
    let changed: Vec<String> = [
        ("userPrincipalName", RENAMED_UPN),
        ("displayName", RENAMED_DISPLAY_NAME),
    ]
    .into_iter()
    .filter(|(name, bit)| u.renamed & bit != 0 && select.is_none_or(|s| s.iter().any(|p| p == name)))
    .map(|(name, _)| name.to_owned())
    .collect();
    let mut m = users::render(t, u, Some(&changed));
    m.retain(|k, _| k == "id" || changed.contains(k));
    m
}

/// The properties of a group in a delta round without `$select`.
const DEFAULT_GROUP_PROPERTIES: &[&str] = &[
    "displayName",
    "description",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "visibility",
];

/// A live group as a delta round shows it: its `select`ed properties and its member changes.
fn group_item(
    t: &Tenant,
    g: &m365_sim_model::tenant::Group,
    select: Option<&[String]>,
    cur: &Cursor,
) -> Map<String, Value> {
    let mut m = groups::project(t, g, select, DEFAULT_GROUP_PROPERTIES);
    let wants_members = select.is_none_or(|s| s.iter().any(|p| p == "members"));
    if wants_members {
        m.insert(
            "members@delta".into(),
            Value::Array(member_changes(t, g, cur.since, cur.upto)),
        );
    }
    m
}

fn removed(id: uuid::Uuid) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("@removed".into(), json!({"reason": "changed"}));
    m
}

/// `members@delta`: the full member list on an initial round; net additions and removals after.
fn member_changes(
    t: &Tenant,
    g: &m365_sim_model::tenant::Group,
    since: Option<u64>,
    upto: u64,
) -> Vec<Value> {
    let kind = |id: &uuid::Uuid| t.object_kind(*id).unwrap_or("#microsoft.graph.user");
    match since {
        None => g
            .members
            .iter()
            .map(|m| json!({"@odata.type": kind(m), "id": m}))
            .collect(),
        Some(s) => {
            let mut net: BTreeMap<uuid::Uuid, bool> = BTreeMap::new();
            for (seq, id, added) in &g.member_log {
                if *seq > s && *seq <= upto {
                    net.insert(*id, *added);
                }
            }
            net.into_iter()
                .map(|(id, added)| {
                    if added {
                        json!({"@odata.type": "#microsoft.graph.user", "id": id})
                    } else {
                        json!({"@odata.type": "#microsoft.graph.user", "id": id, "@removed": {"reason": "deleted"}})
                    }
                })
                .collect()
        }
    }
}
