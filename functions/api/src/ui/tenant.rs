//! A tenant's page (`/ui/tenants/{id}`): its state and what to do about it, its services and
//! policy targets, what its last sync found, the Microsoft objects it owns, its tasks, and the
//! operator's buttons (Verify, sync now, pause or resume, policy targets, deprovision).

use lifecycle::{console::TenantDetail, verify::Checklist};
use maud::{Markup, html};
use model::tenant::LifecycleState;

use super::{
    csrf::{Csrf, FIELD},
    layout::{badge, maybe_time, page, service_badges, time, wire},
};

/// Something the last action said, shown above the page.
#[derive(Debug, Clone)]
pub enum Notice {
    /// It went well.
    Done(String),
    /// It was refused; the message says why and what to do.
    Refused(String),
}

/// The page of one tenant; `checklist` is Verify's answer when the operator just ran it.
pub fn tenant_page(
    root: &str,
    detail: &TenantDetail,
    csrf: &Csrf,
    notice: Option<&Notice>,
    checklist: Option<&Checklist>,
) -> Markup {
    let view = &detail.view;
    let id = view.tenant_id;
    let title = detail
        .labels
        .display_name
        .clone()
        .unwrap_or_else(|| id.to_string());
    let action = |name: &str| format!("{root}tenants/{id}/{name}");
    let token = html! { input type="hidden" name=(FIELD) value=(csrf.token()); };
    let body = html! {
        p { a href=(root) { "← the fleet" } }
        h1 { (title) }
        p {
            code { (id) } " "
            (badge(&view.state))
            @if detail.paused_at.is_some() { (badge(&"paused")) }
            " site " (view.site.code()) ", cloud " (wire(&view.cloud))
            @if let Some(reference) = &detail.labels.customer_ref { ", customer " (reference) }
            @for tag in &detail.labels.tags { " " span.badge.info { (wire(tag)) } }
        }
        @match notice {
            Some(Notice::Done(text)) => div.attention { (text) },
            Some(Notice::Refused(text)) => div.error { (text) },
            None => {},
        }
        @if let Some(what) = what_to_do(view.state, detail.paused_at.is_some()) {
            div.attention { strong { "What to do: " } (what) }
        }
        @if let Some(attention) = &view.attention {
            div.attention { strong { "Attention: " } (attention) }
        }
        @if let Some(checklist) = checklist {
            section {
                h2 { "Verify " (badge(&(if checklist.ok { "ok" } else { "failed" }))) }
                div.scroll { table {
                    thead { tr { th { "check" } th { "status" } th { "detail" } } }
                    tbody { @for item in &checklist.items {
                        tr { td { (item.name) } td { (badge(&item.status)) } td.text { (item.detail) } }
                    } }
                } }
            }
        }
        section {
            h2 { "Actions" }
            form.inline method="post" action=(action("verify")) { (token) button type="submit" { "Verify" } }
            form.inline method="post" action=(action("sync")) { (token) button type="submit" { "Sync now" } }
            @if detail.paused_at.is_some() {
                form.inline method="post" action=(action("resume")) { (token) button type="submit" { "Resume" } }
            } @else {
                form.inline method="post" action=(action("pause")) { (token) button.plain type="submit" { "Pause" } }
            }
            h2 { "Policy targets" }
            form.stack method="post" action=(action("policy-targets")) {
                (token)
                label { "users (one per line)" textarea name="users" rows="3" { (view.policy_targets.users.join("\n")) } }
                label { "groups (object ids, one per line)" textarea name="groups" rows="2" { (view.policy_targets.groups.join("\n")) } }
                div { button type="submit" { "Set policy targets" } }
            }
            h2 { "Deprovision" }
            form.stack method="post" action=(action("deprovision")) {
                (token)
                fieldset {
                    legend { "mode" }
                    label { input type="radio" name="mode" value="standard" checked; "standard (leaves the app and its consent)" }
                    label { input type="radio" name="mode" value="full"; "full (the tenant as it was)" }
                }
                @if detail.quarantined_items > 0 {
                    div.attention {
                        (detail.quarantined_items) " message(s) are in quarantine. Review or release them first, or acknowledge that the vendor will no longer release them."
                    }
                    label { span { input type="checkbox" name="acknowledge_quarantine" value="true"; " I acknowledge the " (detail.quarantined_items) " quarantined message(s)" } }
                }
                div { button.danger type="submit" { "Deprovision" } }
            }
        }
        section {
            h2 { "Services" }
            p { (service_badges(&view.services, &view.service_states)) }
        }
        @if let Some(sync) = &detail.sync {
            section {
                h2 { "Last sync" }
                p { "synced " (maybe_time(sync.synced_at.as_ref())) @if let Some(run) = &sync.last_run_id { " in run " code { (run) } } }
                p { "verified domains: " @for domain in &sync.verified_domains { code { (domain) } " " } }
                @if !sync.last_drift.is_empty() {
                    p { "drift repaired " (maybe_time(sync.last_drift_at.as_ref())) ":" }
                    ul { @for drift in &sync.last_drift { li { (drift) } } }
                }
                @if !sync.mx_problems.is_empty() {
                    p.warn { "MX:" }
                    ul { @for problem in &sync.mx_problems { li.warn { (problem) } } }
                }
            }
        }
        section {
            h2 { "Managed objects" }
            @if view.managed_resources.is_empty() {
                p.muted { "None." }
            } @else {
                div.scroll { table {
                    thead { tr { th { "kind" } th { "name" } th { "Microsoft's id" } th.hide-narrow { "recorded" } } }
                    tbody { @for resource in &view.managed_resources {
                        tr {
                            td { (wire(&resource.kind)) }
                            td.text { (resource.key) }
                            td { @if let Some(external) = &resource.external_id { code { (external) } } }
                            td.hide-narrow { (time(&resource.recorded_at)) }
                        }
                    } }
                } }
            }
        }
        section {
            h2 { "Tasks" }
            @if detail.recent_tasks.is_empty() {
                p.muted { "None yet." }
            } @else {
                div.scroll { table {
                    thead { tr { th { "task" } th { "kind" } th { "status" } th { "started" } th.hide-narrow { "finished" } th { "error" } } }
                    tbody { @for task in &detail.recent_tasks {
                        tr {
                            td { a href={ (root) "tasks/" (task.task_id) } { code { (task.task_id) } } }
                            td { (wire(&task.kind)) }
                            td { (badge(&task.status)) }
                            td { (time(&task.created_at)) }
                            td.hide-narrow { (maybe_time(task.finished_at.as_ref())) }
                            td.text { @if let Some(error) = &task.last_error { span.bad { (error) } } }
                        }
                    } }
                } }
            }
        }
    };
    page(root, &title, None, body)
}

/// What an operator does about a tenant in `state`, when there is something to do.
fn what_to_do(state: LifecycleState, paused: bool) -> Option<&'static str> {
    match state {
        LifecycleState::NeedsReconsent => Some(
            "the tenant's admin must consent again: make a new consent link on the dashboard and send it to them",
        ),
        LifecycleState::Failed => Some(
            "see the last task's failed steps below, have the cause fixed (often a role or a permission the admin must grant), then provision again",
        ),
        LifecycleState::Provisioning | LifecycleState::Deprovisioning => {
            Some("a task is running: follow it from the task list below")
        }
        _ if paused => {
            Some("sync and token refresh are paused: resume when the tenant should be kept current again")
        }
        _ => None,
    }
}
