//! The one retry policy for every Microsoft call: exponential backoff with jitter for transient
//! failures, the server's `Retry-After` for throttling, and no sleeping past a cap: a longer
//! delay is handed back to the caller, who re-queues the work instead of idling a Lambda.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use chrono::{DateTime, Utc};

use crate::config::{ConfigError, Source, optional};

/// How a failed call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryHint {
    /// Retrying cannot help (bad request, missing consent, not found).
    Never,
    /// A transient failure: retry with backoff.
    Backoff,
    /// Throttled or unavailable: retry after the server's delay.
    After(Duration),
}

/// An error that knows whether retrying may help.
pub trait Retryable {
    /// How the call that failed with this error may be retried.
    fn retry_hint(&self) -> RetryHint;
}

/// Attempts and delays of the retry loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// The longest server-requested delay slept through; a longer one ends the loop.
    pub max_server_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_server_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default policy with its backoff delays from `M365_RETRY_MIN_DELAY_MS` and
    /// `M365_RETRY_MAX_DELAY_MS` where set (tests that inject faults shorten them): each 1 ms to
    /// 60 s, the first no longer than the longest.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        const LONGEST: u64 = 60_000;
        let millis = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            let Some(raw) = optional(source, name) else {
                return Ok(None);
            };
            match raw.parse::<u64>() {
                Ok(ms @ 1..=LONGEST) => Ok(Some(Duration::from_millis(ms))),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: format!(
                        "expected a whole number of milliseconds from 1 to {LONGEST}, got {raw:?}"
                    ),
                }),
            }
        };
        let default = Self::default();
        let min = millis("M365_RETRY_MIN_DELAY_MS")?;
        let max = millis("M365_RETRY_MAX_DELAY_MS")?;
        let (min_delay, max_delay) = (min.unwrap_or(default.min_delay), max.unwrap_or(default.max_delay));
        if min_delay > max_delay {
            // Name the setting the operator wrote: the first delay when the longest is the default.
            let name = if max.is_some() {
                "M365_RETRY_MAX_DELAY_MS"
            } else {
                "M365_RETRY_MIN_DELAY_MS"
            };
            return Err(ConfigError::Invalid {
                name,
                reason: format!(
                    "the first delay ({} ms) is longer than the longest ({} ms)",
                    min_delay.as_millis(),
                    max_delay.as_millis()
                ),
            });
        }
        Ok(Self {
            min_delay,
            max_delay,
            ..default
        })
    }

    /// A policy that never sleeps long: for tests that inject faults.
    pub fn quick() -> Self {
        Self {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            ..Self::default()
        }
    }

    /// Runs `op` until it succeeds, fails for good, or the policy is spent.
    pub async fn run<T, E, F, Fut>(&self, what: &str, op: F) -> Result<T, E>
    where
        E: Retryable + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter();
        let cap = self.max_server_delay;
        op.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|err: &E| err.retry_hint() != RetryHint::Never)
            .adjust(move |err: &E, backoff_delay| match err.retry_hint() {
                // The attempt budget still applies (backoff_delay is None once it is spent).
                RetryHint::After(delay) if delay <= cap => backoff_delay.map(|_| delay),
                RetryHint::After(_) => None,
                _ => backoff_delay,
            })
            .notify(|err: &E, delay: Duration| {
                tracing::info!(what, error = %err, delay_ms = delay.as_millis() as u64, "retrying");
            })
            .await
    }
}

/// Parses a `Retry-After` value: whole or decimal seconds (Graph sends both), or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug)]
    struct Failure(RetryHint);

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl Retryable for Failure {
        fn retry_hint(&self) -> RetryHint {
            self.0
        }
    }

    async fn attempts_until(policy: RetryPolicy, failures: &[RetryHint]) -> (usize, Result<(), Failure>) {
        let calls = AtomicUsize::new(0);
        let result = policy
            .run("test", || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                failures.get(n).map_or(Ok(()), |hint| Err(Failure(*hint)))
            })
            .await;
        (calls.load(Ordering::SeqCst), result)
    }

    #[tokio::test]
    async fn transient_and_short_throttles_are_retried_and_the_rest_returned() {
        let quick = RetryPolicy::quick();
        let short = RetryHint::After(Duration::from_millis(5));
        assert_eq!(attempts_until(quick, &[RetryHint::Backoff, short]).await.0, 3);
        let (calls, result) = attempts_until(quick, &[RetryHint::Never]).await;
        assert_eq!(
            (calls, result.is_err()),
            (1, true),
            "permanent errors are not retried"
        );
        let long = RetryHint::After(Duration::from_secs(60));
        let (calls, result) = attempts_until(quick, &[long]).await;
        assert_eq!(
            calls, 1,
            "a delay past the cap goes back to the caller to re-queue"
        );
        assert!(matches!(result, Err(Failure(RetryHint::After(d))) if d == Duration::from_secs(60)));
        let (calls, result) = attempts_until(quick, &[RetryHint::Backoff; 9]).await;
        assert_eq!((calls, result.is_err()), (5, true), "the attempt budget holds");
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_delay_is_what_is_slept() {
        let started = tokio::time::Instant::now();
        let policy = RetryPolicy {
            max_server_delay: Duration::from_secs(30),
            ..RetryPolicy::quick()
        };
        let (calls, result) = attempts_until(policy, &[RetryHint::After(Duration::from_millis(2500))]).await;
        assert_eq!((calls, result.is_ok()), (2, true));
        assert_eq!(started.elapsed().as_millis(), 2500);
    }

    #[test]
    fn delays_come_from_the_environment_and_bad_ones_are_named() {
        use std::collections::HashMap;
        let env = |pairs: &[(&'static str, &'static str)]| pairs.iter().copied().collect::<HashMap<_, _>>();
        assert_eq!(RetryPolicy::from_source(&env(&[])), Ok(RetryPolicy::default()));
        let quick = env(&[
            ("M365_RETRY_MIN_DELAY_MS", "1"),
            ("M365_RETRY_MAX_DELAY_MS", "20"),
        ]);
        assert_eq!(RetryPolicy::from_source(&quick), Ok(RetryPolicy::quick()));
        for (bad, named) in [
            (
                env(&[("M365_RETRY_MIN_DELAY_MS", "soon")]),
                "M365_RETRY_MIN_DELAY_MS",
            ),
            (
                env(&[("M365_RETRY_MIN_DELAY_MS", "9000")]),
                "M365_RETRY_MIN_DELAY_MS",
            ),
            (
                env(&[
                    ("M365_RETRY_MIN_DELAY_MS", "300"),
                    ("M365_RETRY_MAX_DELAY_MS", "200"),
                ]),
                "M365_RETRY_MAX_DELAY_MS",
            ),
            (
                env(&[("M365_RETRY_MIN_DELAY_MS", "0")]),
                "M365_RETRY_MIN_DELAY_MS",
            ),
            (
                env(&[("M365_RETRY_MAX_DELAY_MS", "5000000")]),
                "M365_RETRY_MAX_DELAY_MS",
            ),
        ] {
            let err = RetryPolicy::from_source(&bad).expect_err(named).to_string();
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn retry_after_accepts_integers_decimals_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T07:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("60", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after(" 2.5 ", now), Some(Duration::from_millis(2500)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 07:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 06:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-1", "NaN", "inf"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}
