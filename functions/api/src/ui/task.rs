//! A task's page (`/ui/tasks/{id}`): each service and step with its status, attempts, outcome or
//! error and its kind, and until when it waits; the page reloads itself until the task ends.

use lifecycle::tasks::TaskView;
use maud::{Markup, html};
use model::task::TaskStatus;

use super::layout::{badge, maybe_time, page, time, wire};

/// How often a running task's page reloads, in seconds.
pub const REFRESH_SECONDS: u32 = 2;

/// The page of one task.
pub fn task_page(root: &str, task: &TaskView) -> Markup {
    let ended = matches!(task.status, TaskStatus::Succeeded | TaskStatus::Failed);
    let title = format!("{} of {}", wire(&task.kind), task.tenant_id);
    let body = html! {
        p { a href={ (root) "tenants/" (task.tenant_id) } { "← the tenant" } }
        h1 { (wire(&task.kind)) " " (badge(&task.status)) }
        p {
            "task " code { (task.task_id) } " of tenant "
            a href={ (root) "tenants/" (task.tenant_id) } { code { (task.tenant_id) } }
            ", started " (time(&task.created_at)) ", last change " (time(&task.updated_at))
        }
        @if !ended { p.muted { "This page reloads every " (REFRESH_SECONDS) " seconds until the task ends." } }
        @if let Some(error) = &task.last_error { div.error { (error) } }
        @if !task.manual_cleanup.is_empty() {
            div.attention {
                strong { "Left for manual cleanup:" }
                ul { @for item in &task.manual_cleanup { li { (item) } } }
            }
        }
        @for (service, view) in &task.services {
            section {
                h2 { (service) " " (badge(&view.status)) }
                div.scroll { table {
                    thead { tr { th { "step" } th { "status" } th { "attempts" } th { "outcome or error" } th.hide-narrow { "waits until" } th.hide-narrow { "changed" } } }
                    tbody { @for step in &view.steps {
                        tr {
                            td { code { (step.name) } }
                            td { (badge(&step.status)) }
                            td { (step.attempts) }
                            td.text {
                                @if let Some(outcome) = &step.outcome { (outcome) }
                                @if let Some(error) = &step.last_error {
                                    span.bad { (error) }
                                    @if let Some(kind) = &step.error_kind { " " span.badge.bad { (wire(kind)) } }
                                }
                            }
                            td.hide-narrow { (maybe_time(step.not_before.as_ref())) }
                            td.hide-narrow { (time(&step.changed_at)) }
                        }
                    } }
                } }
            }
        }
    };
    page(root, &title, (!ended).then_some(REFRESH_SECONDS), body)
}
