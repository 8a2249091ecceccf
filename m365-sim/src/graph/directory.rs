//! `organization`, `domains`, `domains/{id}/serviceConfigurationRecords`, and the SharePoint /
//! OneDrive probes `sites/root` and `users/{id}/drive` used for grant checks.

use m365_sim_model::{clock::graph_time, tenant::Tenant};
use serde_json::{Value, json};

use super::{Ctx, GraphReply, GraphRequest, error, not_found, odata};

const ORG_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "verifiedDomains",
    "tenantType",
    "createdDateTime",
    "countryLetterCode",
    "preferredLanguage",
    "assignedPlans",
    "businessPhones",
    "city",
    "country",
    "postalCode",
    "state",
    "street",
    "technicalNotificationMails",
];

const DOMAIN_PROPERTIES: &[&str] = &[
    "id",
    "authenticationType",
    "availabilityStatus",
    "isAdminManaged",
    "isDefault",
    "isInitial",
    "isRoot",
    "isVerified",
    "supportedServices",
    "passwordNotificationWindowInDays",
    "passwordValidityPeriodInDays",
    "state",
];

/// `GET /organization` and `GET /organization/{id}`.
pub fn organization(_ctx: &Ctx<'_>, t: &Tenant, req: &GraphRequest, id: Option<&str>) -> GraphReply {
    if let Some(id) = id
        && !id.eq_ignore_ascii_case(&t.id)
    {
        return not_found(id);
    }
    let select = or_reply!(odata::select(&req.query, ORG_PROPERTIES, "organization"));
    let verified: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "capabilities": if d.is_initial { "Email, OfficeCommunicationsOnlineService" } else { "Email" },
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "name": d.name,
                "type": "Managed",
            })
        })
        .collect();
    let get = |p: &str| match p {
        "id" => json!(t.id),
        "displayName" => json!(t.display_name),
        "verifiedDomains" => json!(verified),
        "tenantType" => json!("AAD"),
        "createdDateTime" => json!(graph_time(t.created_at)),
        "countryLetterCode" => json!("US"),
        "preferredLanguage" => json!("en"),
        "assignedPlans" | "businessPhones" | "technicalNotificationMails" => json!([]),
        _ => Value::Null,
    };
    let props: Vec<String> = select
        .clone()
        .unwrap_or_else(|| ORG_PROPERTIES.iter().map(|s| (*s).to_owned()).collect());
    let mut m = odata::project(&props, &get);
    m.entry("id").or_insert_with(|| json!(t.id));
    if id.is_some() {
        m.insert(
            "@odata.context".into(),
            json!("https://graph.microsoft.com/v1.0/$metadata#organization/$entity"),
        );
        return GraphReply::ok(Value::Object(m));
    }
    GraphReply::ok(json!({
        "@odata.context": odata::context("organization", select.as_deref()),
        "value": [m],
    }))
}

fn domain_json(t: &Tenant, name: &str, select: Option<&[String]>) -> Option<serde_json::Map<String, Value>> {
    let d = t.domains.iter().find(|d| d.name.eq_ignore_ascii_case(name))?;
    let get = |p: &str| match p {
        "id" => json!(d.name),
        "authenticationType" => json!("Managed"),
        "availabilityStatus" | "state" => Value::Null,
        "isAdminManaged" | "isRoot" => json!(true),
        "isDefault" => json!(d.is_default),
        "isInitial" => json!(d.is_initial),
        "isVerified" => json!(d.is_verified),
        "supportedServices" => {
            if d.is_initial {
                json!(["Email", "OfficeCommunicationsOnlineService"])
            } else {
                json!(["Email"])
            }
        }
        "passwordNotificationWindowInDays" => json!(14),
        "passwordValidityPeriodInDays" => json!(2147483647),
        _ => Value::Null,
    };
    let props: Vec<String> = select
        .map(<[String]>::to_vec)
        .unwrap_or_else(|| DOMAIN_PROPERTIES.iter().map(|s| (*s).to_owned()).collect());
    let mut m = odata::project(&props, &get);
    m.entry("id").or_insert_with(|| json!(d.name));
    Some(m)
}

/// `GET /domains`.
pub fn domains(t: &Tenant, req: &GraphRequest) -> GraphReply {
    let select = or_reply!(odata::select(&req.query, DOMAIN_PROPERTIES, "domain"));
    let value: Vec<Value> = t
        .domains
        .iter()
        .filter_map(|d| domain_json(t, &d.name, select.as_deref()))
        .map(Value::Object)
        .collect();
    GraphReply::ok(json!({"@odata.context": odata::context("domains", select.as_deref()), "value": value}))
}

/// `GET /domains/{id}`.
pub fn domain(t: &Tenant, req: &GraphRequest, id: &str) -> GraphReply {
    let select = or_reply!(odata::select(&req.query, DOMAIN_PROPERTIES, "domain"));
    match domain_json(t, id, select.as_deref()) {
        Some(mut m) => {
            m.insert(
                "@odata.context".into(),
                json!("https://graph.microsoft.com/v1.0/$metadata#domains/$entity"),
            );
            GraphReply::ok(Value::Object(m))
        }
        None => not_found(id),
    }
}

/// `GET /domains/{id}/serviceConfigurationRecords`: the records Microsoft expects in DNS
/// (MX to the domain's Exchange Online host, SPF, autodiscover), not live DNS.
pub fn service_configuration_records(t: &Tenant, id: &str) -> GraphReply {
    let Some(d) = t.domains.iter().find(|d| d.name.eq_ignore_ascii_case(id)) else {
        return not_found(id);
    };
    let mx_host = d.exchange_mx();
    let rid = |kind: &str| format!("{}{}", kind, d.name.len());
    let value = json!([
        {
            "@odata.type": "#microsoft.graph.domainDnsMxRecord",
            "id": rid("Mx"),
            "isOptional": false,
            "label": d.name,
            "recordType": "Mx",
            "supportedService": "Email",
            "ttl": 3600,
            "mailExchange": mx_host,
            "preference": 0,
        },
        {
            "@odata.type": "#microsoft.graph.domainDnsTxtRecord",
            "id": rid("Txt"),
            "isOptional": false,
            "label": d.name,
            "recordType": "Txt",
            "supportedService": "Email",
            "ttl": 3600,
            "text": "v=spf1 include:spf.protection.outlook.com -all",
        },
        {
            "@odata.type": "#microsoft.graph.domainDnsCnameRecord",
            "id": rid("CName"),
            "isOptional": false,
            "label": format!("autodiscover.{}", d.name),
            "recordType": "CName",
            "supportedService": "Email",
            "ttl": 3600,
            "canonicalName": "autodiscover.outlook.com",
        },
    ]);
    GraphReply::ok(json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#domains('{}')/serviceConfigurationRecords", d.name),
        "value": value,
    }))
}

fn sharepoint_host(t: &Tenant) -> String {
    let initial = t.initial_domain();
    format!("{}.sharepoint.com", initial.split('.').next().unwrap_or("tenant"))
}

/// `GET /sites/root`.
pub fn site_root(t: &Tenant) -> GraphReply {
    let host = sharepoint_host(t);
    let tid = &t.id;
    GraphReply::ok(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#sites/$entity",
        "createdDateTime": graph_time(t.created_at),
        "description": "",
        "id": format!("{host},{tid},{tid}"),
        "lastModifiedDateTime": graph_time(t.created_at),
        "name": "",
        "webUrl": format!("https://{host}"),
        "displayName": "Communication site",
        "root": {},
        "siteCollection": {"hostname": host},
    }))
}

/// `GET /users/{id}/drive`.
pub fn user_drive(t: &Tenant, key: &str) -> GraphReply {
    let Some(u) = t.find_user(key) else {
        return not_found(key);
    };
    let host = sharepoint_host(t).replace(".sharepoint.com", "-my.sharepoint.com");
    let personal = u.upn.replace(['@', '.'], "_");
    let drive_id = format!("b!{}", u.id.simple());
    if u.upn.is_empty() {
        return error(404, "itemNotFound", "The resource could not be found.");
    }
    GraphReply::ok(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#drives/$entity",
        "createdDateTime": graph_time(t.created_at),
        "description": "",
        "id": drive_id,
        "lastModifiedDateTime": graph_time(t.created_at),
        "name": "OneDrive",
        "webUrl": format!("https://{host}/personal/{personal}/Documents"),
        "driveType": "business",
        "createdBy": {"user": {"displayName": "System Account"}},
        "owner": {"user": {"email": u.upn, "id": u.id, "displayName": u.display_name}},
        "quota": {"deleted": 0, "remaining": 1099511627776u64, "state": "normal", "total": 1099511627776u64, "used": 0},
    }))
}
