//! `lottery`: randomized proportional share (Waldspurger & Weihl 1994), seeded.
//!
//! Each strand the policy knows keeps a dense slot ([`Slots`]) for as long as
//! it exists; a runnable strand's tickets sit in its slot of a [`TicketTree`]
//! (an 8-ary sum tree), so the draw, adding and removing a strand are
//! O(log n), and a strand that wins and comes back updates the very tree path
//! the draw just read. A strand that used only a fraction f of its quantum
//! holds compensation tickets (its tickets / f, at most ×64) until it next
//! wins, as in the paper.

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::rng::Rng;
use crate::slots::Slots;
use crate::ticket_tree::TicketTree;

/// Largest compensation multiplier.
const MAX_COMPENSATION: u64 = 64;

/// Lottery scheduling over `SchedParams::weight` tickets.
#[derive(Debug)]
pub struct Lottery {
    slots: Slots,
    /// Runnable strands' tickets by slot (zero when not runnable).
    tickets: TicketTree,
    /// Compensation per slot from the last charge, `(quantum, ran)`; `ran`
    /// is 0 when there is none.
    compensation: Vec<(u64, u64)>,
    queued: usize,
    rng: Rng,
    quantum: Nanos,
}

impl Lottery {
    /// Lottery scheduling with a `quantum` in ns and a `seed` for the draws.
    pub fn new(quantum: Nanos, seed: u64) -> Lottery {
        Lottery {
            slots: Slots::new(),
            tickets: TicketTree::default(),
            compensation: Vec::new(),
            queued: 0,
            rng: Rng::new(seed),
            quantum: quantum.max(1),
        }
    }

    /// Total tickets in the runnable set.
    pub fn total_tickets(&self) -> u64 {
        self.tickets.total()
    }

    #[inline]
    fn slot(&mut self, strand: StrandId) -> usize {
        let (slot, new) = self.slots.get_or_insert(strand);
        if new {
            if slot == self.compensation.len() {
                self.compensation.push((0, 0));
            } else {
                self.compensation[slot] = (0, 0);
            }
        }
        slot
    }
}

impl GlobalScheduler for Lottery {
    fn name(&self) -> &'static str {
        "lottery"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        let slot = self.slot(strand);
        let mut t = u64::from(params.weight.max(1));
        let (q, ran) = self.compensation[slot];
        if let Some(c) = t
            .saturating_mul(q.min(ran.saturating_mul(MAX_COMPENSATION)))
            .checked_div(ran)
        {
            t = c.max(1);
        }
        if self.tickets.get(slot) == 0 {
            self.queued += 1;
        }
        self.tickets.set(slot, t);
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        match self.slots.get(strand) {
            Some(slot) if self.tickets.get(slot) > 0 => {
                self.tickets.set(slot, 0);
                self.queued -= 1;
                true
            }
            _ => false,
        }
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        let total = self.tickets.total();
        if total == 0 {
            return None;
        }
        let slot = self.tickets.find(self.rng.below(total));
        self.tickets.set(slot, 0);
        self.queued -= 1;
        // Compensation lasts until the strand wins.
        self.compensation[slot] = (0, 0);
        Some(Pick {
            strand: self.slots.id(slot),
            quantum: self.quantum,
        })
    }

    fn charge(&mut self, strand: StrandId, _params: &SchedParams, ran: Nanos, _now: Nanos) {
        let slot = self.slot(strand);
        self.compensation[slot] = if ran > 0 && ran < self.quantum {
            (self.quantum, ran)
        } else {
            (0, 0)
        };
    }

    fn forget(&mut self, strand: StrandId) {
        self.remove(strand);
        self.slots.remove(strand);
    }

    fn drain(&mut self) -> Vec<StrandId> {
        let out = (0..self.slots.capacity())
            .filter(|&slot| self.tickets.get(slot) > 0)
            .map(|slot| self.slots.id(slot))
            .collect();
        self.tickets.clear();
        self.queued = 0;
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
    fn shares_are_roughly_proportional_and_seeded() {
        let run = |seed| {
            let mut l = Lottery::new(100, seed);
            let params: Vec<SchedParams> = (1..=40u32)
                .map(|w| SchedParams {
                    weight: if w <= 2 { w * 100 } else { 1 },
                    ..SchedParams::default()
                })
                .collect();
            for (i, p) in params.iter().enumerate() {
                l.enqueue(StrandId(i as u32), p, 0);
            }
            let mut wins = vec![0u32; params.len()];
            for _ in 0..30_000 {
                let pick = l.pick_next(0).expect("runnable");
                let i = pick.strand.0 as usize;
                wins[i] += 1;
                l.charge(pick.strand, &params[i], 100, 0);
                l.enqueue(pick.strand, &params[i], 0);
            }
            wins
        };
        let wins = run(1);
        assert_eq!(wins, run(1));
        let ratio = f64::from(wins[1]) / f64::from(wins[0]);
        assert!((1.8..2.2).contains(&ratio), "ratio {ratio}");
        assert_eq!(wins.iter().sum::<u32>(), 30_000);
    }

    #[test]
    fn removal_and_growth_keep_totals() {
        let mut l = Lottery::new(100, 9);
        for i in 0..100 {
            l.enqueue(StrandId(i), &SchedParams::default(), 0);
        }
        for i in (0..100).step_by(2) {
            assert!(l.remove(StrandId(i)));
        }
        assert_eq!(l.len(), 50);
        assert_eq!(l.total_tickets(), 50 * 100);
        let mut seen = Vec::new();
        while let Some(p) = l.pick_next(0) {
            seen.push(p.strand.0);
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..100).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn short_runs_earn_compensation() {
        let mut l = Lottery::new(100, 9);
        let p = SchedParams::default();
        l.charge(StrandId(1), &p, 25, 0);
        l.enqueue(StrandId(1), &p, 0);
        assert_eq!(l.total_tickets(), 400);
    }
}
