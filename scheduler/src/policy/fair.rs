//! `fair`: CFS-style weighted virtual runtime.
//!
//! Each strand accumulates virtual runtime `ran * 1024 / weight`; the strand
//! with the least runs next, for a slice of `latency * weight / total weight`
//! (at least the minimum granularity). A strand that wakes up is placed no
//! further back than half a latency behind the queue's minimum, so sleepers
//! get a prompt but bounded bonus. Weights come from `SchedParams::weight`
//! (100 = nice 0) or from the priority through Linux's nice table.

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use super::FairWeights;
use crate::ids::IdMap;
use crate::queue::LazyHeap;

/// Linux's `sched_prio_to_weight`: nice -20 ..= 19.
pub const NICE_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// Weight of nice 0.
const NICE_0: u64 = 1024;

/// Virtual-runtime fair scheduling.
#[derive(Debug)]
pub struct Fair {
    queue: LazyHeap<u64>,
    /// Virtual runtime and weight of every strand the policy knows.
    known: IdMap<(u64, u64)>,
    min_vruntime: u64,
    queued_weight: u64,
    latency: Nanos,
    min_granularity: Nanos,
    weights: FairWeights,
}

impl Fair {
    /// A fair policy with a scheduling `latency` and `min_granularity` (ns).
    pub fn new(latency: Nanos, min_granularity: Nanos, weights: FairWeights) -> Fair {
        Fair {
            queue: LazyHeap::new(),
            known: IdMap::default(),
            min_vruntime: 0,
            queued_weight: 0,
            latency: latency.max(1),
            min_granularity: min_granularity.max(1),
            weights,
        }
    }

    /// The load weight of a strand with `params` (nice 0 = 1024).
    pub fn weight_of(&self, params: &SchedParams) -> u64 {
        match self.weights {
            FairWeights::Weight => (u64::from(params.weight) * NICE_0 / 100).max(1),
            FairWeights::Priority => {
                let nice = (16 - i32::from(params.priority.min(31))).clamp(-20, 19);
                NICE_TO_WEIGHT[(nice + 20) as usize]
            }
        }
    }

    /// The virtual runtime of `strand`, if known.
    pub fn vruntime_of(&self, strand: StrandId) -> Option<u64> {
        self.known.get(&strand).map(|&(v, _)| v)
    }
}

impl GlobalScheduler for Fair {
    fn name(&self) -> &'static str {
        "fair"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        self.remove(strand);
        let w = self.weight_of(params);
        let floor = self.min_vruntime.saturating_sub(self.latency / 2);
        let entry = self.known.entry(strand).or_insert((self.min_vruntime, w));
        entry.0 = entry.0.max(floor);
        entry.1 = w;
        self.queue.push(strand, entry.0);
        self.queued_weight += w;
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        if self.queue.remove(strand).is_none() {
            return false;
        }
        let w = self.known.get(&strand).map_or(0, |&(_, w)| w);
        self.queued_weight -= w;
        true
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        let total = self.queued_weight;
        let (strand, v) = self.queue.pop()?;
        let w = self.known.get(&strand).map_or(NICE_0, |&(_, w)| w);
        self.queued_weight -= w;
        self.min_vruntime = self.min_vruntime.max(v);
        let slice = (u128::from(self.latency) * u128::from(w) / u128::from(total.max(1))) as u64;
        Some(Pick {
            strand,
            quantum: slice.clamp(self.min_granularity, self.latency),
        })
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, _now: Nanos) {
        let w = self.weight_of(params);
        let min = self.min_vruntime;
        let entry = self.known.entry(strand).or_insert((min, w));
        entry.0 = entry.0.saturating_add(ran.saturating_mul(NICE_0) / w);
        entry.1 = w;
    }

    fn should_preempt(&self, running: StrandId, _params: &SchedParams, _now: Nanos) -> bool {
        // Wake-up preemption: a waiting strand a full minimum slice behind.
        match (self.queue.peek(), self.known.get(&running)) {
            (Some((_, v)), Some(&(rv, _))) => v.saturating_add(self.min_granularity) < rv,
            _ => false,
        }
    }

    fn forget(&mut self, strand: StrandId) {
        self.remove(strand);
        self.known.remove(&strand);
    }

    fn drain(&mut self) -> Vec<StrandId> {
        self.queued_weight = 0;
        self.queue
            .drain_sorted()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_follows_weight() {
        let mut f = Fair::new(6_000_000, 750_000, FairWeights::Weight);
        let params = [100u32, 300].map(|w| SchedParams {
            weight: w,
            ..SchedParams::default()
        });
        for (i, p) in params.iter().enumerate() {
            f.enqueue(StrandId(i as u32), p, 0);
        }
        let mut cpu = [0u64; 2];
        let mut now = 0;
        for _ in 0..1000 {
            let pick = f.pick_next(now).expect("runnable");
            let i = pick.strand.0 as usize;
            cpu[i] += pick.quantum;
            now += pick.quantum;
            f.charge(pick.strand, &params[i], pick.quantum, now);
            f.enqueue(pick.strand, &params[i], now);
        }
        let ratio = cpu[1] as f64 / cpu[0] as f64;
        assert!((2.8..3.2).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn nice_table_from_priority() {
        let f = Fair::new(6_000_000, 750_000, FairWeights::Priority);
        let at = |p| {
            f.weight_of(&SchedParams {
                priority: p,
                ..SchedParams::default()
            })
        };
        assert_eq!(at(16), 1024);
        assert_eq!(at(17), 1277);
        assert_eq!(at(0), NICE_TO_WEIGHT[36]);
        assert!(at(31) > at(30));
    }
}
