//! `rr-priority`: SPIN's default global policy. Preemptive, round-robin within
//! each priority level; a strand of a higher level that becomes runnable
//! preempts a lower one (`should_preempt`).
//!
//! One FIFO per level plus a bitmap of non-empty levels: pick, enqueue and
//! removal are O(1) (removal is lazy: a stale entry is skipped at the front).

use std::collections::VecDeque;

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::ids::IdMap;

/// Stale entries tolerated per level before it is compacted, beyond twice the live count.
const COMPACT_SLACK: usize = 64;

/// Round-robin within priority levels; higher levels always first.
#[derive(Debug)]
pub struct RrPriority {
    levels: Vec<VecDeque<(StrandId, u64)>>,
    live_per_level: Vec<usize>,
    /// Bit `l` set iff level `l` has a live entry.
    nonempty: u64,
    queued: IdMap<(u8, u64)>,
    next_stamp: u64,
    quantum: Nanos,
}

impl RrPriority {
    /// `levels` (1..=32, clamped) priority levels and a `quantum` in ns.
    pub fn new(levels: u8, quantum: Nanos) -> RrPriority {
        let n = usize::from(levels.clamp(1, 32));
        RrPriority {
            levels: vec![VecDeque::new(); n],
            live_per_level: vec![0; n],
            nonempty: 0,
            queued: IdMap::default(),
            next_stamp: 0,
            quantum,
        }
    }

    /// The level a priority (0..=31) folds onto.
    pub fn level_of(&self, priority: u8) -> u8 {
        let p = usize::from(priority.min(31));
        (p * self.levels.len() / 32) as u8
    }

    /// The highest level with a runnable strand.
    pub fn top_level(&self) -> Option<u8> {
        (self.nonempty != 0).then(|| (63 - self.nonempty.leading_zeros()) as u8)
    }

    fn clean_front(&mut self, level: usize) {
        let q = &mut self.levels[level];
        while let Some(&(id, stamp)) = q.front() {
            if matches!(self.queued.get(&id), Some(&(_, s)) if s == stamp) {
                break;
            }
            q.pop_front();
        }
    }

    fn note_removed(&mut self, level: usize) {
        self.live_per_level[level] -= 1;
        if self.live_per_level[level] == 0 {
            self.nonempty &= !(1 << level);
            self.levels[level].clear();
        } else {
            self.clean_front(level);
            if self.levels[level].len() > 2 * self.live_per_level[level] + COMPACT_SLACK {
                let queued = &self.queued;
                self.levels[level]
                    .retain(|(id, stamp)| matches!(queued.get(id), Some(&(_, s)) if s == *stamp));
            }
        }
    }
}

impl GlobalScheduler for RrPriority {
    fn name(&self) -> &'static str {
        "rr-priority"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, _now: Nanos) {
        self.remove(strand);
        let level = self.level_of(params.priority);
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.queued.insert(strand, (level, stamp));
        let l = usize::from(level);
        self.levels[l].push_back((strand, stamp));
        self.live_per_level[l] += 1;
        self.nonempty |= 1 << l;
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        match self.queued.remove(&strand) {
            Some((level, _)) => {
                self.note_removed(usize::from(level));
                true
            }
            None => false,
        }
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        let level = usize::from(self.top_level()?);
        // The front of a non-empty level is live (clean_front keeps it so).
        let (strand, _) = self.levels[level].pop_front()?;
        self.queued.remove(&strand);
        self.note_removed(level);
        Some(Pick {
            strand,
            quantum: self.quantum,
        })
    }

    fn charge(&mut self, _strand: StrandId, _params: &SchedParams, _ran: Nanos, _now: Nanos) {}

    fn should_preempt(&self, _running: StrandId, params: &SchedParams, _now: Nanos) -> bool {
        self.top_level()
            .is_some_and(|top| top > self.level_of(params.priority))
    }

    fn drain(&mut self) -> Vec<StrandId> {
        let mut out = Vec::with_capacity(self.queued.len());
        for level in (0..self.levels.len()).rev() {
            for (id, stamp) in self.levels[level].drain(..) {
                if matches!(self.queued.get(&id), Some(&(_, s)) if s == stamp) {
                    out.push(id);
                }
            }
            self.live_per_level[level] = 0;
        }
        self.queued.clear();
        self.nonempty = 0;
        out
    }

    fn len(&self) -> usize {
        self.queued.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prio(p: u8) -> SchedParams {
        SchedParams {
            priority: p,
            ..SchedParams::default()
        }
    }

    #[test]
    fn higher_level_first_round_robin_within() {
        let mut rr = RrPriority::new(32, 1000);
        rr.enqueue(StrandId(1), &prio(5), 0);
        rr.enqueue(StrandId(2), &prio(20), 0);
        rr.enqueue(StrandId(3), &prio(20), 0);
        assert!(rr.should_preempt(StrandId(9), &prio(10), 0));
        assert!(!rr.should_preempt(StrandId(9), &prio(20), 0));
        let a = rr.pick_next(0).expect("runnable");
        assert_eq!(a.strand, StrandId(2));
        rr.enqueue(StrandId(2), &prio(20), 1000);
        assert_eq!(rr.pick_next(0).map(|p| p.strand), Some(StrandId(3)));
        assert_eq!(rr.pick_next(0).map(|p| p.strand), Some(StrandId(2)));
        assert_eq!(rr.pick_next(0).map(|p| p.strand), Some(StrandId(1)));
        assert!(rr.pick_next(0).is_none());
    }

    #[test]
    fn folded_levels_and_removal() {
        let mut rr = RrPriority::new(4, 1000);
        assert_eq!(rr.level_of(0), 0);
        assert_eq!(rr.level_of(31), 3);
        assert_eq!(rr.level_of(8), 1);
        rr.enqueue(StrandId(1), &prio(31), 0);
        rr.enqueue(StrandId(2), &prio(0), 0);
        assert!(rr.remove(StrandId(1)));
        assert!(!rr.remove(StrandId(1)));
        assert_eq!(rr.top_level(), Some(0));
        assert_eq!(rr.drain(), vec![StrandId(2)]);
        assert!(rr.is_empty());
    }
}
