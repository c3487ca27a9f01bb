//! Maps keyed by strand id, for O(1) lookup on the scheduling path.
//!
//! Only lookups go through these maps; no decision ever depends on their
//! iteration order (see DESIGN §8, determinism).

use spin_kernel::StrandId;

/// The kernel's multiplicative hasher for small integer keys.
pub use spin_kernel::hash::FibHasher as IdHasher;

/// A hash map from strand id to `V` with [`IdHasher`].
pub type IdMap<V> = spin_kernel::hash::FibMap<StrandId, V>;

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
