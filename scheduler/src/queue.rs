//! FIFO run queues with O(1) enqueue, pick and removal.
//!
//! * [`LazyFifo`]: strands by id (a mound's local round-robin).
//! * [`SlotFifo`]: dense slots (see [`crate::slots`]), for the global
//!   policies' hot path: no hashing.
//!
//! Both delete lazily: removing an entry forgets its stamp, and the stale
//! entry is dropped when it reaches the front (so the front is always live).
//! Stamps increase with every insertion, so every decision is a function of
//! the call sequence alone.

use std::collections::VecDeque;

use spin_kernel::StrandId;

use crate::ids::IdMap;

/// Stale entries tolerated before a queue is compacted, beyond twice the live count.
const COMPACT_SLACK: usize = 64;

/// A FIFO of strands with O(1) removal by id.
#[derive(Debug, Clone, Default)]
pub struct LazyFifo {
    queue: VecDeque<(StrandId, u64)>,
    live: IdMap<u64>,
    next_stamp: u64,
}

impl LazyFifo {
    /// An empty FIFO.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `id` (moving it to the back if it was queued).
    pub fn push_back(&mut self, id: StrandId) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.live.insert(id, stamp);
        self.queue.push_back((id, stamp));
        // A requeued strand's old entry may have been the front.
        self.clean_front();
        self.maybe_compact();
    }

    /// Removes `id`; returns whether it was queued.
    pub fn remove(&mut self, id: StrandId) -> bool {
        let was = self.live.remove(&id).is_some();
        if was {
            self.clean_front();
            self.maybe_compact();
        }
        was
    }

    /// Removes and returns the front strand.
    pub fn pop_front(&mut self) -> Option<StrandId> {
        let (id, _) = self.queue.pop_front()?;
        self.live.remove(&id);
        self.clean_front();
        Some(id)
    }

    /// The front strand.
    pub fn front(&self) -> Option<StrandId> {
        self.queue.front().map(|(id, _)| *id)
    }

    /// Whether `id` is queued.
    pub fn contains(&self, id: StrandId) -> bool {
        self.live.contains_key(&id)
    }

    /// Number of queued strands.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Removes everything, front first.
    pub fn drain(&mut self) -> Vec<StrandId> {
        let mut out = Vec::with_capacity(self.live.len());
        while let Some(id) = self.pop_front() {
            out.push(id);
        }
        self.queue.clear();
        out
    }

    fn clean_front(&mut self) {
        while let Some(&(id, stamp)) = self.queue.front() {
            if self.live.get(&id) == Some(&stamp) {
                break;
            }
            self.queue.pop_front();
        }
    }

    fn maybe_compact(&mut self) {
        if self.queue.len() > 2 * self.live.len() + COMPACT_SLACK {
            let live = &self.live;
            self.queue.retain(|(id, stamp)| live.get(id) == Some(stamp));
        }
    }
}

/// `SlotFifo::live[slot]` when the slot is not queued.
const ABSENT: u32 = 0;

/// A FIFO of dense slots with O(1) removal.
#[derive(Debug, Clone)]
pub struct SlotFifo {
    /// `(slot, stamp)`.
    queue: VecDeque<(u32, u32)>,
    /// The stamp of each slot's live entry, or [`ABSENT`].
    live: Vec<u32>,
    live_count: usize,
    /// The next stamp (never [`ABSENT`]).
    next_stamp: u32,
}

impl Default for SlotFifo {
    fn default() -> Self {
        SlotFifo {
            queue: VecDeque::new(),
            live: Vec::new(),
            live_count: 0,
            next_stamp: 1,
        }
    }
}

impl SlotFifo {
    /// An empty FIFO.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `slot` (moving it to the back if it was queued).
    pub fn push_back(&mut self, slot: usize) {
        if slot >= self.live.len() {
            self.live.resize(slot + 1, ABSENT);
        }
        if self.next_stamp == u32::MAX {
            self.renumber();
        }
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        if std::mem::replace(&mut self.live[slot], stamp) == ABSENT {
            self.live_count += 1;
        }
        self.queue.push_back((slot as u32, stamp));
        // A requeued slot's old entry may have been the front.
        self.clean_front();
        self.maybe_compact();
    }

    /// Removes `slot`; returns whether it was queued.
    pub fn remove(&mut self, slot: usize) -> bool {
        match self.live.get_mut(slot) {
            Some(stamp) if *stamp != ABSENT => {
                *stamp = ABSENT;
                self.live_count -= 1;
                self.clean_front();
                self.maybe_compact();
                true
            }
            _ => false,
        }
    }

    /// Removes and returns the front slot.
    pub fn pop_front(&mut self) -> Option<usize> {
        let (slot, _) = self.queue.pop_front()?;
        // The front is always live.
        self.live[slot as usize] = ABSENT;
        self.live_count -= 1;
        self.clean_front();
        Some(slot as usize)
    }

    /// Number of queued slots.
    pub fn len(&self) -> usize {
        self.live_count
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.live_count == 0
    }

    /// Removes everything; returns the queued slots, front first.
    pub fn drain(&mut self) -> Vec<usize> {
        let live = &self.live;
        let out = self
            .queue
            .drain(..)
            .filter(|&(slot, stamp)| live[slot as usize] == stamp)
            .map(|(slot, _)| slot as usize)
            .collect();
        self.live.fill(ABSENT);
        self.live_count = 0;
        out
    }

    fn clean_front(&mut self) {
        while let Some(&(slot, stamp)) = self.queue.front() {
            if self.live[slot as usize] == stamp {
                break;
            }
            self.queue.pop_front();
        }
    }

    fn maybe_compact(&mut self) {
        if self.queue.len() > 2 * self.live_count + COMPACT_SLACK {
            let live = &self.live;
            self.queue
                .retain(|&(slot, stamp)| live[slot as usize] == stamp);
        }
    }

    /// Gives the live entries fresh stamps 1, 2, ... in queue order before
    /// the counter would wrap.
    fn renumber(&mut self) {
        let live = &self.live;
        self.queue
            .retain(|&(slot, stamp)| live[slot as usize] == stamp);
        self.next_stamp = 1;
        for (slot, stamp) in &mut self.queue {
            *stamp = self.next_stamp;
            self.live[*slot as usize] = self.next_stamp;
            self.next_stamp += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_remove_and_requeue() {
        let mut f = LazyFifo::new();
        for i in 0..5 {
            f.push_back(StrandId(i));
        }
        assert!(f.remove(StrandId(0)));
        assert!(!f.remove(StrandId(0)));
        f.push_back(StrandId(1));
        assert_eq!(f.front(), Some(StrandId(2)));
        assert_eq!(
            f.drain().iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![2, 3, 4, 1]
        );
    }

    #[test]
    fn slot_fifo_remove_requeue_and_renumber() {
        let mut f = SlotFifo::new();
        f.next_stamp = u32::MAX - 3;
        for slot in 0..6 {
            f.push_back(slot);
        }
        assert!(f.remove(0));
        assert!(!f.remove(0));
        f.push_back(1); // to the back
        assert_eq!(f.len(), 5);
        assert_eq!(f.pop_front(), Some(2));
        f.push_back(0);
        assert_eq!(f.drain(), vec![3, 4, 5, 1, 0]);
        assert!(f.is_empty() && f.pop_front().is_none());
    }

    #[test]
    fn slot_fifo_compacts_under_churn() {
        let mut f = SlotFifo::new();
        for i in 0..10_000usize {
            f.push_back(i % 10);
            f.remove((i + 5) % 10);
        }
        assert!(f.queue.len() <= 2 * f.len() + COMPACT_SLACK + 1);
    }
}
