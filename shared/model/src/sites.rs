//! The sites and their daily sync times (UTC): the single source of truth.
//!
//! Times are fixed UTC, not local time. The SAM template's schedules are checked against
//! [`SITES`] by a test, so changing a time here without the template fails the build.

use std::fmt;

use serde::Serialize;

use crate::validation::{Validated, code_type, quote};

/// A data-centre site; each tenant belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// European Union.
    Eu,
    /// United Kingdom.
    Uk,
    /// Canada.
    Ca,
    /// United States.
    Us,
    /// India.
    In,
    /// Japan.
    Jp,
    /// Australia and New Zealand.
    Anz,
    /// Singapore.
    Sg,
}

/// A time of day in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtcTime {
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
}

impl UtcTime {
    /// The EventBridge Scheduler expression that fires daily at this time.
    pub fn daily_cron(self) -> String {
        format!("cron({} {} * * ? *)", self.minute, self.hour)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02} UTC", self.hour, self.minute)
    }
}

const fn at(hour: u8, minute: u8) -> UtcTime {
    UtcTime { hour, minute }
}

/// Every site with its daily sync time. India's is 12:15: the predecessor's "00:15 p.m.".
pub const SITES: [(Site, UtcTime); 8] = [
    (Site::Eu, at(0, 15)),
    (Site::Uk, at(0, 15)),
    (Site::Ca, at(5, 15)),
    (Site::Us, at(8, 15)),
    (Site::In, at(12, 15)),
    (Site::Jp, at(16, 15)),
    (Site::Anz, at(16, 15)),
    (Site::Sg, at(17, 15)),
];

impl Site {
    /// The site's code as used in events, keys and schedules.
    pub fn code(self) -> &'static str {
        match self {
            Self::Eu => "eu",
            Self::Uk => "uk",
            Self::Ca => "ca",
            Self::Us => "us",
            Self::In => "in",
            Self::Jp => "jp",
            Self::Anz => "anz",
            Self::Sg => "sg",
        }
    }

    /// When the site's daily sync runs.
    pub fn daily_sync(self) -> UtcTime {
        SITES
            .iter()
            .find(|(site, _)| *site == self)
            .map(|(_, time)| *time)
            .unwrap_or(at(0, 15))
    }

    /// Every site, in table order.
    pub fn all() -> impl Iterator<Item = Site> {
        SITES.iter().map(|(site, _)| *site)
    }
}

impl Validated for Site {
    const FIELD: &'static str = "site";

    fn validate(raw: &str) -> Result<Self, String> {
        Site::all().find(|site| site.code() == raw).ok_or_else(|| {
            let known: Vec<_> = Site::all().map(Site::code).collect();
            format!(
                "unknown site {}; expected one of {}",
                quote(raw),
                known.join(", ")
            )
        })
    }
}

code_type!(Site);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_the_design_times_in_utc() {
        let expected = [
            ("eu", "00:15 UTC"),
            ("uk", "00:15 UTC"),
            ("ca", "05:15 UTC"),
            ("us", "08:15 UTC"),
            ("in", "12:15 UTC"),
            ("jp", "16:15 UTC"),
            ("anz", "16:15 UTC"),
            ("sg", "17:15 UTC"),
        ];
        let actual: Vec<_> = Site::all()
            .map(|s| (s.code(), s.daily_sync().to_string()))
            .collect();
        let actual: Vec<_> = actual.iter().map(|(c, t)| (*c, t.as_str())).collect();
        assert_eq!(actual, expected);
        assert_eq!(Site::In.daily_sync().daily_cron(), "cron(15 12 * * ? *)");
    }

    #[test]
    fn every_site_round_trips_through_its_code() {
        for site in Site::all() {
            assert_eq!(site.code().parse::<Site>(), Ok(site));
            assert_eq!(
                serde_json::to_string(&site).expect("json"),
                format!("\"{}\"", site.code())
            );
        }
    }

    #[test]
    fn unknown_sites_are_rejected_naming_the_field() {
        for raw in ["", "EU", "europe", "us-east-1", "eu ", "a\u{0}b"] {
            let err = raw.parse::<Site>().expect_err(raw);
            assert_eq!(err.field, "site");
            assert!(
                err.reason
                    .contains("expected one of eu, uk, ca, us, in, jp, anz, sg"),
                "{err}"
            );
        }
    }
}
