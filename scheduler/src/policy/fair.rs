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
use crate::queue::StampHeap;

/// Linux's `sched_prio_to_weight`: nice -20 ..= 19.
pub const NICE_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// Weight of nice 0.
const NICE_0: u64 = 1024;

#[derive(Debug, Clone, Copy)]
struct Entry {
    vruntime: u64,
    weight: u64,
    /// The heap stamp while queued.
    queued: Option<u64>,
}

/// Virtual-runtime fair scheduling.
#[derive(Debug)]
pub struct Fair {
    heap: StampHeap<u64>,
    strands: IdMap<Entry>,
    queued: usize,
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
            heap: StampHeap::new(),
            strands: IdMap::default(),
            queued: 0,
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
        self.strands.get(&strand).map(|e| e.vruntime)
    }

    fn tidy(&mut self) {
        let strands = &self.strands;
        let live =
            |id: StrandId, stamp: u64| strands.get(&id).and_then(|e| e.queued) == Some(stamp);
        self.heap.clean_top(live);
        self.heap.maybe_compact(self.queued, live);
    }
}

impl GlobalScheduler for Fair {
    fn name(&self) -> &'static str {
        "fair"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        let w = self.weight_of(params);
        let floor = self.min_vruntime.saturating_sub(self.latency / 2);
        let e = self.strands.entry(strand).or_insert(Entry {
            vruntime: self.min_vruntime,
            weight: w,
            queued: None,
        });
        let requeued = e.queued.is_some();
        let old_weight = e.weight;
        e.vruntime = e.vruntime.max(floor);
        e.weight = w;
        e.queued = Some(self.heap.push(strand, e.vruntime));
        if requeued {
            self.queued_weight -= old_weight;
            self.tidy();
        } else {
            self.queued += 1;
        }
        self.queued_weight += w;
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        let Some(e) = self.strands.get_mut(&strand) else {
            return false;
        };
        if e.queued.take().is_none() {
            return false;
        }
        self.queued -= 1;
        self.queued_weight -= e.weight;
        self.tidy();
        true
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        let total = self.queued_weight;
        while let Some((strand, v, stamp)) = self.heap.pop_raw() {
            let Some(e) = self.strands.get_mut(&strand) else {
                continue;
            };
            if e.queued != Some(stamp) {
                continue;
            }
            e.queued = None;
            let w = e.weight;
            self.queued -= 1;
            self.queued_weight -= w;
            self.min_vruntime = self.min_vruntime.max(v);
            self.tidy();
            let slice =
                (u128::from(self.latency) * u128::from(w) / u128::from(total.max(1))) as u64;
            return Some(Pick {
                strand,
                quantum: slice.clamp(self.min_granularity, self.latency),
            });
        }
        None
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, _now: Nanos) {
        let w = self.weight_of(params);
        let min = self.min_vruntime;
        let e = self.strands.entry(strand).or_insert(Entry {
            vruntime: min,
            weight: w,
            queued: None,
        });
        e.vruntime = e.vruntime.saturating_add(ran.saturating_mul(NICE_0) / w);
        if e.queued.is_some() {
            // Charged while queued (unusual): requeue at the new virtual runtime.
            self.queued_weight = self.queued_weight - e.weight + w;
            e.weight = w;
            e.queued = Some(self.heap.push(strand, e.vruntime));
            self.tidy();
        } else {
            e.weight = w;
        }
    }

    fn should_preempt(&self, running: StrandId, _params: &SchedParams, _now: Nanos) -> bool {
        // Wake-up preemption: a waiting strand a full minimum slice behind.
        match (self.heap.peek_raw(), self.strands.get(&running)) {
            (Some((_, v, _)), Some(r)) if self.queued > 0 => {
                v.saturating_add(self.min_granularity) < r.vruntime
            }
            _ => false,
        }
    }

    fn forget(&mut self, strand: StrandId) {
        self.remove(strand);
        self.strands.remove(&strand);
    }

    fn drain(&mut self) -> Vec<StrandId> {
        let mut out = Vec::with_capacity(self.queued);
        while let Some(p) = self.pick_next(0) {
            out.push(p.strand);
        }
        self.heap.clear();
        out
    }

    fn len(&self) -> usize {
        self.queued
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
