//! Injected faults: throttling, outages, latency and lost responses.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{error::SimError, ids::IdGen, stats::Surface};

/// When a fault answers relative to the real work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The request is rejected before it does anything.
    #[default]
    Before,
    /// The request is applied, then the response is replaced by the fault: the lost response
    /// that makes blind retries of non-idempotent calls dangerous.
    After,
}

/// A fault to inject, as posted to `POST /_sim/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Tenant id, or `*` for every tenant.
    #[serde(default = "star")]
    pub tenant: String,
    /// `token`, `graph`, `exchange` or `*`.
    #[serde(default = "star")]
    pub surface: String,
    /// HTTP status to answer with (typically 429 or 503). Absent: latency only.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` value: an integer or a decimal number of seconds (Graph sometimes sends
    /// decimals). Defaults for 429: 60 on the token surface (as Entra), 10 elsewhere.
    #[serde(default)]
    pub retry_after: Option<serde_json::Value>,
    /// Extra latency in milliseconds before answering.
    #[serde(default)]
    pub latency_ms: u64,
    /// How many requests the fault hits; absent means forever.
    #[serde(default)]
    pub count: Option<u64>,
    /// `before` (default) or `after`.
    #[serde(default)]
    pub phase: Phase,
    /// Only requests whose description contains this text (case-insensitive): for Graph and the
    /// token endpoint `"METHOD /path"`, for Exchange the cmdlet name.
    #[serde(default, rename = "match")]
    pub matches: Option<String>,
    /// Share of the matching requests that it hits, in `0..=1` (drawn from the simulator's seed, so
    /// a run repeats); absent means every one.
    #[serde(default)]
    pub probability: Option<f64>,
}

fn star() -> String {
    "*".to_owned()
}

/// A fault that hit a request.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultHit {
    /// Status to answer with, if any.
    pub status: Option<u16>,
    /// `Retry-After` header text, if any.
    pub retry_after: Option<String>,
    /// Latency to add before answering.
    pub latency_ms: u64,
    /// When to answer.
    pub phase: Phase,
}

#[derive(Debug, Clone, Serialize)]
struct Fault {
    id: u64,
    #[serde(flatten)]
    spec: FaultSpec,
    hits: u64,
}

/// The active faults, matched in insertion order.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<(u64, Vec<Fault>)>,
    draws: Mutex<IdGen>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::seeded(0)
    }
}

impl Faults {
    /// No faults yet; `probability` draws follow `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            inner: Mutex::default(),
            draws: Mutex::new(IdGen::new(seed, "faults")),
        }
    }

    /// Adds a fault and returns its id.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, SimError> {
        if !matches!(spec.surface.as_str(), "*" | "token" | "graph" | "exchange") {
            return Err(SimError::BadRequest(format!(
                "unknown surface {:?}",
                spec.surface
            )));
        }
        if let Some(s) = spec.status
            && !(100..=599).contains(&s)
        {
            return Err(SimError::BadRequest(format!("invalid status {s}")));
        }
        if spec.status.is_none() && spec.latency_ms == 0 {
            return Err(SimError::BadRequest(
                "a fault needs a status or a latency_ms".into(),
            ));
        }
        if let Some(v) = &spec.retry_after {
            retry_after_text(v)?;
        }
        if let Some(p) = spec.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(SimError::BadRequest(format!(
                "probability must be within 0..=1, got {p}"
            )));
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        let id = g.0;
        g.1.push(Fault { id, spec, hits: 0 });
        Ok(id)
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.clear();
    }

    /// Removes one fault; false if it did not exist.
    pub fn remove(&self, id: u64) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let before = g.1.len();
        g.1.retain(|f| f.id != id);
        g.1.len() != before
    }

    /// JSON list of active faults with their hit counts.
    pub fn list(&self) -> serde_json::Value {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::to_value(&g.1).unwrap_or_default()
    }

    /// Finds the first fault matching this request and consumes one of its uses.
    pub fn take(&self, tenant: &str, surface: Surface, what: &str) -> Option<FaultHit> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.1.is_empty() {
            return None;
        }
        let idx = g.1.iter().position(|f| {
            (f.spec.tenant == "*" || f.spec.tenant.eq_ignore_ascii_case(tenant))
                && (f.spec.surface == "*" || f.spec.surface == surface.as_str())
                && f.spec.count.is_none_or(|c| f.hits < c)
                && f.spec
                    .matches
                    .as_ref()
                    .is_none_or(|m| what.to_ascii_lowercase().contains(&m.to_ascii_lowercase()))
                && f.spec.probability.is_none_or(|p| self.draw() < p)
        })?;
        let f = &mut g.1[idx];
        f.hits += 1;
        let retry_after = match (&f.spec.retry_after, f.spec.status) {
            (Some(v), _) => retry_after_text(v).ok(),
            (None, Some(429)) if surface == Surface::Token => Some("60".to_owned()),
            (None, Some(429)) => Some("10".to_owned()),
            _ => None,
        };
        let hit = FaultHit {
            status: f.spec.status,
            retry_after,
            latency_ms: f.spec.latency_ms,
            phase: f.spec.phase,
        };
        if f.spec.count.is_some_and(|c| f.hits >= c) {
            g.1.remove(idx);
        }
        Some(hit)
    }
}

impl Faults {
    /// A uniform draw in `0..1`.
    fn draw(&self) -> f64 {
        let bits = self.draws.lock().unwrap_or_else(|e| e.into_inner()).next_u64() >> 11;
        bits as f64 / (1u64 << 53) as f64
    }
}

/// Renders a Retry-After given as a JSON number or string: `5` -> "5", `1.5` -> "1.5".
fn retry_after_text(v: &serde_json::Value) -> Result<String, SimError> {
    let bad = || SimError::BadRequest(format!("retry_after must be a non-negative number, got {v}"));
    match v {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                Ok(i.to_string())
            } else {
                let f = n.as_f64().filter(|f| *f >= 0.0).ok_or_else(bad)?;
                Ok(format!("{f}"))
            }
        }
        serde_json::Value::String(s) if s.parse::<f64>().is_ok_and(|f| f >= 0.0) => Ok(s.clone()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> FaultSpec {
        serde_json::from_value(v).expect("spec")
    }

    #[test]
    fn count_limits_hits_and_filters_apply() {
        let f = Faults::default();
        f.add(spec(
            serde_json::json!({"tenant":"a","surface":"graph","status":429,"retry_after":1.5,"count":2}),
        ))
        .expect("add");
        assert!(f.take("b", Surface::Graph, "GET /users").is_none());
        assert!(f.take("a", Surface::Exchange, "Get-TransportRule").is_none());
        let h = f.take("a", Surface::Graph, "GET /users").expect("hit");
        assert_eq!(h.retry_after.as_deref(), Some("1.5"));
        assert!(f.take("a", Surface::Graph, "GET /users").is_some());
        assert!(f.take("a", Surface::Graph, "GET /users").is_none());
    }

    #[test]
    fn token_429_defaults_to_60_and_match_filters() {
        let f = Faults::default();
        f.add(spec(
            serde_json::json!({"status":429,"match":"new-transportrule"}),
        ))
        .expect("add");
        assert!(f.take("x", Surface::Token, "POST /x/oauth2").is_none());
        let h = f.take("x", Surface::Exchange, "New-TransportRule").expect("hit");
        assert_eq!(h.retry_after.as_deref(), Some("10"));
        f.clear();
        f.add(spec(serde_json::json!({"status":429}))).expect("add");
        assert_eq!(
            f.take("x", Surface::Token, "")
                .and_then(|h| h.retry_after)
                .as_deref(),
            Some("60")
        );
    }

    #[test]
    fn rejects_bad_specs() {
        let f = Faults::default();
        assert!(
            f.add(spec(serde_json::json!({"surface":"mail","status":429})))
                .is_err()
        );
        assert!(
            f.add(spec(serde_json::json!({"status":429,"retry_after":"soon"})))
                .is_err()
        );
        assert!(f.add(spec(serde_json::json!({}))).is_err());
    }

    #[test]
    fn a_probability_hits_about_that_share_and_repeats_with_the_seed() {
        let hits = |seed| {
            let f = Faults::seeded(seed);
            f.add(serde_json::from_value(serde_json::json!({"status": 429, "probability": 0.3})).unwrap())
                .unwrap();
            (0..1000)
                .map(|_| f.take("t", Surface::Graph, "GET /users").is_some())
                .collect::<Vec<_>>()
        };
        let first = hits(7);
        let share = first.iter().filter(|h| **h).count();
        assert!((250..350).contains(&share), "{share} of 1000");
        assert_eq!(first, hits(7), "the same seed, the same hits");
        assert_ne!(first, hits(8));
        let f = Faults::default();
        let bad = serde_json::from_value(serde_json::json!({"status": 429, "probability": 1.5})).unwrap();
        assert!(f.add(bad).is_err());
    }
}
