//! Per-strand and per-mound accounting: CPU time, wait time, wake-up latency,
//! periodic jobs and their deadline misses, and Jain's fairness index.

use serde::{Deserialize, Serialize};
use spin_kernel::Nanos;

use crate::histogram::{LatencySummary, LogHistogram};

/// What the runtime measured for one strand (or summed for one mound).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// CPU time, ns.
    pub cpu_ns: Nanos,
    /// Time runnable but not running, ns.
    pub wait_ns: Nanos,
    /// Longest single wait between becoming runnable and being dispatched, ns.
    pub max_wait_ns: Nanos,
    /// Times dispatched onto a CPU.
    pub dispatches: u64,
    /// Times woken (blocked → runnable).
    pub wakeups: u64,
    /// From wake-up to the first dispatch after it, ns.
    pub wake_latency: LogHistogram,
    /// Periodic jobs finished (a job runs from wake-up to the next block).
    pub jobs: u64,
    /// Jobs that finished after release + relative deadline.
    pub deadline_misses: u64,
}

impl Account {
    /// Records a dispatch after waiting `waited` ns; `wake_latency` if this is
    /// the first dispatch since a wake-up.
    pub fn dispatched(&mut self, waited: Nanos, wake_latency: Option<Nanos>) {
        self.dispatches += 1;
        self.wait_ns += waited;
        self.max_wait_ns = self.max_wait_ns.max(waited);
        if let Some(l) = wake_latency {
            self.wake_latency.record(l);
        }
    }

    /// Adds `other` into this one (for mound totals).
    pub fn merge(&mut self, other: &Account) {
        self.cpu_ns += other.cpu_ns;
        self.wait_ns += other.wait_ns;
        self.max_wait_ns = self.max_wait_ns.max(other.max_wait_ns);
        self.dispatches += other.dispatches;
        self.wakeups += other.wakeups;
        self.wake_latency.merge(&other.wake_latency);
        self.jobs += other.jobs;
        self.deadline_misses += other.deadline_misses;
    }

    /// The serializable view.
    pub fn row(&self) -> AccountRow {
        AccountRow {
            cpu_ns: self.cpu_ns,
            wait_ns: self.wait_ns,
            max_wait_ns: self.max_wait_ns,
            dispatches: self.dispatches,
            wakeups: self.wakeups,
            wake_latency: self.wake_latency.summary(),
            jobs: self.jobs,
            deadline_misses: self.deadline_misses,
        }
    }
}

/// [`Account`] as it appears in telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountRow {
    /// CPU time, ns.
    pub cpu_ns: Nanos,
    /// Time runnable but not running, ns.
    pub wait_ns: Nanos,
    /// Longest single wait, ns.
    pub max_wait_ns: Nanos,
    /// Dispatches.
    pub dispatches: u64,
    /// Wake-ups.
    pub wakeups: u64,
    /// Wake-up latency, ns.
    pub wake_latency: LatencySummary,
    /// Periodic jobs finished.
    pub jobs: u64,
    /// Jobs that missed their deadline.
    pub deadline_misses: u64,
}

/// Jain's fairness index of `xs`: (Σx)² / (n · Σx²), 1.0 when all are equal,
/// 1/n when one takes everything; 1.0 for an empty or all-zero set.
pub fn jain_index<I: IntoIterator<Item = f64>>(xs: I) -> f64 {
    let (mut n, mut sum, mut sq) = (0u64, 0.0f64, 0.0f64);
    for x in xs {
        n += 1;
        sum += x;
        sq += x * x;
    }
    if n == 0 || sq == 0.0 {
        return 1.0;
    }
    sum * sum / (n as f64 * sq)
}

/// Jain's index over weighted shares: each `(cpu_ns, weight)` pair counts as
/// `cpu_ns / weight`, so 1.0 means CPU was split in proportion to weight.
pub fn weighted_jain<I: IntoIterator<Item = (Nanos, u32)>>(shares: I) -> f64 {
    jain_index(
        shares
            .into_iter()
            .map(|(cpu, w)| cpu as f64 / f64::from(w.max(1))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_extremes() {
        assert_eq!(jain_index([3.0, 3.0, 3.0]), 1.0);
        assert!((jain_index([1.0, 0.0, 0.0, 0.0]) - 0.25).abs() < 1e-12);
        assert_eq!(jain_index(std::iter::empty()), 1.0);
        assert_eq!(weighted_jain([(100, 1), (200, 2), (300, 3)]), 1.0);
    }

    #[test]
    fn dispatch_and_merge() {
        let mut a = Account::default();
        a.dispatched(10, Some(10));
        a.dispatched(30, None);
        assert_eq!((a.wait_ns, a.max_wait_ns, a.dispatches), (40, 30, 2));
        let mut m = Account::default();
        m.merge(&a);
        m.merge(&a);
        assert_eq!(m.wake_latency.count(), 2);
        assert_eq!(m.row().wait_ns, 80);
    }
}
