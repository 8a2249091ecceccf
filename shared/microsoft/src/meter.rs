//! What the Microsoft clients count, through the `metrics` facade (a function's process writes
//! them as EMF; without a recorder, nothing): requests, throttled answers and retries, each by
//! `Surface` (`graph`, `exchange`, `identity`).

use std::sync::atomic::{AtomicU32, Ordering};

use metrics::{Unit, counter, describe_counter};

/// Requests sent (every attempt is one).
pub const MICROSOFT_REQUESTS: &str = "MicrosoftRequests";
/// Answers that throttled (429), `$batch` sub-answers included.
pub const MICROSOFT_THROTTLES: &str = "MicrosoftThrottles";
/// Attempts after a call's first (the retry policy's).
pub const MICROSOFT_RETRIES: &str = "MicrosoftRetries";

/// Every metric this module records.
pub const NAMES: [&str; 3] = [MICROSOFT_REQUESTS, MICROSOFT_THROTTLES, MICROSOFT_RETRIES];

/// Graph (and SharePoint, which Graph answers for).
pub const GRAPH: &str = "graph";
/// Exchange Online's admin API.
pub const EXCHANGE: &str = "exchange";
/// Entra ID's token and discovery endpoints.
pub const IDENTITY: &str = "identity";

/// Gives each metric its unit; the function's recorder calls it once.
pub fn describe() {
    for name in NAMES {
        describe_counter!(name, Unit::Count, name);
    }
}

/// One request sent to `surface` (every attempt is one).
pub(crate) fn request(surface: &'static str) {
    counter!(MICROSOFT_REQUESTS, "Surface" => surface).increment(1);
}

/// An answer of `surface` (a whole one or a `$batch`'s sub-answer): a 429 is a throttle.
pub(crate) fn answered(surface: &'static str, status: u16) {
    if status == 429 {
        counter!(MICROSOFT_THROTTLES, "Surface" => surface).increment(1);
    }
}

/// The attempts of one call through the retry policy; each after the first is counted as a
/// retry when the call is over (the guard is dropped).
pub(crate) struct Attempts {
    surface: &'static str,
    count: AtomicU32,
}

impl Attempts {
    /// No attempt yet of a call to `surface`.
    pub(crate) fn of(surface: &'static str) -> Self {
        Self {
            surface,
            count: AtomicU32::new(0),
        }
    }

    /// One more attempt.
    pub(crate) fn one(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for Attempts {
    fn drop(&mut self) {
        let retries = self.count.load(Ordering::Relaxed).saturating_sub(1);
        if retries > 0 {
            counter!(MICROSOFT_RETRIES, "Surface" => self.surface).increment(u64::from(retries));
        }
    }
}
