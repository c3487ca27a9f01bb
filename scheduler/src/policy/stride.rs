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
use crate::queue::LazyHeap;

/// The pass advance of one full quantum at one ticket.
pub const STRIDE1: u128 = 1 << 40;

/// Stride scheduling over `SchedParams::weight` tickets.
#[derive(Debug)]
pub struct Stride {
    queue: LazyHeap<u128>,
    pass: IdMap<u128>,
    /// The global pass: the pass of the most recent pick (never decreases).
    global_pass: u128,
    quantum: Nanos,
}

impl Stride {
    /// Stride scheduling with a `quantum` in ns.
    pub fn new(quantum: Nanos) -> Stride {
        Stride {
            queue: LazyHeap::new(),
            pass: IdMap::default(),
            global_pass: 0,
            quantum: quantum.max(1),
        }
    }

    /// The pass of `strand`, if the policy knows it.
    pub fn pass_of(&self, strand: StrandId) -> Option<u128> {
        self.pass.get(&strand).copied()
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
        let stride = STRIDE1 / u128::from(params.weight.max(1));
        let pass = self.pass.entry(strand).or_insert(global + stride);
        *pass = (*pass).max(global);
        self.queue.push(strand, *pass);
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        self.queue.remove(strand).is_some()
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        let (strand, pass) = self.queue.pop()?;
        self.global_pass = self.global_pass.max(pass);
        Some(Pick {
            strand,
            quantum: self.quantum,
        })
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, _now: Nanos) {
        let tickets = u128::from(params.weight.max(1));
        let advance = STRIDE1 * u128::from(ran) / (tickets * u128::from(self.quantum));
        let global = self.global_pass;
        let pass = self.pass.entry(strand).or_insert(global);
        *pass += advance.max(1);
    }

    fn forget(&mut self, strand: StrandId) {
        self.queue.remove(strand);
        self.pass.remove(&strand);
    }

    fn drain(&mut self) -> Vec<StrandId> {
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
}
