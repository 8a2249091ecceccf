//! Charts drawn on the server as SVG (no script, no style beyond the sheet), one bar a day over
//! the last days: a site's daily sync (its synced, failed and skipped tenants) and the fleet by
//! lifecycle state (the snapshots the sites' runs took).

use chrono::{Duration, NaiveDate};
use lifecycle::console::SiteHistory;
use maud::{Markup, html};
use model::tenant::LifecycleState;

/// Days the dashboard's charts cover.
pub const DAYS: u32 = 7;

const BAR: i64 = 28;
const GAP: i64 = 12;
const LEFT: i64 = 36;
const HEIGHT: i64 = 90;
const TOP: i64 = 14;

/// One day's bar: what its title says, and its segments from the bottom up (a class, a count).
struct Bar {
    title: String,
    segments: Vec<(&'static str, u64)>,
}

/// `history`'s bars for the `DAYS` days up to `today`, a day without a run left empty.
pub fn sync_chart(history: &SiteHistory, today: NaiveDate) -> Markup {
    let site = history.site.code();
    bars(&format!("daily sync of site {site}"), today, |date| {
        let Some(day) = history.days.iter().find(|d| d.date == date) else {
            return (format!("{site} {date}: no run"), None);
        };
        let bar = Bar {
            title: format!(
                "{site} {date}: {} synced, {} failed, {} skipped of {} queued",
                day.synced, day.failed, day.skipped, day.queued
            ),
            segments: vec![
                ("bar-ok", count(day.synced)),
                ("bar-bad", count(day.failed)),
                ("bar-skip", count(day.skipped)),
            ],
        };
        (String::new(), Some(bar))
    })
}

/// The fleet by lifecycle state on each of the `DAYS` days up to `today`: the sum of the
/// snapshots each site's run took that day; a day without one left empty.
pub fn state_chart(history: &[SiteHistory], today: NaiveDate) -> Markup {
    bars("tenants by state", today, |date| {
        let snapshots: Vec<_> = history
            .iter()
            .filter_map(|site| {
                site.days
                    .iter()
                    .find(|d| d.date == date && !d.by_state.is_empty())
            })
            .collect();
        if snapshots.is_empty() {
            return (format!("{date}: no snapshot"), None);
        }
        let total = |state: LifecycleState| {
            let name = state.to_string();
            snapshots
                .iter()
                .filter_map(|d| d.by_state.get(&name))
                .sum::<u64>()
        };
        let counts: Vec<(LifecycleState, u64)> = LifecycleState::ALL
            .into_iter()
            .map(|state| (state, total(state)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let words: Vec<String> = counts.iter().map(|(state, n)| format!("{n} {state}")).collect();
        let bar = Bar {
            title: format!("{date}: {}", words.join(", ")),
            segments: counts.iter().map(|&(state, n)| (state_class(state), n)).collect(),
        };
        (String::new(), Some(bar))
    })
}

/// The legend of the state chart: each state's colour and name.
pub fn state_legend() -> Markup {
    html! {
        p.legend {
            @for state in LifecycleState::ALL {
                span { svg.swatch xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" aria-hidden="true" { rect class=(state_class(state)) width="10" height="10" {} } " " (state) }
            }
        }
    }
}

/// The class a state's segment is drawn with.
fn state_class(state: LifecycleState) -> &'static str {
    match state {
        LifecycleState::Provisioning => "st-provisioning",
        LifecycleState::Active => "st-active",
        LifecycleState::Failed => "st-failed",
        LifecycleState::NeedsReconsent => "st-needs_reconsent",
        LifecycleState::Deprovisioning => "st-deprovisioning",
        LifecycleState::Deprovisioned => "st-deprovisioned",
    }
}

/// The rectangles of a bar's segments, stacked from `bottom` up: class, top, height.
fn stack(
    segments: &[(&'static str, u64)],
    bottom: i64,
    scale: impl Fn(u64) -> i64,
) -> Vec<(&'static str, i64, i64)> {
    let mut top = bottom;
    segments
        .iter()
        .map(|&(class, n)| {
            let height = scale(n);
            top -= height;
            (class, top, height)
        })
        .collect()
}

/// A count as the charts add it up.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A bar chart of the `DAYS` days up to `today`, scaled to its tallest bar; `day` gives a
/// date's bar, or the title of its empty slot.
fn bars(label: &str, today: NaiveDate, day: impl Fn(NaiveDate) -> (String, Option<Bar>)) -> Markup {
    let slots: Vec<(NaiveDate, (String, Option<Bar>))> = (0..i64::from(DAYS))
        .map(|slot| today - Duration::days(i64::from(DAYS) - 1 - slot))
        .map(|date| (date, day(date)))
        .collect();
    let most = slots
        .iter()
        .filter_map(|(_, (_, bar))| bar.as_ref())
        .map(|bar| bar.segments.iter().map(|(_, n)| n).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u64| i64::try_from(n.saturating_mul(HEIGHT.unsigned_abs()) / most).unwrap_or(HEIGHT);
    let width = LEFT + i64::from(DAYS) * (BAR + GAP);
    let bottom = TOP + HEIGHT;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (bottom + 18) } role="img"
            aria-label={ (label) ", last " (DAYS) " days" } {
            title { (label) }
            text x="0" y=(TOP + 4) { (most) }
            text x="0" y=(bottom) { "0" }
            line x1=(LEFT - 4) y1=(bottom) x2=(width) y2=(bottom) stroke="#d9dee5" {}
            @for (slot, (date, (empty, bar))) in (0_i64..).zip(&slots) {
                @let x = LEFT + slot * (BAR + GAP);
                g {
                    @if let Some(bar) = bar {
                        title { (bar.title) }
                        @let rects = stack(&bar.segments, bottom, scale);
                        @for &(class, y, height) in &rects {
                            rect class=(class) x=(x) y=(y) width=(BAR) height=(height) {}
                        }
                        @let failed: u64 = bar.segments.iter().filter(|(class, _)| *class == "bar-bad").map(|(_, n)| n).sum();
                        @if failed > 0 {
                            @let top = rects.last().map_or(bottom, |&(_, y, _)| y);
                            text.count x=(x + 2) y=(top - 2) { (failed) " ✗" }
                        }
                    } @else {
                        title { (empty) }
                    }
                    text x=(x) y=(bottom + 14) { (date.format("%m-%d")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use lifecycle::console::DayCounts;
    use model::sites::Site;

    use super::*;

    #[test]
    fn each_day_is_a_bar_of_its_counts_and_a_day_without_a_run_is_empty() {
        let today: NaiveDate = "2026-12-03".parse().expect("a date");
        let day = |date: &str, synced, failed| DayCounts {
            date: date.parse().expect("a date"),
            queued: synced + failed,
            synced,
            failed,
            skipped: 0,
            by_state: BTreeMap::new(),
        };
        let history = SiteHistory {
            site: Site::Eu,
            days: vec![day("2026-12-01", 3, 1), day("2026-12-03", 4, 0)],
        };
        let svg = sync_chart(&history, today).into_string();
        assert!(
            svg.contains("eu 2026-12-01: 3 synced, 1 failed, 0 skipped of 4 queued"),
            "{svg}"
        );
        assert!(svg.contains("eu 2026-12-02: no run"), "{svg}");
        // The tallest day fills the chart: 4 of 4 synced is 90 px; 3 of 4 is 67, 1 of 4 is 22.
        assert!(
            svg.contains(r#"class="bar-ok" x="196" y="37" width="28" height="67""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"class="bar-bad" x="196" y="15" width="28" height="22""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"class="bar-ok" x="276" y="14" width="28" height="90""#),
            "{svg}"
        );
        assert_eq!(
            svg.matches("<rect").count(),
            6,
            "three rects for each of the two runs"
        );
        assert!(
            svg.contains(">11-27<") && svg.contains(">12-03<"),
            "seven days: {svg}"
        );
    }

    #[test]
    fn the_fleet_by_state_adds_up_the_sites_snapshots_of_each_day() {
        let today: NaiveDate = "2026-12-03".parse().expect("a date");
        let day = |date: &str, states: &[(&str, u64)]| DayCounts {
            date: date.parse().expect("a date"),
            queued: 0,
            synced: 0,
            failed: 0,
            skipped: 0,
            by_state: states.iter().map(|&(s, n)| (s.to_owned(), n)).collect(),
        };
        let history = [
            SiteHistory {
                site: Site::Eu,
                days: vec![
                    day("2026-12-02", &[("active", 3), ("failed", 1)]),
                    day("2026-12-03", &[("active", 4)]),
                ],
            },
            SiteHistory {
                site: Site::Us,
                // A run recorded before runs took snapshots adds nothing.
                days: vec![
                    day("2026-12-01", &[]),
                    day("2026-12-03", &[("active", 2), ("needs_reconsent", 2)]),
                ],
            },
        ];
        let svg = state_chart(&history, today).into_string();
        assert!(
            svg.contains("<title>2026-12-03: 6 active, 2 needs_reconsent</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>2026-12-02: 3 active, 1 failed</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>2026-12-01: no snapshot</title>"), "{svg}");
        // The tallest day (8) fills the chart: 6 active is 67 px from the bottom (104), 2 more 22.
        assert!(
            svg.contains(r#"class="st-active" x="276" y="37" width="28" height="67""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"class="st-needs_reconsent" x="276" y="15" width="28" height="22""#),
            "{svg}"
        );
        assert_eq!(
            svg.matches("<rect").count(),
            4,
            "two segments on each of two days"
        );
    }
}
