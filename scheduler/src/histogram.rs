//! A fixed-size log-linear histogram of nanosecond samples: 4 sub-buckets per
//! power of two (≤ 25 % relative error), 252 buckets, no allocation per sample.

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 2;
const SUB: usize = 1 << SUB_BITS;
/// Number of buckets: values 0..4 exactly, then 4 per power of two up to 2^64.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// Latency samples in ns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHistogram {
    counts: [u64; BUCKETS],
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            counts: [0; BUCKETS],
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let mantissa = ((v >> (e - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (e - SUB_BITS) as usize * SUB + mantissa
}

/// The largest value that falls in bucket `b`.
fn bucket_high(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let e = (b - SUB) / SUB + SUB_BITS as usize;
    let mantissa = ((b - SUB) % SUB) as u64;
    let low = (SUB as u64 + mantissa) << (e - SUB_BITS as usize);
    low.saturating_add((1u64 << (e - SUB_BITS as usize)) - 1)
}

impl LogHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one sample (ns).
    pub fn record(&mut self, v: u64) {
        self.counts[bucket_of(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.max = self.max.max(v);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LogHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest sample (exact), 0 if none.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `q`-quantile (0.0..=1.0): the upper edge of the bucket holding it,
    /// never above the exact maximum; 0 if empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_high(b).min(self.max);
            }
        }
        self.max
    }

    /// p50, p99, max and mean in one serializable row.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count,
            p50_ns: self.quantile(0.50),
            p99_ns: self.quantile(0.99),
            max_ns: self.max,
            mean_ns: if self.count == 0 {
                0
            } else {
                (self.sum / u128::from(self.count)) as u64
            },
        }
    }
}

/// A latency distribution summarized, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Median (bucket upper edge).
    pub p50_ns: u64,
    /// 99th percentile (bucket upper edge).
    pub p99_ns: u64,
    /// Exact maximum.
    pub max_ns: u64,
    /// Exact mean.
    pub mean_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_and_cover_every_value() {
        let mut last = 0;
        for v in (0..10_000u64).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last || v > 10_000);
            assert!(bucket_high(b) >= v, "v {v} b {b}");
            if b > 0 {
                assert!(bucket_high(b - 1) < v);
            }
            last = b;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_within_a_quarter() {
        let mut h = LogHistogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((500_000.0..=625_000.0).contains(&p50), "p50 {p50}");
        assert!((990_000.0..=1_000_000.0).contains(&p99), "p99 {p99}");
        assert_eq!(h.max(), 1_000_000);
        let mut m = LogHistogram::new();
        m.merge(&h);
        assert_eq!(m.summary(), h.summary());
    }
}
