//! Deterministic id and name generation: the same seed gives the same ids, in the same order.

use uuid::Uuid;

/// A small deterministic generator (SplitMix64). Not cryptographic: it only has to be repeatable.
#[derive(Debug, Clone)]
pub struct IdGen {
    state: u64,
}

impl IdGen {
    /// A generator for `seed`, further separated by `salt` (for example a tenant id).
    pub fn new(seed: u64, salt: &str) -> Self {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        for b in salt.bytes() {
            state = mix(state ^ u64::from(b));
        }
        Self { state }
    }

    /// Next 64 random-looking bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Next id, shaped like a version-4 GUID as Entra's object ids are.
    pub fn uuid(&mut self) -> Uuid {
        let hi = self.next_u64();
        let lo = self.next_u64();
        uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes()).into_uuid()
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GIVEN: &[&str] = &[
    "Adele",
    "Alex",
    "Allan",
    "Bianca",
    "Christie",
    "Debra",
    "Diego",
    "Emily",
    "Enrico",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
];
const SURNAMES: &[&str] = &[
    "Vance",
    "Wilber",
    "Deyoung",
    "Pia",
    "Cline",
    "Berger",
    "Soto",
    "Braun",
    "Gonzalez",
    "Archie",
    "Harris",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Valdez",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
];

/// The deterministic given name and surname of generated user number `n` of a tenant.
pub fn user_name(seed: u64, n: u64) -> (&'static str, &'static str) {
    let mut g = IdGen::new(seed, "names");
    g.state ^= n.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let a = g.below(GIVEN.len() as u64) as usize;
    let b = g.below(SURNAMES.len() as u64) as usize;
    (GIVEN[a], SURNAMES[b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let mut a = IdGen::new(42, "t1");
        let mut b = IdGen::new(42, "t1");
        let mut c = IdGen::new(42, "t2");
        let (x, y, z) = (a.uuid(), b.uuid(), c.uuid());
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_eq!(x.get_version_num(), 4);
        assert_eq!(user_name(1, 5), user_name(1, 5));
    }
}
