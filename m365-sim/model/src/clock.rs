//! Simulated time: wall-clock time plus an offset that only moves forward.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The simulator's clock. Token expiry, delta-token expiry, refresh-token inactivity and group
/// propagation are all judged against it, so tests can jump hours or days ahead instantly.
#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    /// Current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Current simulated time as Unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.now().timestamp()
    }

    /// Moves simulated time forward by `seconds` (negative values are ignored: time never goes back).
    pub fn advance(&self, seconds: f64) -> DateTime<Utc> {
        if seconds > 0.0 {
            // Saturate rather than overflow on absurd inputs.
            let ms = (seconds * 1000.0).min(i64::MAX as f64 / 4.0) as i64;
            self.offset_ms.fetch_add(ms, Ordering::Relaxed);
        }
        self.now()
    }

    /// Total simulated offset from wall-clock time, in seconds.
    pub fn offset_secs(&self) -> f64 {
        self.offset_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

/// Formats a time the way Graph does (`2024-01-01T00:00:00Z`).
pub fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_forward_only() {
        let c = SimClock::default();
        let before = c.now();
        c.advance(3600.0);
        assert!(c.now() - before >= TimeDelta::seconds(3600));
        c.advance(-10_000.0);
        assert!(c.offset_secs() >= 3600.0 && c.offset_secs() < 3601.0);
    }
}
