//! `lottery`: randomized proportional share (Waldspurger & Weihl 1994), seeded.
//!
//! Tickets live in a Fenwick (binary indexed) tree over slots, so drawing the
//! winner, adding and removing a strand are O(log n). A strand that used only
//! a fraction f of its quantum holds compensation tickets (its tickets / f, at
//! most ×64) until it next wins, as in the paper.

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::ids::IdMap;
use crate::rng::Rng;

/// Largest compensation multiplier.
const MAX_COMPENSATION: u64 = 64;

/// Lottery scheduling over `SchedParams::weight` tickets.
#[derive(Debug)]
pub struct Lottery {
    /// Fenwick tree, 1-based; `tree.len() == cap + 1`, `cap` a power of two.
    tree: Vec<u64>,
    tickets: Vec<u64>,
    owner: Vec<Option<StrandId>>,
    slot_of: IdMap<usize>,
    free: Vec<usize>,
    /// Next never-used slot.
    high_water: usize,
    total: u64,
    /// Ticket multiplier numerator/denominator from the last charge: (quantum, ran).
    compensation: IdMap<(u64, u64)>,
    rng: Rng,
    quantum: Nanos,
}

impl Lottery {
    /// Lottery scheduling with a `quantum` in ns and a `seed` for the draws.
    pub fn new(quantum: Nanos, seed: u64) -> Lottery {
        let cap = 16;
        Lottery {
            tree: vec![0; cap + 1],
            tickets: vec![0; cap],
            owner: vec![None; cap],
            slot_of: IdMap::default(),
            free: Vec::new(),
            high_water: 0,
            total: 0,
            compensation: IdMap::default(),
            rng: Rng::new(seed),
            quantum: quantum.max(1),
        }
    }

    /// Total tickets in the runnable set.
    pub fn total_tickets(&self) -> u64 {
        self.total
    }

    fn cap(&self) -> usize {
        self.tickets.len()
    }

    fn add(&mut self, slot: usize, delta: i128) {
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] = (i128::from(self.tree[i]) + delta) as u64;
            i += i & i.wrapping_neg();
        }
    }

    fn grow(&mut self) {
        let cap = self.cap() * 2;
        self.tickets.resize(cap, 0);
        self.owner.resize(cap, None);
        self.tree = vec![0; cap + 1];
        // O(n) Fenwick build: each node pushes its sum to its parent.
        for i in 1..=cap {
            self.tree[i] += self.tickets[i - 1];
            let parent = i + (i & i.wrapping_neg());
            if parent <= cap {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    /// The slot whose ticket range contains `r` (0 ≤ r < total).
    fn find(&self, mut r: u64) -> usize {
        let mut pos = 0;
        let mut step = self.cap();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= r {
                pos = next;
                r -= self.tree[next];
            }
            step /= 2;
        }
        pos
    }

    fn take_slot(&mut self, slot: usize) -> StrandId {
        let t = self.tickets[slot];
        self.add(slot, -i128::from(t));
        self.total -= t;
        self.tickets[slot] = 0;
        self.free.push(slot);
        let id = self.owner[slot]
            .take()
            .expect("a slot with tickets has an owner");
        self.slot_of.remove(&id);
        id
    }
}

impl GlobalScheduler for Lottery {
    fn name(&self) -> &'static str {
        "lottery"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        self.remove(strand);
        let mut t = u64::from(params.weight.max(1));
        if let Some((q, ran)) = self.compensation.get(&strand).copied() {
            t = t.saturating_mul(q.min(ran.saturating_mul(MAX_COMPENSATION))) / ran.max(1);
            t = t.max(1);
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                if self.high_water == self.cap() {
                    self.grow();
                }
                self.high_water += 1;
                self.high_water - 1
            }
        };
        self.tickets[slot] = t;
        self.owner[slot] = Some(strand);
        self.slot_of.insert(strand, slot);
        self.add(slot, i128::from(t));
        self.total += t;
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        match self.slot_of.get(&strand).copied() {
            Some(slot) => {
                self.take_slot(slot);
                true
            }
            None => false,
        }
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        if self.total == 0 {
            return None;
        }
        let r = self.rng.below(self.total);
        let slot = self.find(r);
        let strand = self.take_slot(slot);
        // Compensation lasts until the strand wins.
        self.compensation.remove(&strand);
        Some(Pick {
            strand,
            quantum: self.quantum,
        })
    }

    fn charge(&mut self, strand: StrandId, _params: &SchedParams, ran: Nanos, _now: Nanos) {
        if ran > 0 && ran < self.quantum {
            self.compensation.insert(strand, (self.quantum, ran));
        } else {
            self.compensation.remove(&strand);
        }
    }

    fn forget(&mut self, strand: StrandId) {
        self.remove(strand);
        self.compensation.remove(&strand);
    }

    fn drain(&mut self) -> Vec<StrandId> {
        let out: Vec<StrandId> = self.owner.iter().flatten().copied().collect();
        let cap = self.cap();
        self.tree = vec![0; cap + 1];
        self.tickets = vec![0; cap];
        self.owner = vec![None; cap];
        self.slot_of.clear();
        self.free.clear();
        self.high_water = 0;
        self.total = 0;
        out
    }

    fn len(&self) -> usize {
        self.slot_of.len()
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
