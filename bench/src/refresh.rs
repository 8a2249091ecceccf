//! Token refresh of many tenants: a forced run of `token-refresh`'s `Refresher` (production
//! concurrency and secret-write limit) over every active tenant.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{
    error::{BenchError, Result},
    lab::Lab,
};

/// Secrets Manager's quota for PutSecretValue, UpdateSecret and the like, per region (not
/// adjustable; `../shared/reference/limits.md` §3.2).
pub const SECRET_WRITE_QUOTA_PER_SECOND: f64 = 50.0;

/// One forced refresh.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRun {
    /// Tenants looked at.
    pub tenants: usize,
    /// Token requests made.
    pub token_requests: usize,
    /// Secret writes made.
    pub secret_writes: usize,
    /// Wall time.
    pub wall: Duration,
}

/// Runs a forced refresh of every active tenant; fails if any tenant failed.
pub async fn forced(lab: &Lab) -> Result<RefreshRun> {
    let refresher = lab.refresher();
    let started = Instant::now();
    let report = refresher
        .run(&json!({"force": true}))
        .await
        .map_err(|e| BenchError::run("token refresh", e))?;
    let wall = started.elapsed();
    if !report.failed.is_empty() || !report.needs_reconsent.is_empty() {
        return Err(BenchError::run(
            "token refresh",
            format!(
                "{} failed, {} need re-consent: {:?}",
                report.failed.len(),
                report.needs_reconsent.len(),
                report.failed.first()
            ),
        ));
    }
    Ok(RefreshRun {
        tenants: report.tenants,
        token_requests: report.token_requests,
        secret_writes: report.secret_writes,
        wall,
    })
}

/// The time `tenants` tenants would take: the measured pace scaled up, or the secret-write
/// limit (the refresher's own, under the regional quota), whichever is slower.
pub fn implied(run: &RefreshRun, tenants: usize) -> Duration {
    let per_tenant = run.wall.as_secs_f64() / run.tenants.max(1) as f64;
    let writes_per_tenant = run.secret_writes as f64 / run.tenants.max(1) as f64;
    let limit = f64::from(shared::refresh::SECRET_WRITES_PER_SECOND).min(SECRET_WRITE_QUOTA_PER_SECOND);
    let by_pace = per_tenant * tenants as f64;
    let by_quota = writes_per_tenant * tenants as f64 / limit;
    Duration::from_secs_f64(by_pace.max(by_quota))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_writes_take_at_least_250_seconds_at_40_a_second() {
        let run = RefreshRun {
            tenants: 1000,
            token_requests: 2000,
            secret_writes: 1000,
            wall: Duration::from_secs(10),
        };
        assert_eq!(implied(&run, 10_000), Duration::from_secs(250));
        let slow = RefreshRun {
            wall: Duration::from_secs(40),
            ..run
        };
        assert_eq!(implied(&slow, 10_000), Duration::from_secs(400));
    }
}
