//! Charts drawn on the server as SVG (no script, no style beyond the sheet): a site's daily
//! sync over the last days, each day a bar of its synced, failed and skipped tenants.

use chrono::{Duration, NaiveDate};
use lifecycle::console::SiteHistory;
use maud::{Markup, html};

/// Days the dashboard's charts cover.
pub const DAYS: u32 = 7;

const BAR: i64 = 28;
const GAP: i64 = 12;
const LEFT: i64 = 36;
const HEIGHT: i64 = 90;
const TOP: i64 = 14;

/// `history`'s bars for the `DAYS` days up to `today`, a day without a run left empty.
pub fn sync_chart(history: &SiteHistory, today: NaiveDate) -> Markup {
    let site = history.site.code();
    let most = history
        .days
        .iter()
        .map(|d| d.synced + d.failed + d.skipped)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: usize| {
        i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(HEIGHT) / i64::try_from(most).unwrap_or(1)
    };
    let width = LEFT + i64::from(DAYS) * (BAR + GAP);
    let bottom = TOP + HEIGHT;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (width) " " (bottom + 18) } role="img"
            aria-label={ "daily sync of site " (site) ", last " (DAYS) " days" } {
            title { "Daily sync of site " (site) }
            text x="0" y=(TOP + 4) { (most) }
            text x="0" y=(bottom) { "0" }
            line x1=(LEFT - 4) y1=(bottom) x2=(width) y2=(bottom) stroke="#d9dee5" {}
            @for slot in 0..i64::from(DAYS) {
                @let date = today - Duration::days(i64::from(DAYS) - 1 - slot);
                @let x = LEFT + slot * (BAR + GAP);
                g {
                    @if let Some(day) = history.days.iter().find(|d| d.date == date) {
                        title { (site) " " (date) ": " (day.synced) " synced, " (day.failed) " failed, " (day.skipped) " skipped of " (day.queued) " queued" }
                        @let synced = scale(day.synced);
                        @let failed = scale(day.failed);
                        @let skipped = scale(day.skipped);
                        rect.bar-ok x=(x) y=(bottom - synced) width=(BAR) height=(synced) {}
                        rect.bar-bad x=(x) y=(bottom - synced - failed) width=(BAR) height=(failed) {}
                        rect.bar-skip x=(x) y=(bottom - synced - failed - skipped) width=(BAR) height=(skipped) {}
                        @if day.failed > 0 {
                            text.count x=(x + 2) y=(bottom - synced - failed - skipped - 2) { (day.failed) " ✗" }
                        }
                    } @else {
                        title { (site) " " (date) ": no run" }
                    }
                    text x=(x) y=(bottom + 14) { (date.format("%m-%d")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
}
