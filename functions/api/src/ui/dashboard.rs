//! The dashboard (`/ui/`): the fleet by state, each site's last run, who needs attention, the
//! tenant list with its filters and pages, and the form that makes a consent link.

use chrono::NaiveDate;
use lifecycle::console::{FleetView, SiteHistory, TenantList, TenantRow};
use maud::{Markup, html};
use model::{service::Service, sites::Site, tenant::LifecycleState};

use super::{
    chart::{DAYS, state_chart, state_legend, sync_chart},
    csrf::{Csrf, FIELD},
    layout::{badge, maybe_time, page, service_badges, time, wire},
};

/// The listing's filters as the page was asked for them (echoed into the form and the links).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// A lifecycle state.
    pub state: Option<String>,
    /// A site code.
    pub site: Option<String>,
    /// A tag.
    pub tag: Option<String>,
}

impl Filters {
    /// The query string of these filters and `cursor`.
    pub fn query(&self, cursor: Option<&str>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("state", &self.state), ("site", &self.site), ("tag", &self.tag)] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// What the dashboard shows.
pub struct Dashboard<'a> {
    /// The fleet.
    pub fleet: &'a FleetView,
    /// The sites with tenants, their runs over the charts' days.
    pub history: &'a [SiteHistory],
    /// Today (UTC), the charts' last day.
    pub today: NaiveDate,
    /// A page of the tenant list.
    pub list: &'a TenantList,
    /// The list's filters.
    pub filters: &'a Filters,
}

/// The dashboard.
pub fn dashboard(shown: &Dashboard<'_>, csrf: &Csrf) -> Markup {
    let Dashboard {
        fleet,
        history,
        today,
        list,
        filters,
    } = *shown;
    let body = html! {
        h1 { "The fleet" }
        div.cards {
            div.card { span.n { (fleet.tenants) } span.label { "tenants" } }
            div.card { span.n.warn { (fleet.needing_attention) } span.label { "need attention" } }
            @for (state, n) in &fleet.by_state {
                div.card { span.n { (n) } span.label { (state) } }
            }
        }
        @if !fleet.attention.is_empty() {
            section {
                h2 { "Needing attention" }
                (tenant_table(&fleet.attention))
            }
        }
        section {
            h2 { "Sites" }
            div.scroll { table {
                thead { tr { th { "site" } th { "tenants" } th { "last run" } th { "synced" } th { "failed" } th { "skipped" } th.hide-narrow { "completed" } } }
                tbody {
                    @for site in &fleet.sites {
                        tr {
                            td { (site.site.code()) }
                            td { (site.tenants) }
                            @if let Some(run) = &site.last_run {
                                td { (run.run.run_date) " " span.muted { "(" (run.queued) " queued)" } }
                                td.ok { (run.synced) }
                                td class=(if run.failed > 0 { "bad" } else { "" }) { (run.failed) }
                                td { (run.skipped) }
                                td.hide-narrow { (maybe_time(run.completed_at.as_ref())) }
                            } @else {
                                td.muted colspan="5" { "no run today or yesterday" }
                            }
                        }
                        @if let Some(run) = &site.last_run {
                            @for failure in &run.failures {
                                tr { td {} td.text.bad colspan="6" {
                                    a href={ "tenants/" (failure.tenant_id) } { code { (failure.tenant_id) } } ": " (failure.reason)
                                } }
                            }
                        }
                    }
                }
            } }
            @if let Some(refresh) = &fleet.last_refresh {
                @let report = &refresh.report;
                p {
                    "Last token refresh " (time(&refresh.finished_at)) ": "
                    (report.refreshed) " of " (report.tenants) " refreshed, "
                    span class=(if report.failed.is_empty() { "" } else { "bad" }) { (report.failed.len()) " failed" } ", "
                    span class=(if report.needs_reconsent.is_empty() { "" } else { "bad" }) { (report.needs_reconsent.len()) " need re-consent" }
                }
            }
        }
        @if !history.is_empty() {
            section {
                h2 { "Tenants by state, last " (DAYS) " days" }
                p.muted { "The fleet as each day's runs found it." }
                div.charts { figure { (state_chart(history, today)) (state_legend()) } }
            }
            section {
                h2 { "Daily sync, last " (DAYS) " days" }
                p.muted { "Each day's tenants: synced (green), failed (red), skipped (grey)." }
                div.charts {
                    @for site in history {
                        figure { figcaption { (site.site.code()) } (sync_chart(site, today)) }
                    }
                }
            }
        }
        section {
            h2 { "Tenants" }
            form.filters method="get" action="./" {
                label { "state" select name="state" {
                    option value="" { "any" }
                    @for state in LifecycleState::ALL {
                        @let name = state.to_string();
                        option value=(name) selected[filters.state.as_deref() == Some(name.as_str())] { (name) }
                    }
                } }
                label { "site" select name="site" {
                    option value="" { "any" }
                    @for site in Site::all() {
                        option value=(site.code()) selected[filters.site.as_deref() == Some(site.code())] { (site.code()) }
                    }
                } }
                label { "tag" input type="text" name="tag" value=(filters.tag.clone().unwrap_or_default()) size="12"; }
                button.plain type="submit" { "Filter" }
            }
            (tenant_table(&list.tenants))
            @if let Some(cursor) = &list.cursor {
                p { a href={ "?" (filters.query(Some(cursor))) } { "Next page →" } }
            }
        }
        section {
            h2 { "Provision a tenant" }
            p.muted { "Makes a consent link for the tenant's admin. When they accept, Verify runs and provisioning starts." }
            form.stack method="post" action="consent-links" {
                input type="hidden" name=(FIELD) value=(csrf.token());
                label { "tenant (a domain or its id)" input type="text" name="tenant" required placeholder="contoso.com"; }
                label { "site" select name="site" {
                    @for site in Site::all() { option value=(site.code()) { (site.code()) } }
                } }
                fieldset {
                    legend { "services" }
                    @for service in Service::ALL {
                        label { input type="checkbox" name="services" value=(service.code()) checked; (service.code()) }
                    }
                }
                label { "users to protect (one per line; none protects the whole domain)" textarea name="users" rows="3" {} }
                label { "groups to protect (object ids, one per line)" textarea name="groups" rows="2" {} }
                fieldset {
                    legend { "options" }
                    label { "the vendor's IPs in the tenant's IP Allow List" select name="ip_allow_list" {
                        option value="true" selected { "add them (the default)" }
                        option value="false" { "leave the list alone" }
                    } }
                }
                button type="submit" { "Make the consent link" }
            }
        }
    };
    page("", "Dashboard", None, body)
}

/// Tenants as rows linking to their pages.
fn tenant_table(tenants: &[TenantRow]) -> Markup {
    html! {
        @if tenants.is_empty() {
            p.muted { "No tenants." }
        } @else {
            div.scroll { table {
                thead { tr { th { "tenant" } th { "site" } th { "state" } th { "services" } th.hide-narrow { "updated" } th { "attention" } } }
                tbody {
                    @for row in tenants {
                        tr {
                            td.text {
                                a href={ "tenants/" (row.tenant_id) } {
                                    @if let Some(name) = &row.labels.display_name { (name) br; }
                                    code { (row.tenant_id) }
                                }
                                @for tag in &row.labels.tags { " " span.badge.info { (wire(tag)) } }
                            }
                            td { (row.site.code()) }
                            td {
                                (badge(&row.state))
                                @if row.paused_at.is_some() { (badge(&"paused")) }
                            }
                            td { (service_badges(&row.services, &row.service_states)) }
                            td.hide-narrow { (time(&row.updated_at)) }
                            td.text { @if let Some(attention) = &row.attention { span.warn { (attention) } } }
                        }
                    }
                }
            } }
        }
    }
}
