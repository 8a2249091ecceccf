//! The frame every page shares: its head (the one style sheet, no script), the header, and the
//! small pieces pages are built of (badges, times, a value's wire name). Every value goes into
//! the page through maud's splices, which escape it.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use model::service::{Service, ServiceState, ServiceStatus, state_of};
use serde::Serialize;

/// The page's Content-Security-Policy: nothing from anywhere but this origin's one style sheet,
/// no script at all, forms only back to this origin, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The style sheet, served at `/ui/static/app.css`.
pub const STYLE_SHEET: &str = include_str!("app.css");

/// A page: `title`, its `body`, links relative to `root` (the path back to `/ui/`).
/// A page whose `refresh` is set reloads itself after that many seconds.
pub fn page(root: &str, title: &str, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · m365-inline" }
                link rel="stylesheet" href={ (root) "static/app.css" };
            }
            body {
                header {
                    a.home href=(if root.is_empty() { "./" } else { root }) { "m365-inline" }
                    span.muted { "inline protection for Microsoft 365" }
                }
                main { (body) }
            }
        }
    }
}

/// The name a value has on the wire (`needs_reconsent`, `exchange_online`).
pub fn wire(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A status as a coloured badge: green when done, amber while waiting or asking, red when failed.
pub fn badge(value: &impl Serialize) -> Markup {
    let name = wire(value);
    let tone = match name.as_str() {
        "active" | "succeeded" | "ok" | "synced" => "ok",
        "failed" | "missing" | "needs_reconsent" => "bad",
        "waiting" | "pending" | "running" | "provisioning" | "deprovisioning" | "warning" | "paused" => {
            "warn"
        }
        _ => "muted",
    };
    html! { span class={ "badge " (tone) } { (name) } }
}

/// Each service as a badge with where it stands (`exchange_online provisioned`), or muted
/// before a task has finished on it.
pub fn service_badges(services: &[Service], states: &[ServiceStatus]) -> Markup {
    html! {
        @for &service in services {
            @match state_of(states, service) {
                Some(state) => {
                    @let tone = match state {
                        ServiceState::Provisioned => "ok",
                        ServiceState::Failed => "bad",
                        ServiceState::Removed => "muted",
                    };
                    span class={ "badge " (tone) } title={ (service.code()) ": " (state.code()) } {
                        (service.code()) " " (state.code())
                    }
                }
                None => span.badge.muted title={ (service.code()) ": not yet provisioned" } { (service.code()) },
            }
        }
    }
}

/// A time, to the second, in UTC.
pub fn time(at: &DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

/// A time if there is one, else a dash.
pub fn maybe_time(at: Option<&DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "—" } },
    }
}
