//! Read-only views of the directory: accepted domains and unified groups.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Answer, Bound, filter, not_found};
use crate::{ids::IdGen, tenant::Tenant};

pub(super) fn get_accepted_domains(t: &mut Tenant, b: &Bound) -> Answer {
    let all: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "Identity": d.name,
                "Name": d.name,
                "DomainName": d.name,
                "DomainType": "Authoritative",
                "Default": d.is_default,
                "InitialDomain": d.is_initial,
                "MatchSubDomains": false,
                "Guid": IdGen::new(t.name_seed, &d.name).uuid(),
            })
        })
        .collect();
    match b.str("Identity") {
        Some(id) => {
            let hit: Vec<Value> = all
                .into_iter()
                .filter(|d| d["Name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(id)))
                .collect();
            if hit.is_empty() {
                Err(not_found(id))
            } else {
                Ok(hit)
            }
        }
        None => Ok(all),
    }
}

/// A Unified group that Exchange already sees, by alias, display name, SMTP address or object id.
pub(super) fn find_exchange_group<'a>(
    t: &'a Tenant,
    key: &str,
    now: DateTime<Utc>,
) -> Option<&'a crate::tenant::Group> {
    let dd = t.default_domain();
    t.groups.iter().find(|g| {
        g.alive()
            && g.unified
            && g.exchange_visible_at <= now
            && (g.mail_nickname.eq_ignore_ascii_case(key)
                || g.display_name.eq_ignore_ascii_case(key)
                || g.mail(dd).is_some_and(|m| m.eq_ignore_ascii_case(key))
                || g.id.to_string().eq_ignore_ascii_case(key))
    })
}

fn unified_group_json(t: &Tenant, g: &crate::tenant::Group) -> Value {
    let dd = t.default_domain();
    let has = |o: &str| g.resource_behavior_options.iter().any(|x| x == o);
    json!({
        "Identity": g.mail_nickname,
        "Name": format!("{}_{}", g.mail_nickname, &g.id.simple().to_string()[..8]),
        "DisplayName": g.display_name,
        "Alias": g.mail_nickname,
        "PrimarySmtpAddress": g.mail(dd),
        "EmailAddresses": g.mail(dd).map(|m| vec![format!("SMTP:{m}")]).unwrap_or_default(),
        "ExternalDirectoryObjectId": g.id,
        "Guid": g.id,
        "RecipientTypeDetails": "GroupMailbox",
        "AccessType": g.visibility.clone().unwrap_or_else(|| "Public".into()),
        "HiddenFromAddressListsEnabled": has("HideGroupInOutlook"),
        "HiddenFromExchangeClientsEnabled": has("HideGroupInOutlook"),
        "WelcomeMessageEnabled": !has("WelcomeEmailDisabled"),
        "WhenCreatedUTC": g.created_at.to_rfc3339(),
    })
}

pub(super) fn get_unified_groups(t: &mut Tenant, b: &Bound, now: DateTime<Utc>) -> Answer {
    let groups = match b.str("Identity") {
        Some(id) => find_exchange_group(t, id, now)
            .map(|g| vec![unified_group_json(t, g)])
            .ok_or_else(|| not_found(id))?,
        None => t
            .groups
            .iter()
            .filter(|g| g.alive() && g.unified && g.exchange_visible_at <= now)
            .map(|g| unified_group_json(t, g))
            .collect(),
    };
    filter::apply(groups, b.str("Filter"))
}
