//! A multiplicative (Fibonacci) hasher for small integer keys — strand ids,
//! page numbers: deterministic and a few cycles, where SipHash costs tens of
//! nanoseconds. Keys a guest chooses (page numbers) can only collide within
//! that guest's own table.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// See the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct FibHasher(u64);

impl FibHasher {
    fn mix(&mut self, n: u64) {
        // The product's high bits are the well-mixed ones: fold them down.
        let h = (self.0 ^ n).wrapping_mul(GOLDEN);
        self.0 = h ^ (h >> 32);
    }
}

impl Hasher for FibHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(GOLDEN);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.mix(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }
}

/// A `HashMap` with [`FibHasher`].
pub type FibMap<K, V> = HashMap<K, V, BuildHasherDefault<FibHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_keys_spread_and_hash_the_same_everywhere() {
        let h = |n: u64| {
            let mut x = FibHasher::default();
            x.write_u64(n);
            x.finish()
        };
        assert_eq!(h(42), h(42));
        let low: std::collections::HashSet<u64> = (0..1024).map(|n| h(n) & 1023).collect();
        assert!(low.len() > 600, "{} distinct low bits", low.len());
    }
}
