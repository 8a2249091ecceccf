//! Token refresh of many tenants: a forced run of `token-refresh`'s `Refresher` (production
//! concurrency and secret-write limit) over every active tenant.

use std::time::{Duration, Instant};

use integration_tests::lab::Lab;
use serde_json::json;

use crate::{
    Plan,
    error::{BenchError, Result},
    report::{Figure, Section},
};

/// Secrets Manager's quota for PutSecretValue, UpdateSecret and the like, per region (not
/// adjustable; AWS documents it among the Secrets Manager service quotas).
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

/// The time `tenants` tenants take under Secrets Manager's write quota: their secret writes at
/// the refresher's own limit (which stays under the regional quota, leaving room for others).
pub fn under_write_quota(run: &RefreshRun, tenants: usize) -> Duration {
    let writes_per_tenant = run.secret_writes as f64 / run.tenants.max(1) as f64;
    let limit = f64::from(lifecycle::refresh::SECRET_WRITES_PER_SECOND).min(SECRET_WRITE_QUOTA_PER_SECOND);
    Duration::from_secs_f64(writes_per_tenant * tenants as f64 / limit)
}

/// The time `tenants` tenants would take at the measured pace (here bound by moto, which answers
/// one request at a time).
pub fn at_measured_pace(run: &RefreshRun, tenants: usize) -> Duration {
    run.wall.mul_f64(tenants as f64 / run.tenants.max(1) as f64)
}

pub async fn section(lab: &Lab, plan: &Plan) -> Result<Section> {
    let mut runs = Vec::new();
    for _ in 0..plan.runs {
        runs.push(forced(lab).await?);
    }
    let per = |pick: &dyn Fn(&RefreshRun) -> f64| runs.iter().map(pick).collect::<Vec<f64>>();
    let tenants = runs.first().map(|r| r.tenants).unwrap_or_default();
    Ok(Section {
        title: "4. Token refresh".to_owned(),
        intro: format!(
            "A forced refresh (`{{\"force\": true}}`: every token re-minted) of every active tenant \
             ({tenants}: those of section 3 plus the ones provisioned in section 5), {} runs, with the \
             production settings: {} tenants at a time, at most {} secret writes a second.",
            plan.runs,
            lifecycle::refresh::CONCURRENCY,
            lifecycle::refresh::SECRET_WRITES_PER_SECOND
        ),
        figures: vec![
            Figure::new(
                "token refresh: token requests per tenant",
                "requests",
                per(&|r| r.token_requests as f64 / r.tenants.max(1) as f64),
            )
            .at_most(2.0)
            .notes("one per resource (Graph, Exchange); the hourly schedule makes that ≤ 1 per resource per hour"),
            Figure::new(
                "token refresh: secret writes per tenant",
                "writes",
                per(&|r| r.secret_writes as f64 / r.tenants.max(1) as f64),
            )
            .at_most(1.0),
            Figure::new(
                "token refresh of every active tenant: wall time",
                "s",
                per(&|r| r.wall.as_secs_f64()),
            ),
            Figure::new(
                "token refresh of 10,000 tenants under the secret-write quota",
                "s",
                per(&|r| under_write_quota(r, 10_000).as_secs_f64()),
            )
            .at_most(900.0)
            .notes(format!(
                "10,000 tenants' secret writes at the refresher's {} writes/s (Secrets Manager allows {} a \
                 second per region, not adjustable, shared with every other writer). Budget: \
                 `token-refresh`'s 900 s timeout, inside its hourly period (the design sets none)",
                lifecycle::refresh::SECRET_WRITES_PER_SECOND,
                SECRET_WRITE_QUOTA_PER_SECOND
            )),
            Figure::new(
                "token refresh of 10,000 tenants at the measured pace",
                "s",
                per(&|r| at_measured_pace(r, 10_000).as_secs_f64()),
            )
            .notes(
                "the local wall time scaled up: bound by moto answering one request at a time (a \
                 refresh is a secret read and a write per tenant), not by Entra or the quota; in AWS the \
                 quota line above is the floor",
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_writes_take_250_seconds_at_40_a_second() {
        let run = RefreshRun {
            tenants: 1000,
            token_requests: 2000,
            secret_writes: 1000,
            wall: Duration::from_secs(40),
        };
        assert_eq!(under_write_quota(&run, 10_000), Duration::from_secs(250));
        assert_eq!(at_measured_pace(&run, 10_000), Duration::from_secs(400));
    }
}
