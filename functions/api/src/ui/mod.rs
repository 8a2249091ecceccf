//! The operator's web pages under `/ui/`, served by the same function and behind the same IAM
//! authorization as the JSON API: the dashboard, a tenant, a task, and the forms that act. Pages
//! are built with maud (every value escaped), carry a strict Content-Security-Policy and no
//! script, and every form is a POST with a CSRF token (`csrf`). Links are relative, so the pages
//! work under any prefix (a proxy's, or `cargo lambda watch`'s `/lambda-url/api`).

mod chart;
mod csrf;
mod dashboard;
mod form;
mod layout;
mod task;
mod tenant;

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use chrono::Utc;
use lifecycle::console::{Console, ConsoleError, Started, TaskAction};
use maud::{Markup, html};
use model::{
    sites::Site,
    task::TaskId,
    tenant::{LifecycleState, TenantId},
};
use state::store::{TenantCursor, TenantFilter};

use self::{
    csrf::Csrf,
    dashboard::Filters,
    form::Form,
    layout::{STYLE_SHEET, page},
    tenant::Notice,
};
pub use self::{
    csrf::{COOKIE as CSRF_COOKIE, FIELD as CSRF_FIELD},
    layout::CONTENT_SECURITY_POLICY,
};
use crate::{DEFAULT_PAGE, status_of};

/// What a page request answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// `text/html; charset=utf-8`, or the style sheet's type.
    pub content_type: &'static str,
    /// The page.
    pub body: String,
    /// Where a `303` sends the browser (relative to the request's path).
    pub location: Option<String>,
    /// A `Set-Cookie` value (the CSRF token's, for a new browser).
    pub cookie: Option<String>,
}

impl Answer {
    fn html(status: u16, markup: Markup) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            body: markup.into_string(),
            location: None,
            cookie: None,
        }
    }

    fn see_other(location: String) -> Self {
        Self {
            status: 303,
            location: Some(location),
            ..Self::html(303, html! {})
        }
    }
}

/// Whether `path` is one of the pages'.
pub fn is_page(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

/// Answers a request for a page or a form under `/ui/`.
pub async fn answer(
    console: &Console,
    method: &str,
    path: &str,
    request: &LambdaFunctionUrlRequest,
) -> Answer {
    let csrf = Csrf::of(request);
    let mut answer = match respond(console, method, path, request, &csrf).await {
        Ok(answer) => answer,
        Err(failure) => failure.page(&root_of(path)),
    };
    answer.cookie = csrf.set_cookie(request);
    answer
}

/// Why a page could not be shown.
enum Failure {
    NotFound(String),
    Method(&'static str),
    Forbidden(String),
    Console(ConsoleError),
}

impl From<ConsoleError> for Failure {
    fn from(err: ConsoleError) -> Self {
        Self::Console(err)
    }
}

impl Failure {
    fn page(self, root: &str) -> Answer {
        let (status, kind, message) = match self {
            Self::NotFound(path) => (404, "NotFound", format!("no page {path}")),
            Self::Method(allowed) => (405, "MethodNotAllowed", format!("this page takes {allowed}")),
            Self::Forbidden(reason) => (403, "Forbidden", reason),
            Self::Console(err) => {
                let status = status_of(err.error_type());
                if status >= 500 {
                    tracing::error!(error = %err, error_type = err.error_type(), "page failed");
                }
                (status, err.error_type(), err.to_string())
            }
        };
        let body = html! {
            h1 { "Not done" }
            div.error { strong { (kind) ": " } (message) }
            p { a href=(if root.is_empty() { "./" } else { root }) { "the fleet" } " (or go back and try again)" }
        };
        Answer::html(status, page(root, kind, None, body))
    }
}

async fn respond(
    console: &Console,
    method: &str,
    path: &str,
    request: &LambdaFunctionUrlRequest,
    csrf: &Csrf,
) -> Result<Answer, Failure> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get = |allowed| {
        if method == "GET" {
            Ok(())
        } else {
            Err(Failure::Method(allowed))
        }
    };
    let post = || {
        if method == "POST" {
            Ok(())
        } else {
            Err(Failure::Method("POST"))
        }
    };
    match segments.as_slice() {
        ["ui"] if !path.ends_with('/') => {
            get("GET")?;
            Ok(Answer::see_other("ui/".to_owned()))
        }
        ["ui"] => {
            get("GET")?;
            let (filters, filter, cursor) = listing(request)?;
            let today = Utc::now().date_naive();
            let (fleet, list) = futures_util::future::try_join(
                console.fleet(today),
                console.tenants(&filter, DEFAULT_PAGE, cursor),
            )
            .await?;
            let sites: Vec<Site> = fleet
                .sites
                .iter()
                .filter(|s| s.tenants > 0)
                .map(|s| s.site)
                .collect();
            let history = console.run_history(&sites, today, chart::DAYS).await?;
            let shown = dashboard::Dashboard {
                fleet: &fleet,
                history: &history,
                today,
                list: &list,
                filters: &filters,
            };
            Ok(Answer::html(200, dashboard::dashboard(&shown, csrf)))
        }
        ["ui", "static", "app.css"] => {
            get("GET")?;
            Ok(Answer {
                content_type: "text/css; charset=utf-8",
                body: STYLE_SHEET.to_owned(),
                ..Answer::html(200, html! {})
            })
        }
        ["ui", "tenants", id] => {
            get("GET")?;
            let id = parsed::<TenantId>(id)?;
            let detail = console.tenant(id).await?;
            let notice = notice_of(request);
            Ok(Answer::html(
                200,
                tenant::tenant_page("../", &detail, csrf, notice.as_ref(), None),
            ))
        }
        ["ui", "tasks", id] => {
            get("GET")?;
            let task = console.task(parsed::<TaskId>(id)?).await?;
            Ok(Answer::html(200, task::task_page("../", &task)))
        }
        ["ui", "consent-links"] => {
            post()?;
            let form = checked_form(request)?;
            let link = console.consent_link(form.consent_request()).await?;
            let body = html! {
                p { a href="./" { "← the fleet" } }
                h1 { "Consent link" }
                p { "Send this link to the admin of tenant " code { (link.tenant_id) } ". It can be answered until " (layout::time(&link.expires_at)) "." }
                p { a href=(link.consent_url) rel="noreferrer" { "Open Microsoft's consent page" } }
                p { code { (link.consent_url) } }
                p.muted { "When the admin accepts, Verify runs and provisioning starts; its task appears on the " a href={ "tenants/" (link.tenant_id) } { "tenant's page" } "." }
            };
            Ok(Answer::html(200, page("", "Consent link", None, body)))
        }
        ["ui", "tenants", id, action] => {
            post()?;
            let id = parsed::<TenantId>(id)?;
            let form = checked_form(request)?;
            act(console, id, action, &form, csrf).await
        }
        _ => Err(Failure::NotFound(path.to_owned())),
    }
}

/// An action of the tenant page. A task started goes to its page; a refusal is shown on the
/// tenant's page with its status; the rest go back to the tenant's page (post, redirect, get).
async fn act(
    console: &Console,
    id: TenantId,
    action: &str,
    form: &Form,
    csrf: &Csrf,
) -> Result<Answer, Failure> {
    let back = |done: &str| Answer::see_other(format!("../{id}?done={done}"));
    let outcome = match action {
        "verify" => {
            let checklist = console.verify(id).await?;
            let detail = console.tenant(id).await?;
            return Ok(Answer::html(
                200,
                tenant::tenant_page("../../", &detail, csrf, None, Some(&checklist)),
            ));
        }
        "sync" => console.sync_tenant(id).await.map(|_| back("sync")),
        "pause" => console.pause(id).await.map(|_| back("pause")),
        "resume" => console.resume(id).await.map(|_| back("resume")),
        "policy-targets" => {
            start(
                console,
                TaskAction::PolicyTargets,
                id,
                form.policy_targets_request(),
            )
            .await
        }
        "deprovision" => start(console, TaskAction::Deprovision, id, form.deprovision_request()).await,
        _ => return Err(Failure::NotFound(format!("/ui/tenants/{id}/{action}"))),
    };
    match outcome {
        Ok(answer) => Ok(answer),
        Err(err) if status_of(err.error_type()) < 500 && err.error_type() != "NotFound" => {
            let status = status_of(err.error_type());
            let detail = console.tenant(id).await?;
            let notice = Notice::Refused(format!("{}: {err}", err.error_type()));
            Ok(Answer::html(
                status,
                tenant::tenant_page("../../", &detail, csrf, Some(&notice), None),
            ))
        }
        Err(err) => Err(err.into()),
    }
}

async fn start(
    console: &Console,
    action: TaskAction,
    id: TenantId,
    body: serde_json::Value,
) -> Result<Answer, ConsoleError> {
    Ok(match console.start(action, id, body).await? {
        Started::Task(task) => Answer::see_other(format!("../../tasks/{}", task.task_id)),
        Started::Plan(_) => Answer::see_other(format!("../{id}")),
    })
}

/// A POST's form, once its CSRF token and origin pass.
fn checked_form(request: &LambdaFunctionUrlRequest) -> Result<Form, Failure> {
    let form = Form::of(request).map_err(Failure::Console)?;
    Csrf::check(request, form.first(CSRF_FIELD)).map_err(|err| Failure::Forbidden(err.to_string()))?;
    Ok(form)
}

/// The dashboard's filters from its query; an empty field is no filter.
fn listing(
    request: &LambdaFunctionUrlRequest,
) -> Result<(Filters, TenantFilter, Option<TenantCursor>), Failure> {
    let query = request.raw_query_string.as_deref().unwrap_or_default();
    let mut filters = Filters::default();
    let mut filter = TenantFilter::default();
    let mut cursor = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if value.is_empty() {
            continue;
        }
        match name.as_ref() {
            "state" => {
                filter.state = Some(
                    value
                        .parse::<LifecycleState>()
                        .map_err(|_| invalid("state", "not a lifecycle state"))?,
                );
                filters.state = Some(value.into_owned());
            }
            "site" => {
                filter.site = Some(parsed::<Site>(&value)?);
                filters.site = Some(value.into_owned());
            }
            "tag" => {
                filter.tag = Some(parsed(&value)?);
                filters.tag = Some(value.into_owned());
            }
            "cursor" => {
                cursor = Some(
                    value
                        .parse::<TenantCursor>()
                        .map_err(|reason| invalid("cursor", &reason))?,
                )
            }
            other => {
                return Err(invalid(
                    other,
                    "unknown parameter: the dashboard takes state, site, tag and cursor",
                ));
            }
        }
    }
    Ok((filters, filter, cursor))
}

/// The relative path from `path`'s directory back to `/ui/`: `""` for `/ui/`, `"../"` for
/// `/ui/tenants/{id}`, `"../../"` for `/ui/tenants/{id}/pause`.
fn root_of(path: &str) -> String {
    let depth = path.split('/').filter(|s| !s.is_empty()).count();
    "../".repeat(depth.saturating_sub(2))
}

/// Which action the tenant page was sent back from.
fn notice_of(request: &LambdaFunctionUrlRequest) -> Option<Notice> {
    let query = request.raw_query_string.as_deref().unwrap_or_default();
    let done = form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == "done")?
        .1;
    let text = match done.as_ref() {
        "sync" => "A sync of this tenant is queued.",
        "pause" => "Paused: the daily sync and the token refresh leave this tenant alone.",
        "resume" => "Resumed: the next daily sync and token refresh include this tenant again.",
        _ => return None,
    };
    Some(Notice::Done(text.to_owned()))
}

fn parsed<T>(raw: &str) -> Result<T, Failure>
where
    T: std::str::FromStr<Err = model::validation::ValidationError>,
{
    Ok(crate::route::parsed(raw)?)
}

fn invalid(field: &str, reason: &str) -> Failure {
    Failure::Console(crate::route::invalid(field, reason))
}
