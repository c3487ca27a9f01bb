//! `stride`: deterministic proportional share (Waldspurger & Weihl 1995).
//!
//! Each strand holds tickets = `weight` and a *pass*; the strand with the
//! smallest pass runs, and running for `ran` ns advances its pass by
//! `STRIDE1 * ran / (tickets * quantum)`: a full quantum costs one stride.
//! A new strand starts one stride past the global pass; one that becomes
//! runnable again never starts behind the global pass, so sleeping earns no
//! credit. Heap with lazy removal: O(log n).
//!
//! With every strand runnable and charged whole quanta, a strand's count of
//! quanta stays within n (the number of strands) of its exact share
//! `t · w / W` — the O(n) absolute error the paper states for basic stride.

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::ids::IdMap;
use crate::queue::StampHeap;

/// The pass advance of one full quantum at one ticket.
///
/// Passes are u64: at one ticket a strand's pass overflows after 2^32 full
/// quanta (1.4 years of 10 ms quanta; 136 years at the default 100 tickets),
/// and additions saturate rather than wrap.
pub const STRIDE1: u64 = 1 << 32;

#[derive(Debug, Clone, Copy)]
struct Entry {
    pass: u64,
    /// The heap stamp while queued.
    queued: Option<u64>,
}

/// Stride scheduling over `SchedParams::weight` tickets.
#[derive(Debug)]
pub struct Stride {
    heap: StampHeap<u64>,
    strands: IdMap<Entry>,
    queued: usize,
    /// The global pass: the pass of the most recent pick (never decreases).
    global_pass: u64,
    quantum: Nanos,
}

impl Stride {
    /// Stride scheduling with a `quantum` in ns.
    pub fn new(quantum: Nanos) -> Stride {
        Stride {
            heap: StampHeap::new(),
            strands: IdMap::default(),
            queued: 0,
            global_pass: 0,
            quantum: quantum.max(1),
        }
    }

    /// The pass of `strand`, if the policy knows it.
    pub fn pass_of(&self, strand: StrandId) -> Option<u64> {
        self.strands.get(&strand).map(|e| e.pass)
    }

    fn tidy(&mut self) {
        let strands = &self.strands;
        let live =
            |id: StrandId, stamp: u64| strands.get(&id).and_then(|e| e.queued) == Some(stamp);
        self.heap.clean_top(live);
        self.heap.maybe_compact(self.queued, live);
    }
}

impl GlobalScheduler for Stride {
    fn name(&self) -> &'static str {
        "stride"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        let global = self.global_pass;
        // A newcomer starts one stride ahead (its first quantum's finish
        // time), so heavy strands are not stuck behind light ones at start.
        let stride = STRIDE1 / u64::from(params.weight.max(1));
        let e = self.strands.entry(strand).or_insert(Entry {
            pass: global.saturating_add(stride),
            queued: None,
        });
        e.pass = e.pass.max(global);
        let requeued = e.queued.is_some();
        e.queued = Some(self.heap.push(strand, e.pass));
        if requeued {
            self.tidy();
        } else {
            self.queued += 1;
        }
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        let Some(e) = self.strands.get_mut(&strand) else {
            return false;
        };
        if e.queued.take().is_none() {
            return false;
        }
        self.queued -= 1;
        self.tidy();
        true
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        while let Some((strand, pass, stamp)) = self.heap.pop_raw() {
            let Some(e) = self.strands.get_mut(&strand) else {
                continue;
            };
            if e.queued != Some(stamp) {
                continue;
            }
            e.queued = None;
            self.queued -= 1;
            self.global_pass = self.global_pass.max(pass);
            self.tidy();
            return Some(Pick {
                strand,
                quantum: self.quantum,
            });
        }
        None
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, _now: Nanos) {
        let tickets = u128::from(params.weight.max(1));
        let advance = u128::from(STRIDE1) * u128::from(ran) / (tickets * u128::from(self.quantum));
        let advance = u64::try_from(advance).unwrap_or(u64::MAX);
        let global = self.global_pass;
        let e = self.strands.entry(strand).or_insert(Entry {
            pass: global,
            queued: None,
        });
        e.pass = e.pass.saturating_add(advance.max(1));
        if e.queued.is_some() {
            // Charged while queued (unusual): requeue at the new pass.
            e.queued = Some(self.heap.push(strand, e.pass));
            self.tidy();
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
    fn shares_follow_tickets() {
        let mut s = Stride::new(100);
        let params = [1u32, 2, 3].map(|w| SchedParams {
            weight: w,
            ..SchedParams::default()
        });
        for (i, p) in params.iter().enumerate() {
            s.enqueue(StrandId(i as u32), p, 0);
        }
        let mut runs = [0u32; 3];
        for _ in 0..600 {
            let pick = s.pick_next(0).expect("always runnable");
            let i = pick.strand.0 as usize;
            runs[i] += 1;
            s.charge(pick.strand, &params[i], 100, 0);
            s.enqueue(pick.strand, &params[i], 0);
        }
        assert_eq!(runs, [100, 200, 300]);
    }

    #[test]
    fn remove_and_requeue() {
        let mut s = Stride::new(100);
        let p = SchedParams::default();
        for i in 0..4 {
            s.enqueue(StrandId(i), &p, 0);
        }
        assert!(s.remove(StrandId(0)));
        assert!(!s.remove(StrandId(0)));
        s.enqueue(StrandId(1), &p, 0);
        assert_eq!(s.len(), 3);
        let mut d = s.drain();
        d.sort();
        assert_eq!(d, vec![StrandId(1), StrandId(2), StrandId(3)]);
        assert!(s.pick_next(0).is_none());
    }
}
