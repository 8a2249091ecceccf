//! The invocation's deadline and the time a function keeps back before it: work that could not
//! finish by then stops at a checkpoint and goes on in a continuation, instead of being cut off
//! by Lambda's hard timeout.

use std::time::{Duration, SystemTime};

/// When an invocation must have answered, and how long before that it stops starting work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<SystemTime>,
    reserve: Duration,
}

impl Deadline {
    /// No deadline (a test, a local run): work is never cut short.
    pub const fn none() -> Self {
        Self {
            at: None,
            reserve: Duration::ZERO,
        }
    }

    /// `at` with `reserve` kept back.
    pub const fn new(at: Option<SystemTime>, reserve: Duration) -> Self {
        Self { at, reserve }
    }

    /// The invocation's deadline with `reserve` kept back; a deadline already past counts as
    /// none (Lambda never invokes so; local emulators sometimes do).
    pub fn of_invocation(at: Option<SystemTime>, reserve: Duration) -> Self {
        Self::new(usable(at), reserve)
    }

    /// The deadline itself, if there is one.
    pub fn at(&self) -> Option<SystemTime> {
        self.at
    }

    /// Time left before the deadline (zero once past), if there is one.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// Whether the reserve has been reached: nothing new should start.
    pub fn is_near(&self) -> bool {
        self.remaining().is_some_and(|left| left < self.reserve)
    }
}

/// The invocation's deadline, unless it has already passed.
pub fn usable(deadline: Option<SystemTime>) -> Option<SystemTime> {
    deadline.filter(|d| {
        let usable = *d > SystemTime::now();
        if !usable {
            tracing::warn!("the invocation's deadline has already passed; running without one");
        }
        usable
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_kept_before_the_deadline() {
        let soon = SystemTime::now() + Duration::from_secs(10);
        assert!(Deadline::of_invocation(Some(soon), Duration::from_secs(30)).is_near());
        assert!(!Deadline::of_invocation(Some(soon), Duration::from_secs(1)).is_near());
        assert!(!Deadline::none().is_near());
        let past = SystemTime::now() - Duration::from_secs(1);
        let lax = Deadline::of_invocation(Some(past), Duration::from_secs(30));
        assert_eq!(
            (lax.at(), lax.is_near()),
            (None, false),
            "a past deadline is none"
        );
    }
}
