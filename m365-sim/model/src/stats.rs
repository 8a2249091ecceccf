//! Request counters per tenant and surface, so tests and benchmarks can prove how many calls a
//! client made (for example that a sync used delta instead of full listings).

use std::{collections::BTreeMap, sync::Mutex};

use serde::Serialize;

/// One of the three Microsoft surfaces the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// `POST /{tenant}/oauth2/v2.0/token`.
    Token,
    /// `/v1.0/...`.
    Graph,
    /// `/adminapi/beta/{tenant}/...`.
    Exchange,
}

impl Surface {
    /// Lower-case name used in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Token => "token",
            Surface::Graph => "graph",
            Surface::Exchange => "exchange",
        }
    }
}

/// Counters of one tenant on one surface.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    /// Every request, reads and writes (a `$batch` envelope counts once, each sub-request once more).
    pub requests: u64,
    /// Requests that may change state: Graph POST/PATCH/PUT/DELETE, Exchange cmdlets other than `Get-*`.
    pub writes: u64,
    /// HTTP requests that reached the surface: a `$batch` once, whatever it carries.
    pub round_trips: u64,
    /// Of those, the ones that named no `client-request-id` (a support case could not find them).
    pub untraced: u64,
}

/// All counters, keyed by tenant id (or the raw tenant text when it did not resolve, `-` when unknown).
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<BTreeMap<String, BTreeMap<Surface, Counters>>>,
}

impl Stats {
    /// Counts one request.
    pub fn record(&self, tenant: &str, surface: Surface, write: bool) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let c = match map.get_mut(tenant) {
            Some(t) => t.entry(surface).or_default(),
            None => map
                .entry(tenant.to_owned())
                .or_default()
                .entry(surface)
                .or_default(),
        };
        c.requests += 1;
        if write {
            c.writes += 1;
        }
    }

    /// Counts one HTTP request (a `$batch` envelope, a single call), apart from what it carries,
    /// and whether it named itself by a `client-request-id`.
    pub fn round_trip(&self, tenant: &str, surface: Surface, traced: bool) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let counters = map
            .entry(tenant.to_owned())
            .or_default()
            .entry(surface)
            .or_default();
        counters.round_trips += 1;
        if !traced {
            counters.untraced += 1;
        }
    }

    /// Counters of one tenant and surface.
    pub fn get(&self, tenant: &str, surface: Surface) -> Counters {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(tenant)
            .and_then(|t| t.get(&surface))
            .copied()
            .unwrap_or_default()
    }

    /// JSON view: `{"tenants":{tid:{surface:{requests,writes}}},"total":{surface:{...}}}`.
    pub fn snapshot(&self) -> serde_json::Value {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut total: BTreeMap<Surface, Counters> = BTreeMap::new();
        for t in map.values() {
            for (s, c) in t {
                let e = total.entry(*s).or_default();
                e.requests += c.requests;
                e.writes += c.writes;
                e.round_trips += c.round_trips;
                e.untraced += c.untraced;
            }
        }
        serde_json::json!({ "tenants": *map, "total": total })
    }

    /// Resets every counter.
    pub fn reset(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reads_and_writes_separately() {
        let s = Stats::default();
        s.record("t", Surface::Graph, false);
        s.record("t", Surface::Graph, true);
        s.record("t", Surface::Exchange, true);
        s.round_trip("t", Surface::Exchange, false);
        assert_eq!(
            s.get("t", Surface::Graph),
            Counters {
                requests: 2,
                writes: 1,
                round_trips: 0,
                untraced: 0,
            }
        );
        assert_eq!(s.get("t", Surface::Exchange).round_trips, 1);
        assert_eq!(s.get("t", Surface::Exchange).untraced, 1, "no client-request-id");
        assert_eq!(s.snapshot()["total"]["exchange"]["writes"], 1);
        s.reset();
        assert_eq!(s.get("t", Surface::Graph), Counters::default());
    }
}
