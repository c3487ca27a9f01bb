//! Run queues with O(log n) (heap) or O(1) (FIFO) enqueue, pick and removal.
//!
//! Both use lazy deletion: removing a strand forgets its stamp in an id map,
//! and the stale entry is skipped when it reaches the front. Ties are broken by
//! a stamp that increases with every insertion, so equal keys run in FIFO
//! order and every decision is a function of the call sequence alone.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use spin_kernel::StrandId;

use crate::ids::IdMap;

/// Stale entries tolerated before a queue is compacted, beyond twice the live count.
const COMPACT_SLACK: usize = 64;

/// A min-heap of strands by key `K`, with removal by id.
#[derive(Debug, Clone)]
pub struct LazyHeap<K: Ord + Copy> {
    heap: BinaryHeap<Reverse<(K, u64, StrandId)>>,
    live: IdMap<(K, u64)>,
    next_stamp: u64,
}

impl<K: Ord + Copy> Default for LazyHeap<K> {
    fn default() -> Self {
        LazyHeap {
            heap: BinaryHeap::new(),
            live: IdMap::default(),
            next_stamp: 0,
        }
    }
}

impl<K: Ord + Copy> LazyHeap<K> {
    /// An empty heap.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `id` with `key`, replacing its previous key if it was queued.
    pub fn push(&mut self, id: StrandId, key: K) {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.live.insert(id, (key, stamp));
        self.heap.push(Reverse((key, stamp, id)));
        // A re-keyed strand's old entry may have been the top.
        self.clean_top();
        self.maybe_compact();
    }

    /// Removes `id`; returns its key if it was queued.
    pub fn remove(&mut self, id: StrandId) -> Option<K> {
        let (key, _) = self.live.remove(&id)?;
        self.clean_top();
        self.maybe_compact();
        Some(key)
    }

    /// Removes and returns the strand with the smallest key (FIFO among equals).
    pub fn pop(&mut self) -> Option<(StrandId, K)> {
        let Reverse((key, _, id)) = self.heap.pop()?;
        // clean_top keeps the top live, so this entry is.
        self.live.remove(&id);
        self.clean_top();
        Some((id, key))
    }

    /// The strand with the smallest key, without removing it.
    pub fn peek(&self) -> Option<(StrandId, K)> {
        self.heap.peek().map(|Reverse((k, _, id))| (*id, *k))
    }

    /// The key of `id`, if queued.
    pub fn get(&self, id: StrandId) -> Option<K> {
        self.live.get(&id).map(|(k, _)| *k)
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

    /// Removes everything, smallest key first.
    pub fn drain_sorted(&mut self) -> Vec<(StrandId, K)> {
        let mut out = Vec::with_capacity(self.live.len());
        while let Some(e) = self.pop() {
            out.push(e);
        }
        self.heap.clear();
        out
    }

    fn is_live(&self, key_stamp: u64, id: StrandId) -> bool {
        matches!(self.live.get(&id), Some(&(_, s)) if s == key_stamp)
    }

    /// Keeps the invariant that the top of the heap, if any, is live.
    fn clean_top(&mut self) {
        while let Some(Reverse((_, stamp, id))) = self.heap.peek() {
            if self.is_live(*stamp, *id) {
                break;
            }
            self.heap.pop();
        }
    }

    fn maybe_compact(&mut self) {
        if self.heap.len() > 2 * self.live.len() + COMPACT_SLACK {
            let live = &self.live;
            self.heap.retain(
                |Reverse((_, stamp, id))| matches!(live.get(id), Some(&(_, s)) if s == *stamp),
            );
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_orders_by_key_then_fifo() {
        let mut h = LazyHeap::new();
        h.push(StrandId(1), 5u64);
        h.push(StrandId(2), 3);
        h.push(StrandId(3), 5);
        h.push(StrandId(4), 1);
        assert_eq!(h.remove(StrandId(4)), Some(1));
        assert_eq!(h.peek(), Some((StrandId(2), 3)));
        h.push(StrandId(2), 9); // re-key
        let order: Vec<_> = h.drain_sorted().into_iter().map(|(id, _)| id.0).collect();
        assert_eq!(order, vec![1, 3, 2]);
        assert!(h.is_empty());
    }

    #[test]
    fn heap_compacts_under_churn() {
        let mut h = LazyHeap::new();
        for i in 0..10_000u32 {
            h.push(StrandId(i % 10), u64::from(i));
            h.remove(StrandId((i + 5) % 10));
        }
        assert!(h.heap.len() <= 2 * h.len() + COMPACT_SLACK + 1);
    }

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
}

/// A min-heap of `(key, stamp, strand)` whose liveness the owner keeps in its
/// own per-strand state: a strand's entry is live iff the owner still records
/// that stamp for it. Saves the second id map on the hot path of policies that
/// keep per-strand state anyway (stride, fair).
#[derive(Debug, Clone)]
pub struct StampHeap<K: Ord + Copy> {
    heap: BinaryHeap<Reverse<(K, u64, StrandId)>>,
    next_stamp: u64,
}

impl<K: Ord + Copy> Default for StampHeap<K> {
    fn default() -> Self {
        StampHeap {
            heap: BinaryHeap::new(),
            next_stamp: 0,
        }
    }
}

impl<K: Ord + Copy> StampHeap<K> {
    /// An empty heap.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `id` with `key`; returns the stamp the owner must record.
    pub fn push(&mut self, id: StrandId, key: K) -> u64 {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.heap.push(Reverse((key, stamp, id)));
        stamp
    }

    /// Pops the top entry, live or not: `(strand, key, stamp)`.
    pub fn pop_raw(&mut self) -> Option<(StrandId, K, u64)> {
        self.heap
            .pop()
            .map(|Reverse((k, stamp, id))| (id, k, stamp))
    }

    /// The top entry, live or not.
    pub fn peek_raw(&self) -> Option<(StrandId, K, u64)> {
        self.heap
            .peek()
            .map(|Reverse((k, stamp, id))| (*id, *k, *stamp))
    }

    /// Drops stale entries from the top, so `peek_raw` shows a live one.
    pub fn clean_top(&mut self, live: impl Fn(StrandId, u64) -> bool) {
        while let Some(Reverse((_, stamp, id))) = self.heap.peek() {
            if live(*id, *stamp) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Drops every stale entry if they outnumber the `live_count` live ones.
    pub fn maybe_compact(&mut self, live_count: usize, live: impl Fn(StrandId, u64) -> bool) {
        if self.heap.len() > 2 * live_count + COMPACT_SLACK {
            self.heap
                .retain(|Reverse((_, stamp, id))| live(*id, *stamp));
        }
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.heap.clear();
    }
}
