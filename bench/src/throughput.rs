//! Sync throughput: many active tenants synced in steady state with injected latency, by sync
//! workers wired as the template configures them (SQS batches of 10, at most 20 workers at once,
//! each syncing 4 tenants of its batch at a time), against the bound those settings imply.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use integration_tests::lab::Lab;
use lifecycle::sync::SyncMessage;
use lifecycle::sync::worker::CONCURRENCY as SYNC_WORKER_CONCURRENCY;
use model::{sites::Site, tenant::TenantId};
use serde_json::json;

use crate::error::{BenchError, Result};

/// SQS messages per sync-worker invocation (the template's `BatchSize`).
pub const BATCH_SIZE: usize = 10;
/// Sync-worker invocations at once (the template's `ScalingConfig.MaximumConcurrency`).
pub const MAX_CONCURRENCY: usize = 20;

/// One timed round over every tenant.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    /// Wall time of the round.
    pub wall: Duration,
    /// Requests the latency fault delayed, per tenant.
    pub delayed_per_tenant: f64,
    /// Messages reported as failed.
    pub failures: usize,
}

/// Creates `count` active tenants with `users` users each.
pub async fn tenants(lab: &Lab, count: usize, users: u64) -> Vec<TenantId> {
    stream::iter(0..count)
        .map(|_| lab.active_tenant(Site::Us, users))
        .buffer_unordered(8)
        .collect()
        .await
}

/// Syncs every tenant once as the deployed workers would, with `latency_ms` on every Microsoft
/// request; `run_id` names the run (a new one makes every tenant due again).
pub async fn round(lab: &Lab, tenants: &[TenantId], run_id: &str, latency_ms: u64) -> Result<Round> {
    let batches: VecDeque<Vec<SyncMessage>> = tenants
        .chunks(BATCH_SIZE)
        .map(|chunk| {
            chunk
                .iter()
                .map(|t| SyncMessage {
                    tenant_id: *t,
                    site: Site::Us,
                    run_id: run_id.to_owned(),
                })
                .collect()
        })
        .collect();
    let queue = Arc::new(Mutex::new(batches));
    // Each worker is a new Lambda process: its own clients and empty token caches.
    let workers: Vec<_> = (0..MAX_CONCURRENCY).map(|_| lab.syncer()).collect();
    let fault = (latency_ms > 0).then(|| lab.latency(latency_ms));
    let started = Instant::now();
    let results = futures_util::future::join_all(workers.iter().map(|worker| {
        let queue = queue.clone();
        async move {
            let mut failures = 0usize;
            while let Some(batch) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                let event = sqs_event(&batch)?;
                let answer = worker
                    .handle_sqs(event)
                    .await
                    .map_err(|e| BenchError::run("sync-worker", e))?;
                failures += answer.batch_item_failures.len();
            }
            Ok::<usize, BenchError>(failures)
        }
    }))
    .await;
    let wall = started.elapsed();
    let delayed = fault.map(|id| lab.hits_of(id)).unwrap_or(0);
    lab.sim.clear_faults();
    let failures = results.into_iter().sum::<Result<usize>>()?;
    Ok(Round {
        wall,
        delayed_per_tenant: delayed as f64 / tenants.len().max(1) as f64,
        failures,
    })
}

fn sqs_event(batch: &[SyncMessage]) -> Result<serde_json::Value> {
    let records = batch
        .iter()
        .map(|m| {
            let body = serde_json::to_string(m).map_err(|e| BenchError::run("sync message", e))?;
            Ok(json!({"messageId": uuid::Uuid::new_v4().to_string(), "body": body}))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({"Records": records}))
}

/// The latency bound of syncing `tenants` tenants when each one's sync waits `per_tenant` in
/// sequence: batches of [`BATCH_SIZE`] spread over [`MAX_CONCURRENCY`] workers, each worker
/// syncing [`SYNC_WORKER_CONCURRENCY`] tenants of its batch at a time.
pub fn latency_bound(tenants: usize, per_tenant: Duration) -> Duration {
    let batches = tenants.div_ceil(BATCH_SIZE);
    let rounds_of_batches = batches.div_ceil(MAX_CONCURRENCY);
    let waves_per_batch = BATCH_SIZE.min(tenants).div_ceil(SYNC_WORKER_CONCURRENCY);
    per_tenant * (rounds_of_batches * waves_per_batch) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_of_1000_tenants_is_fifteen_sequential_syncs() {
        // 100 batches over 20 workers: 5 rounds; a batch of 10 at 4 at a time: 3 waves.
        assert_eq!(
            latency_bound(1000, Duration::from_millis(400)),
            Duration::from_secs(6)
        );
        assert_eq!(
            latency_bound(4, Duration::from_millis(100)),
            Duration::from_millis(100)
        );
    }
}
