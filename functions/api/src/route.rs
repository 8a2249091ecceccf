//! The API's routes: a method and path (and, for the listing, its query) read into what to do;
//! anything else is refused with the field it got wrong, or as no such route.

use std::collections::HashMap;

use chrono::NaiveDate;
use lifecycle::console::{ConsoleError, TaskAction};
use model::{
    event::EventError,
    label::Tag,
    sites::Site,
    task::TaskId,
    tenant::{LifecycleState, TenantId},
    validation::{ValidationError, quote},
};
use state::store::{MAX_PAGE, TenantCursor, TenantFilter};

/// The page size of a listing without `limit`.
pub const DEFAULT_PAGE: usize = 50;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `GET /tenants?state=&site=&tag=&attention=&cursor=&limit=`
    Tenants {
        /// Which tenants.
        filter: TenantFilter,
        /// The page size.
        limit: usize,
        /// Where the page starts.
        cursor: Option<TenantCursor>,
    },
    /// `GET /tenants/{id}`
    Tenant(TenantId),
    /// `PATCH /tenants/{id}`: its labels.
    Label(TenantId),
    /// `POST /tenants/{id}/{action}`
    Act(TenantId, Action),
    /// `GET /tasks/{id}`
    Task(TaskId),
    /// `GET /fleet`
    Fleet,
    /// `GET /runs/{site}/{date}`
    Run(Site, NaiveDate),
    /// `POST /sites/{site}/sync`
    SyncSite(Site),
    /// `POST /consent-links`
    ConsentLink,
}

/// What `POST /tenants/{id}/{action}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `provision`, `deprovision`, `policy-targets`: a task.
    Task(TaskAction),
    /// `verify`
    Verify,
    /// `sync`
    Sync,
    /// `pause`
    Pause,
    /// `resume`
    Resume,
}

/// A request no route answers.
#[derive(Debug)]
pub enum Refusal {
    /// No such path.
    NotFound,
    /// The path exists, not for this method; the methods it takes.
    Method(&'static str),
    /// A part of the path or query does not read; names it.
    Invalid(ConsoleError),
}

impl From<ConsoleError> for Refusal {
    fn from(err: ConsoleError) -> Self {
        Self::Invalid(err)
    }
}

/// Reads a request's method, path and query.
pub fn route(method: &str, path: &str, query: &HashMap<String, String>) -> Result<Route, Refusal> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (route, allowed) = match segments.as_slice() {
        ["tenants"] => (listing(query).map(Some)?, "GET"),
        ["tenants", id] => {
            let id = parsed::<TenantId>(id)?;
            match method {
                "GET" => (Some(Route::Tenant(id)), "GET, PATCH"),
                "PATCH" => (Some(Route::Label(id)), "GET, PATCH"),
                _ => (None, "GET, PATCH"),
            }
        }
        ["tenants", id, action] => {
            let action = match *action {
                "provision" => Action::Task(TaskAction::Provision),
                "deprovision" => Action::Task(TaskAction::Deprovision),
                "policy-targets" => Action::Task(TaskAction::PolicyTargets),
                "verify" => Action::Verify,
                "sync" => Action::Sync,
                "pause" => Action::Pause,
                "resume" => Action::Resume,
                _ => return Err(Refusal::NotFound),
            };
            (Some(Route::Act(parsed(id)?, action)), "POST")
        }
        ["tasks", id] => (Some(Route::Task(parsed(id)?)), "GET"),
        ["fleet"] => (Some(Route::Fleet), "GET"),
        ["runs", site, date] => (Some(Route::Run(parsed(site)?, date_of(date)?)), "GET"),
        ["sites", site, "sync"] => (Some(Route::SyncSite(parsed(site)?)), "POST"),
        ["consent-links"] => (Some(Route::ConsentLink), "POST"),
        _ => return Err(Refusal::NotFound),
    };
    let takes_query = matches!(route, Some(Route::Tenants { .. }));
    if !takes_query && let Some(name) = query.keys().min() {
        return Err(invalid(name, "this route takes no query parameters").into());
    }
    match route {
        Some(route) if allowed.split(", ").any(|m| m == method) => Ok(route),
        _ => Err(Refusal::Method(allowed)),
    }
}

/// The listing's query.
fn listing(query: &HashMap<String, String>) -> Result<Route, ConsoleError> {
    let mut filter = TenantFilter::default();
    let (mut limit, mut cursor) = (DEFAULT_PAGE, None);
    for (name, value) in query {
        match name.as_str() {
            "state" => {
                filter.state = Some(value.parse::<LifecycleState>().map_err(|_| {
                    let states: Vec<String> = LifecycleState::ALL.iter().map(ToString::to_string).collect();
                    invalid(
                        "state",
                        format!("expected one of {}, got {}", states.join(", "), quote(value)),
                    )
                })?);
            }
            "site" => filter.site = Some(parsed(value)?),
            "tag" => filter.tag = Some(parsed::<Tag>(value)?),
            "attention" => {
                filter.attention = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(invalid(
                            "attention",
                            format!("expected true or false, got {}", quote(value)),
                        ));
                    }
                };
            }
            "cursor" => {
                cursor = Some(
                    value
                        .parse::<TenantCursor>()
                        .map_err(|reason| invalid("cursor", reason))?,
                )
            }
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        invalid("limit", format!("expected 1 to {MAX_PAGE}, got {}", quote(value)))
                    })?;
            }
            other => {
                return Err(invalid(
                    other,
                    "unknown parameter: the listing takes state, site, tag, attention, cursor and limit",
                ));
            }
        }
    }
    Ok(Route::Tenants {
        filter,
        limit,
        cursor,
    })
}

/// A path or query part read as its type, the error naming the type's field.
pub(crate) fn parsed<T>(raw: &str) -> Result<T, ConsoleError>
where
    T: std::str::FromStr<Err = ValidationError>,
{
    raw.parse::<T>().map_err(|err| invalid(&err.field, err.reason))
}

fn date_of(raw: &str) -> Result<NaiveDate, ConsoleError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        invalid(
            "date",
            format!("expected a UTC date such as 2026-12-01, got {}", quote(raw)),
        )
    })
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> ConsoleError {
    ConsoleError::Input(EventError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "8f0c3c5e-6a4f-4c1e-9a57-0d4c2b7f1e11";

    fn none() -> HashMap<String, String> {
        HashMap::new()
    }

    fn field_of(refusal: Refusal) -> String {
        match refusal {
            Refusal::Invalid(ConsoleError::Input(err)) => err.field().unwrap_or_default().to_owned(),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn every_route_reads_and_a_wrong_method_names_the_methods_it_takes() {
        let id: TenantId = TENANT.parse().expect("id");
        assert_eq!(
            route("GET", &format!("/tenants/{TENANT}"), &none()).ok(),
            Some(Route::Tenant(id))
        );
        assert_eq!(
            route("PATCH", &format!("/tenants/{TENANT}/"), &none()).ok(),
            Some(Route::Label(id))
        );
        assert_eq!(
            route("POST", &format!("/tenants/{TENANT}/policy-targets"), &none()).ok(),
            Some(Route::Act(id, Action::Task(TaskAction::PolicyTargets)))
        );
        assert_eq!(route("GET", "/fleet", &none()).ok(), Some(Route::Fleet));
        assert_eq!(
            route("GET", "/runs/eu/2026-12-01", &none()).ok(),
            Some(Route::Run(
                Site::Eu,
                NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
            ))
        );
        assert_eq!(
            route("POST", "/sites/us/sync", &none()).ok(),
            Some(Route::SyncSite(Site::Us))
        );
        assert!(matches!(
            route("DELETE", "/fleet", &none()),
            Err(Refusal::Method("GET"))
        ));
        assert!(matches!(
            route("GET", &format!("/tenants/{TENANT}/pause"), &none()),
            Err(Refusal::Method("POST"))
        ));
        assert!(matches!(
            route("GET", "/nothing", &none()),
            Err(Refusal::NotFound)
        ));
        assert!(matches!(
            route("POST", &format!("/tenants/{TENANT}/explode"), &none()),
            Err(Refusal::NotFound)
        ));
    }

    #[test]
    fn the_listing_reads_its_query_and_a_bad_part_is_refused_naming_it() {
        let query: HashMap<String, String> = [
            ("state", "needs_reconsent"),
            ("site", "jp"),
            ("tag", "tier:gold"),
            ("attention", "true"),
            ("cursor", &format!("jp#{TENANT}")),
            ("limit", "7"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let Ok(Route::Tenants {
            filter,
            limit,
            cursor,
        }) = route("GET", "/tenants", &query)
        else {
            panic!("a listing");
        };
        assert_eq!(filter.state, Some(LifecycleState::NeedsReconsent));
        assert_eq!(filter.site, Some(Site::Jp));
        assert_eq!(filter.tag.as_ref().map(Tag::as_str), Some("tier:gold"));
        assert!(filter.attention);
        assert_eq!(
            (limit, cursor.map(|c| c.to_string())),
            (7, Some(format!("jp#{TENANT}")))
        );
        for (name, value) in [
            ("state", "asleep"),
            ("site", "mars"),
            ("tag", "<b>"),
            ("attention", "yes"),
            ("cursor", "eu"),
            ("limit", "0"),
            ("limit", "101"),
            ("color", "red"),
        ] {
            let query = HashMap::from([(name.to_owned(), value.to_owned())]);
            let refusal = route("GET", "/tenants", &query).expect_err(name);
            assert_eq!(field_of(refusal), name, "{name}={value}");
        }
        let refusal = route(
            "GET",
            "/fleet",
            &HashMap::from([("x".to_owned(), "1".to_owned())]),
        )
        .expect_err("query");
        assert_eq!(field_of(refusal), "x");
    }

    #[test]
    fn path_ids_are_read_as_their_types_naming_the_field() {
        for (path, field) in [
            ("/tenants/contoso.com", "tenant_id"),
            ("/tenants/not-a-guid/pause", "tenant_id"),
            ("/tasks/42", "task_id"),
            ("/runs/mars/2026-12-01", "site"),
            ("/runs/eu/yesterday", "date"),
        ] {
            let method = if path.ends_with("pause") { "POST" } else { "GET" };
            assert_eq!(
                field_of(route(method, path, &none()).expect_err(path)),
                field,
                "{path}"
            );
        }
    }
}
