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
