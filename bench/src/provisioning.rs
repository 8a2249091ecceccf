//! Provisioning wall time under injected latency against the critical path of its dependent
//! calls.
//!
//! The provisioner runs its steps in order and every step looks before it writes, so each
//! Microsoft request waits for the answer to the one before; m365-sim delays every request the
//! latency fault matches, and each sub-request of a `$batch` in turn. The critical path is then
//! the number of delayed requests times the latency (counted by the fault's hits).

use integration_tests::lab::Lab;
use std::time::{Duration, Instant};

use crate::{
    error::Result,
    requests::{customer_tenant, provision, provision_request},
};

/// One timed provisioning.
#[derive(Debug, Clone, Copy)]
pub struct ProvisionRun {
    /// Wall time of the `provision` handler.
    pub wall: Duration,
    /// Requests the latency fault delayed.
    pub delayed: u64,
    /// The critical path: delayed requests times the latency.
    pub critical_path: Duration,
}

/// Provisions a new customer tenant with `latency_ms` on every Microsoft request.
pub async fn timed(lab: &Lab, latency_ms: u64) -> Result<ProvisionRun> {
    let (tenant, targeted) = customer_tenant(lab, 3)?;
    let fault = (latency_ms > 0).then(|| lab.latency(latency_ms));
    let started = Instant::now();
    let outcome = provision(lab, provision_request(tenant, &targeted)).await;
    let wall = started.elapsed();
    let delayed = fault.map(|id| lab.hits_of(id)).unwrap_or(0);
    lab.sim.clear_faults();
    outcome?;
    Ok(ProvisionRun {
        wall,
        delayed,
        critical_path: Duration::from_millis(latency_ms) * delayed as u32,
    })
}
