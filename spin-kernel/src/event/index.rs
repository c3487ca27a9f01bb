//! The equality-guard index: an open-addressing map from a key value to the
//! sorted ordinals of the handlers guarded on that value. Built once per
//! install; probed once per raise.

/// Immutable `u64 → [u32]` map with linear probing.
pub(super) struct IntIndex {
    shift: u32,
    /// `(key, start, len)` into `ordinals`; `len == 0` marks an empty slot.
    slots: Vec<(u64, u32, u32)>,
    ordinals: Vec<u32>,
}

#[inline]
fn hash(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl IntIndex {
    /// Builds from `(key, ordinal)` pairs given in ordinal order.
    pub(super) fn build(pairs: &[(u64, u32)]) -> IntIndex {
        let mut sorted = pairs.to_vec();
        // Stable: ordinals stay ascending within one key.
        sorted.sort_by_key(|&(k, _)| k);
        let distinct = sorted.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        let cap = (distinct * 2).next_power_of_two().max(2);
        let shift = 64 - cap.trailing_zeros();
        let mut slots = vec![(0u64, 0u32, 0u32); cap];
        let mut ordinals = Vec::with_capacity(sorted.len());
        let mut i = 0;
        while i < sorted.len() {
            let key = sorted[i].0;
            let start = ordinals.len() as u32;
            while i < sorted.len() && sorted[i].0 == key {
                ordinals.push(sorted[i].1);
                i += 1;
            }
            let len = ordinals.len() as u32 - start;
            let mut s = hash(key, shift);
            while slots[s].2 != 0 {
                s = (s + 1) & (cap - 1);
            }
            slots[s] = (key, start, len);
        }
        IntIndex {
            shift,
            slots,
            ordinals,
        }
    }

    /// The ordinals of handlers guarded on `key`, ascending.
    #[inline]
    pub(super) fn get(&self, key: u64) -> &[u32] {
        let mask = self.slots.len() - 1;
        let mut s = hash(key, self.shift);
        loop {
            let (k, start, len) = self.slots[s];
            if len == 0 {
                return &[];
            }
            if k == key {
                return &self.ordinals[start as usize..(start + len) as usize];
            }
            s = (s + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn index_matches_linear_scan(pairs in proptest::collection::vec(0u64..20, 0..60), probes in proptest::collection::vec(0u64..25, 1..20)) {
            let pairs: Vec<(u64, u32)> = pairs.into_iter().enumerate().map(|(i, k)| (k, i as u32)).collect();
            let idx = IntIndex::build(&pairs);
            for p in probes {
                let want: Vec<u32> = pairs.iter().filter(|(k, _)| *k == p).map(|(_, o)| *o).collect();
                prop_assert_eq!(idx.get(p), &want[..]);
            }
        }
    }
}
