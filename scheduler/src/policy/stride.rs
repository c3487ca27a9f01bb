//! `stride`: deterministic proportional share (Waldspurger & Weihl 1995).
//!
//! Each strand holds tickets = `weight` and a *pass*; the strand with the
//! smallest pass runs, and running for `ran` ns advances its pass by
//! `STRIDE1 * ran / (tickets * quantum)`: a full quantum costs one stride.
//! A new strand starts one stride past the global pass; one that becomes
//! runnable again never starts behind the global pass, so sleeping earns no
//! credit. Passes sit in a 4-ary [`SlotHeap`] with lazy removal: O(log n);
//! a pick leaves its entry for the requeue that usually follows to
//! overwrite, so a round is one sift, not two.
//!
//! With every strand runnable and charged whole quanta, a strand's count of
//! quanta stays within n (the number of strands) of its exact share
//! `t · w / W` — the O(n) absolute error the paper states for basic stride.

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::slot_heap::SlotHeap;
use crate::slots::Slots;

/// The pass advance of one full quantum at one ticket.
///
/// Passes are u64: at one ticket a strand's pass overflows after 2^32 full
/// quanta (1.4 years of 10 ms quanta; 136 years at the default 100 tickets),
/// and additions saturate rather than wrap.
pub const STRIDE1: u64 = 1 << 32;

/// Stride scheduling over `SchedParams::weight` tickets.
///
/// Every strand the policy knows has a dense slot ([`Slots`]); its pass lives
/// in `pass[slot]` and the runnable ones sit in a 4-ary [`SlotHeap`] by pass.
#[derive(Debug, Default)]
pub struct Stride {
    slots: Slots,
    /// Pass of each slot.
    pass: Vec<u64>,
    heap: SlotHeap,
    /// The global pass: the pass of the most recent pick (never decreases).
    global_pass: u64,
    quantum: Nanos,
}

impl Stride {
    /// Stride scheduling with a `quantum` in ns.
    pub fn new(quantum: Nanos) -> Stride {
        Stride {
            quantum: quantum.max(1),
            ..Stride::default()
        }
    }

    /// The pass of `strand`, if the policy knows it.
    pub fn pass_of(&self, strand: StrandId) -> Option<u64> {
        self.slots.get(strand).map(|s| self.pass[s])
    }

    /// The slot of `strand`; a strand new to the policy starts at `pass`.
    #[inline]
    fn slot(&mut self, strand: StrandId, pass: u64) -> usize {
        let (slot, new) = self.slots.get_or_insert(strand);
        if new {
            if slot == self.pass.len() {
                self.pass.push(pass);
            } else {
                self.pass[slot] = pass;
            }
        }
        slot
    }

    /// The pass advance for running `ran` ns on `tickets`:
    /// `STRIDE1 * ran / (tickets * quantum)`, at least 1.
    #[inline]
    fn advance(&self, tickets: u64, ran: Nanos) -> u64 {
        let advance = match (ran < 1 << 32, tickets.checked_mul(self.quantum)) {
            // The common case in 64-bit arithmetic: ran < 4.3 s.
            (true, Some(per_stride)) => (ran << 32) / per_stride,
            _ => {
                let wide = u128::from(STRIDE1) * u128::from(ran)
                    / (u128::from(tickets) * u128::from(self.quantum));
                u64::try_from(wide).unwrap_or(u64::MAX)
            }
        };
        advance.max(1)
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
        let slot = self.slot(strand, global.saturating_add(stride));
        // Sleeping earns no credit: never start behind the global pass.
        let pass = self.pass[slot].max(global);
        self.pass[slot] = pass;
        self.heap.push(slot, pass);
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        match self.slots.get(strand) {
            Some(slot) => self.heap.remove(slot),
            None => false,
        }
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        // Usually queued again at once: let that push overwrite the top.
        let (slot, pass) = self.heap.pop_deferred()?;
        self.global_pass = self.global_pass.max(pass);
        Some(Pick {
            strand: self.slots.id(slot),
            quantum: self.quantum,
        })
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, _now: Nanos) {
        let advance = self.advance(u64::from(params.weight.max(1)), ran);
        let slot = self.slot(strand, self.global_pass);
        let pass = self.pass[slot].saturating_add(advance);
        self.pass[slot] = pass;
        if self.heap.contains(slot) {
            // Charged while queued (unusual): requeue at the new pass.
            self.heap.push(slot, pass);
        }
    }

    fn forget(&mut self, strand: StrandId) {
        if let Some(slot) = self.slots.remove(strand) {
            self.heap.remove(slot);
        }
    }

    fn drain(&mut self) -> Vec<StrandId> {
        self.heap
            .drain_sorted()
            .into_iter()
            .map(|slot| self.slots.id(slot))
            .collect()
    }

    fn len(&self) -> usize {
        self.heap.len()
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
