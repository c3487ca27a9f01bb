//! Maps keyed by strand id, for O(1) lookup on the scheduling path.
//!
//! Only lookups go through these maps; no decision ever depends on their
//! iteration order (see DESIGN §8, determinism).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use spin_kernel::StrandId;

/// A multiplicative hasher for small integer keys (strand ids): deterministic
/// and a few cycles, where SipHash would cost tens of nanoseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        // Fibonacci hashing; the high bits are the well-mixed ones, so fold them down.
        let h = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }
}

/// A hash map from strand id to `V` with [`IdHasher`].
pub type IdMap<V> = HashMap<StrandId, V, BuildHasherDefault<IdHasher>>;

/// A set of strand ids: a bitmap for ids below [`crate::slots::DIRECT_IDS`]
/// (kernel ids are small and dense, so 10 000 strands take 1.25 KiB), an
/// [`IdMap`] for the rest.
#[derive(Debug, Clone, Default)]
pub struct IdSet {
    bits: Vec<u64>,
    sparse: IdMap<()>,
}

impl IdSet {
    /// An empty set.
    pub fn new() -> IdSet {
        IdSet::default()
    }

    /// Adds `id`; returns whether it was new.
    pub fn insert(&mut self, id: StrandId) -> bool {
        if id.0 >= crate::slots::DIRECT_IDS {
            return self.sparse.insert(id, ()).is_none();
        }
        let (word, bit) = (id.0 as usize / 64, id.0 % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let was = self.bits[word] & 1 << bit != 0;
        self.bits[word] |= 1 << bit;
        !was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_set_dense_and_sparse() {
        let mut s = IdSet::new();
        assert!(s.insert(StrandId(3)));
        assert!(s.insert(StrandId(700)));
        assert!(s.insert(StrandId(0x8000_0002)));
        assert!(!s.insert(StrandId(3)));
        assert!(!s.insert(StrandId(700)));
        assert!(!s.insert(StrandId(0x8000_0002)));
        assert!(s.insert(StrandId(4)));
    }
}
