//! An injected fault as a surface applies it: in its phase (before the work, or after it, when
//! the answer is lost or late), first its delay, then its error status if it has one.

use m365_sim_model::faults::{FaultHit, Phase};

/// Applies `hit` if it is for `phase`: sleeps its latency, and returns the status the surface
/// must answer with instead of its own, if any.
pub async fn strike(hit: Option<&FaultHit>, phase: Phase) -> Option<(&FaultHit, u16)> {
    let hit = hit.filter(|h| h.phase == phase)?;
    if hit.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(hit.latency_ms)).await;
    }
    hit.status.map(|status| (hit, status))
}
