//! What the dashboard remembers across records: frames per mound over time,
//! fault / reclaim / eviction rates, per-strand CPU percentages, and per-vCPU
//! exit rates (KVM machine).
//!
//! Records carry cumulative counters; rates are counter deltas over host
//! time deltas, CPU percentages are CPU-time deltas over machine-time deltas,
//! a vCPU's time in the guest is its run-time delta over the host-time delta.

use std::collections::{BTreeMap, VecDeque};

mod devices;

pub use devices::{DeviceHistory, NetPoint, PagerPoint};

use spin_kernel::{MoundId, StrandId};
use spin_vmm::control::Telemetry;
use spin_vmm::kvm::VcpuTelemetry;

/// Samples kept (five minutes at the default one-second refresh).
pub const HISTORY_LEN: usize = 300;

/// Per-second rates of a mound's (or all mounds') memory counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Page faults resolved per second.
    pub faults: f64,
    /// Frames reclaimed per second.
    pub reclaimed: f64,
    /// Pages evicted per second.
    pub evicted: f64,
}

impl Rates {
    fn add(&mut self, other: Rates) {
        self.faults += other.faults;
        self.reclaimed += other.reclaimed;
        self.evicted += other.evicted;
    }
}

/// One vCPU's rates between the last two records (as kvm_stat's
/// current-rate column).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VcpuRates {
    /// Exits per second.
    pub exits: f64,
    /// Exits per second per reason, in the record's order.
    pub reasons: Vec<(String, f64)>,
    /// Share of host time spent running the guest, 0..=1.
    pub guest: f64,
    /// PTE stores per second.
    pub pte_ops: f64,
}

impl VcpuRates {
    /// The rates from `before` to `now`, `secs` of host time apart (all
    /// zero if no time passed; a counter that went backwards counts as
    /// zero; a reason `before` lacks counts from zero).
    pub fn between(before: &VcpuTelemetry, now: &VcpuTelemetry, secs: f64) -> VcpuRates {
        let per_s = |now: u64, before: u64| {
            if secs > 0.0 {
                now.saturating_sub(before) as f64 / secs
            } else {
                0.0
            }
        };
        let reasons = now
            .reasons
            .iter()
            .map(|(name, n)| {
                let b = before
                    .reasons
                    .iter()
                    .find(|(r, _)| r == name)
                    .map_or(0, |r| r.1);
                (name.clone(), per_s(*n, b))
            })
            .collect();
        let guest = if secs > 0.0 {
            (now.run_ns.saturating_sub(before.run_ns) as f64 / (secs * 1e9)).min(1.0)
        } else {
            0.0
        };
        VcpuRates {
            exits: per_s(now.exits, before.exits),
            reasons,
            guest,
            pte_ops: per_s(now.pte_ops, before.pte_ops),
        }
    }

    /// Exits per second for `reason` (0 if the record has no such reason).
    pub fn reason(&self, reason: &str) -> f64 {
        self.reasons
            .iter()
            .find(|(r, _)| r == reason)
            .map_or(0.0, |r| r.1)
    }
}

/// One record's worth of history.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Host milliseconds of the record.
    pub host_ms: u64,
    /// Frames held per owner (the kernel is mound 0).
    pub frames: BTreeMap<MoundId, u64>,
    /// Rates summed over all mounds since the record before.
    pub rates: Rates,
}

#[derive(Debug, Clone, Default)]
struct Counters {
    seq: u64,
    host_ms: u64,
    machine_ns: u64,
    mounds: BTreeMap<MoundId, (u64, u64, u64)>,
    cpu: BTreeMap<StrandId, u64>,
    vcpus: BTreeMap<usize, VcpuTelemetry>,
}

/// History kept by the UI across records.
#[derive(Debug, Clone, Default)]
pub struct History {
    samples: VecDeque<Sample>,
    prev: Option<Counters>,
    mound_rates: BTreeMap<MoundId, Rates>,
    cpu_pct: BTreeMap<StrandId, f64>,
    vcpu_rates: BTreeMap<usize, VcpuRates>,
    devices: DeviceHistory,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a record. A record already seen is ignored; one from an earlier
    /// time or sequence (another host) starts the history afresh.
    pub fn record(&mut self, t: &Telemetry) {
        if let Some(p) = &self.prev {
            if t.seq == p.seq {
                return;
            }
            if t.seq < p.seq || t.host_ms < p.host_ms {
                *self = History::default();
            }
        }
        let now = Counters {
            seq: t.seq,
            host_ms: t.host_ms,
            machine_ns: t.machine_ns,
            mounds: t
                .mounds
                .iter()
                .map(|m| (m.id, (m.faults, m.reclaimed, m.evicted)))
                .collect(),
            cpu: t
                .sched
                .strands
                .iter()
                .map(|s| (s.id, s.account.cpu_ns))
                .collect(),
            vcpus: t.vcpus.iter().map(|v| (v.index, v.clone())).collect(),
        };
        let secs = self
            .prev
            .as_ref()
            .map(|p| t.host_ms.saturating_sub(p.host_ms) as f64 / 1e3);
        self.devices.record(t, secs);
        let mut total = Rates::default();
        self.mound_rates.clear();
        self.cpu_pct.clear();
        self.vcpu_rates.clear();
        if let Some(p) = &self.prev {
            let secs = t.host_ms.saturating_sub(p.host_ms) as f64 / 1e3;
            for (&id, &(f, r, e)) in &now.mounds {
                let (pf, pr, pe) = p.mounds.get(&id).copied().unwrap_or((f, r, e));
                let per_s = |now: u64, before: u64| {
                    if secs > 0.0 {
                        now.saturating_sub(before) as f64 / secs
                    } else {
                        0.0
                    }
                };
                let rates = Rates {
                    faults: per_s(f, pf),
                    reclaimed: per_s(r, pr),
                    evicted: per_s(e, pe),
                };
                total.add(rates);
                self.mound_rates.insert(id, rates);
            }
            let dm = now.machine_ns.saturating_sub(p.machine_ns);
            for (&id, &cpu) in &now.cpu {
                let before = p.cpu.get(&id).copied().unwrap_or(0);
                let pct = if dm == 0 {
                    0.0
                } else {
                    cpu.saturating_sub(before) as f64 * 100.0 / dm as f64
                };
                self.cpu_pct.insert(id, pct);
            }
            for (&i, v) in &now.vcpus {
                if let Some(before) = p.vcpus.get(&i) {
                    self.vcpu_rates
                        .insert(i, VcpuRates::between(before, v, secs));
                }
            }
        }
        if self.samples.len() == HISTORY_LEN {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample {
            host_ms: t.host_ms,
            frames: t
                .kernel
                .frames
                .owners
                .iter()
                .map(|o| (o.owner, o.used))
                .collect(),
            rates: total,
        });
        self.prev = Some(now);
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> impl DoubleEndedIterator<Item = &Sample> + ExactSizeIterator {
        self.samples.iter()
    }

    /// Seconds between the oldest and the newest sample.
    pub fn span_secs(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(a), Some(b)) => b.host_ms.saturating_sub(a.host_ms) as f64 / 1e3,
            _ => 0.0,
        }
    }

    /// Frames of `owner` over time as (seconds before the newest sample
    /// (≤ 0), frames) points, oldest first.
    pub fn frames_series(&self, owner: MoundId) -> Vec<(f64, f64)> {
        let newest = self.samples.back().map_or(0, |s| s.host_ms);
        self.samples
            .iter()
            .map(|s| {
                let x = -(newest.saturating_sub(s.host_ms) as f64) / 1e3;
                (x, s.frames.get(&owner).copied().unwrap_or(0) as f64)
            })
            .collect()
    }

    /// Every owner that held frames in some sample.
    pub fn owners(&self) -> Vec<MoundId> {
        let mut v: Vec<MoundId> = self
            .samples
            .iter()
            .flat_map(|s| s.frames.keys().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// One rate over time (per second, rounded up so any activity shows),
    /// oldest first.
    pub fn rate_series(&self, pick: fn(&Rates) -> f64) -> Vec<u64> {
        self.samples
            .iter()
            .map(|s| pick(&s.rates).ceil() as u64)
            .collect()
    }

    /// The newest rates summed over all mounds.
    pub fn rates(&self) -> Rates {
        self.samples.back().map(|s| s.rates).unwrap_or_default()
    }

    /// The newest rates of mound `m`.
    pub fn mound_rates(&self, m: MoundId) -> Rates {
        self.mound_rates.get(&m).copied().unwrap_or_default()
    }

    /// Strand `s`'s CPU use between the last two records, percent of one
    /// vCPU (None before the second record).
    pub fn cpu_pct(&self, s: StrandId) -> Option<f64> {
        self.cpu_pct.get(&s).copied()
    }

    /// vCPU `index`'s rates between the last two records (None before the
    /// second record, or for a vCPU the record before lacked).
    pub fn vcpu_rates(&self, index: usize) -> Option<&VcpuRates> {
        self.vcpu_rates.get(&index)
    }

    /// The db-pager mounds' and the network's history.
    pub fn devices(&self) -> &DeviceHistory {
        &self.devices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn rates_are_deltas_over_host_time() {
        let recs = fixture::records(3);
        let mut h = History::new();
        h.record(&recs[0]);
        assert_eq!(h.rates(), Rates::default());
        assert_eq!(h.cpu_pct(StrandId(1)), None);
        h.record(&recs[1]);
        let dt = (recs[1].host_ms - recs[0].host_ms) as f64 / 1e3;
        let faults = |r: &Telemetry| r.mounds.iter().map(|m| m.faults).sum::<u64>();
        let want = (faults(&recs[1]) - faults(&recs[0])) as f64 / dt;
        assert!((h.rates().faults - want).abs() < 1e-9, "{:?}", h.rates());
        assert!(h.mound_rates(MoundId(1)).faults > 0.0);
        let pct = h.cpu_pct(StrandId(1)).expect("second record");
        assert!(pct > 0.0 && pct <= 100.0, "{pct}");
        assert_eq!(h.samples().len(), 2);
    }

    fn vcpu(exits: u64, syscalls: u64, run_ns: u64, pte_ops: u64) -> VcpuTelemetry {
        VcpuTelemetry {
            index: 0,
            exits,
            reasons: vec![
                ("syscall".into(), syscalls),
                ("kick".into(), exits - syscalls),
            ],
            run_ns,
            pte_ops,
        }
    }

    #[test]
    fn vcpu_rates_are_deltas_over_host_time() {
        let a = vcpu(1_000, 800, 1_000_000_000, 50);
        let b = vcpu(4_000, 3_200, 1_600_000_000, 350);
        let r = VcpuRates::between(&a, &b, 2.0);
        assert_eq!(r.exits, 1_500.0);
        assert_eq!(r.reason("syscall"), 1_200.0);
        assert_eq!(r.reason("kick"), 300.0);
        assert_eq!(r.reason("nonesuch"), 0.0);
        assert!((r.guest - 0.3).abs() < 1e-12, "{}", r.guest);
        assert_eq!(r.pte_ops, 150.0);
        // No time passed: nothing to divide by.
        assert_eq!(VcpuRates::between(&a, &b, 0.0).exits, 0.0);
        // Counters going backwards (a restarted vCPU) count as zero, and a
        // share over 100% (clock skew) is capped.
        let back = VcpuRates::between(&b, &a, 1.0);
        assert_eq!((back.exits, back.reason("syscall")), (0.0, 0.0));
        let over = VcpuRates::between(&a, &vcpu(1_000, 800, 9_000_000_000, 50), 1.0);
        assert_eq!(over.guest, 1.0);
        // A reason the record before lacked counts from zero.
        let mut c = b.clone();
        c.reasons.push(("other".into(), 7));
        assert_eq!(VcpuRates::between(&a, &c, 1.0).reason("other"), 7.0);
    }

    #[test]
    fn history_keeps_vcpu_rates() {
        let recs = fixture::kvm_records(3);
        let mut h = History::new();
        h.record(&recs[0]);
        assert_eq!(h.vcpu_rates(0), None, "one record: no rates yet");
        h.record(&recs[1]);
        let dt = (recs[1].host_ms - recs[0].host_ms) as f64 / 1e3;
        for (i, (a, b)) in recs[0].vcpus.iter().zip(&recs[1].vcpus).enumerate() {
            let r = h.vcpu_rates(i).expect("second record");
            assert!((r.exits - (b.exits - a.exits) as f64 / dt).abs() < 1e-9);
            assert!(r.guest > 0.0 && r.guest <= 1.0, "{}", r.guest);
        }
        assert_eq!(h.vcpu_rates(2), None, "two vCPUs");
        h.record(&fixture::record(3));
        assert_eq!(h.vcpu_rates(0), None, "an Alpha record has none");
    }

    #[test]
    fn duplicates_are_ignored_and_a_new_host_resets() {
        let recs = fixture::records(3);
        let mut h = History::new();
        h.record(&recs[0]);
        h.record(&recs[1]);
        h.record(&recs[1]);
        assert_eq!(h.samples().len(), 2);
        h.record(&recs[0]);
        assert_eq!(h.samples().len(), 1, "earlier record: a new host");
    }

    #[test]
    fn series_end_at_zero_and_history_is_bounded() {
        let mut h = History::new();
        for r in fixture::records(HISTORY_LEN + 5) {
            h.record(&r);
        }
        assert_eq!(h.samples().len(), HISTORY_LEN);
        let s = h.frames_series(MoundId(1));
        assert_eq!(s.last().map(|p| p.0), Some(0.0));
        assert!(s[0].0 < 0.0);
        assert!(h.owners().contains(&MoundId::KERNEL));
        assert_eq!(h.rate_series(|r| r.faults).len(), HISTORY_LEN);
    }
}
