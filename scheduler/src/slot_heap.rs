//! [`SlotHeap`]: a 4-ary min-heap of dense slots (see [`crate::slots`]) by a
//! `u64` key, FIFO among equal keys, with O(1) removal.
//!
//! Each entry is one `u128`, `key << 64 | seq << 32 | slot`, so ordering is
//! a single integer comparison and four siblings span 64 bytes: a pop at
//! 10 000 entries visits about seven levels, choosing among siblings without
//! branches. `seq` counts pushes, so
//! equal keys come out in push order. Removal is lazy: the heap remembers the
//! `seq` of each slot's live entry, and an entry whose `seq` is no longer
//! remembered is dropped when it reaches the top (the top is always live, so
//! `peek` needs no `&mut`). Stale entries are swept when they outnumber the
//! live ones.

/// `live[slot]` when the slot has no entry.
const ABSENT: u32 = 0;

/// Stale entries tolerated beyond the live count before a sweep.
const SWEEP_SLACK: usize = 64;

/// Children per node (the tournament in `min_child` is written for four).
const ARITY: usize = 4;

/// A min-heap of slots by `u64` key. See the module docs.
#[derive(Debug, Clone)]
pub struct SlotHeap {
    heap: Vec<u128>,
    /// The `seq` of each slot's live entry, or [`ABSENT`].
    live: Vec<u32>,
    live_count: usize,
    /// The next `seq` (never [`ABSENT`]).
    next_seq: u32,
    /// The top entry is stale, left in place by [`SlotHeap::pop_deferred`]
    /// for the next push to overwrite.
    dead_top: bool,
}

impl Default for SlotHeap {
    fn default() -> Self {
        SlotHeap {
            heap: Vec::new(),
            live: Vec::new(),
            live_count: 0,
            next_seq: 1,
            dead_top: false,
        }
    }
}

#[inline]
fn pack(key: u64, seq: u32, slot: usize) -> u128 {
    u128::from(key) << 64 | u128::from(seq) << 32 | slot as u128
}

/// The smaller of two entries and its index, without a branch (entries are
/// distinct: their `seq`s differ).
#[inline]
fn pick_min(a: u128, ia: usize, b: u128, ib: usize) -> (u128, usize) {
    let take_b = b < a;
    let wide = u128::from(take_b).wrapping_neg();
    let narrow = usize::from(take_b).wrapping_neg();
    ((b & wide) | (a & !wide), (ib & narrow) | (ia & !narrow))
}

#[inline]
fn key_of(e: u128) -> u64 {
    (e >> 64) as u64
}

#[inline]
fn seq_of(e: u128) -> u32 {
    (e >> 32) as u32
}

#[inline]
fn slot_of(e: u128) -> usize {
    e as u32 as usize
}

impl SlotHeap {
    /// An empty heap.
    pub fn new() -> SlotHeap {
        SlotHeap::default()
    }

    /// Queues `slot` with `key`, replacing its entry if it had one.
    pub fn push(&mut self, slot: usize, key: u64) {
        if slot >= self.live.len() {
            self.live.resize(slot + 1, ABSENT);
        }
        if self.next_seq == u32::MAX {
            self.renumber();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let requeued = std::mem::replace(&mut self.live[slot], seq) != ABSENT;
        if !requeued {
            self.live_count += 1;
        }
        if std::mem::take(&mut self.dead_top) {
            // Overwrite the entry a deferred pop left on top and sift it
            // down: one pass instead of a pop's and a push's.
            self.heap[0] = pack(key, seq, slot);
            self.sift_down(0);
            self.clean_top();
        } else {
            self.heap.push(pack(key, seq, slot));
            self.sift_up(self.heap.len() - 1);
            if requeued {
                // Its old entry may have been the top.
                self.clean_top();
            }
        }
        self.maybe_sweep();
    }

    /// Removes `slot`; returns whether it was queued.
    pub fn remove(&mut self, slot: usize) -> bool {
        self.settle_top();
        match self.live.get_mut(slot) {
            Some(seq) if *seq != ABSENT => {
                *seq = ABSENT;
                self.live_count -= 1;
                self.clean_top();
                self.maybe_sweep();
                true
            }
            _ => false,
        }
    }

    /// Removes and returns the slot with the smallest key (the earliest pushed
    /// among equals), with its key.
    pub fn pop(&mut self) -> Option<(usize, u64)> {
        self.settle_top();
        while let Some(e) = self.pop_raw() {
            let slot = slot_of(e);
            if self.live[slot] == seq_of(e) {
                self.live[slot] = ABSENT;
                self.live_count -= 1;
                self.clean_top();
                self.maybe_sweep();
                return Some((slot, key_of(e)));
            }
        }
        None
    }

    /// Like [`SlotHeap::pop`], but leaves the entry in place, dead, for the
    /// next push to overwrite: a strand picked and queued again right away
    /// (the usual round) costs one sift instead of two. Until the next push
    /// or pop, [`SlotHeap::peek`] must not be called.
    pub fn pop_deferred(&mut self) -> Option<(usize, u64)> {
        self.settle_top();
        let &e = self.heap.first()?;
        let slot = slot_of(e);
        self.live[slot] = ABSENT;
        self.live_count -= 1;
        self.dead_top = true;
        self.maybe_sweep();
        Some((slot, key_of(e)))
    }

    /// The slot with the smallest key and its key, without removing it.
    pub fn peek(&self) -> Option<(usize, u64)> {
        debug_assert!(!self.dead_top, "peek after pop_deferred");
        // The top is always live (see `clean_top`).
        self.heap.first().map(|&e| (slot_of(e), key_of(e)))
    }

    /// Drops a top left dead by [`SlotHeap::pop_deferred`].
    fn settle_top(&mut self) {
        if std::mem::take(&mut self.dead_top) {
            self.clean_top();
        }
    }

    /// Drops stale entries from the top, so the top, if any, is live.
    fn clean_top(&mut self) {
        if self.heap.len() == self.live_count {
            // No stale entry anywhere (the usual case on a busy queue).
            return;
        }
        while let Some(&e) = self.heap.first() {
            if self.live[slot_of(e)] == seq_of(e) {
                break;
            }
            self.pop_raw();
        }
    }

    /// Whether `slot` is queued.
    #[inline]
    pub fn contains(&self, slot: usize) -> bool {
        self.live.get(slot).is_some_and(|&s| s != ABSENT)
    }

    /// Number of queued slots.
    pub fn len(&self) -> usize {
        self.live_count
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.live_count == 0
    }

    /// Removes everything; returns the queued slots, smallest key first.
    pub fn drain_sorted(&mut self) -> Vec<usize> {
        self.dead_top = false;
        let mut live: Vec<u128> = self
            .heap
            .drain(..)
            .filter(|&e| self.live[slot_of(e)] == seq_of(e))
            .collect();
        live.sort_unstable();
        self.live.fill(ABSENT);
        self.live_count = 0;
        live.into_iter().map(slot_of).collect()
    }

    /// Pops the top entry, live or not.
    fn pop_raw(&mut self) -> Option<u128> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some(last);
        };
        // Floyd: walk the hole down along the smallest children to a leaf,
        // then let `last` (usually a large key) climb back the short way.
        let n = self.heap.len();
        let mut hole = 0;
        loop {
            let first = ARITY * hole + 1;
            if first >= n {
                break;
            }
            let (best, best_e) = self.min_child(first, n);
            self.heap[hole] = best_e;
            hole = best;
        }
        self.heap[hole] = last;
        self.sift_up(hole);
        Some(top)
    }

    /// The smallest of the (up to [`ARITY`]) siblings from `first`, and its
    /// index. Branch-free: which sibling wins is data, and a mispredicted
    /// branch per level costs more than the comparisons.
    #[inline]
    fn min_child(&self, first: usize, n: usize) -> (usize, u128) {
        if first + ARITY <= n {
            // A full family: a two-round tournament.
            let c = &self.heap[first..first + ARITY];
            let (a, ia) = pick_min(c[0], 0, c[1], 1);
            let (b, ib) = pick_min(c[2], 2, c[3], 3);
            let (m, im) = pick_min(a, ia, b, ib);
            return (first + im, m);
        }
        let mut best = first;
        let mut best_e = self.heap[first];
        for (c, &e) in self.heap[first + 1..n].iter().enumerate() {
            if e < best_e {
                best = first + 1 + c;
                best_e = e;
            }
        }
        (best, best_e)
    }

    fn sift_up(&mut self, mut i: usize) {
        let e = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let p = self.heap[parent];
            if p <= e {
                break;
            }
            self.heap[i] = p;
            i = parent;
        }
        self.heap[i] = e;
    }

    fn maybe_sweep(&mut self) {
        if self.heap.len() > 2 * self.live_count + SWEEP_SLACK {
            let live = &self.live;
            self.heap.retain(|&e| live[slot_of(e)] == seq_of(e));
            self.heapify();
            self.dead_top = false;
        }
    }

    /// Gives the live entries fresh `seq`s 1, 2, ... in heap order (keeping
    /// FIFO among equal keys) before the counter would wrap.
    fn renumber(&mut self) {
        let mut live: Vec<u128> = std::mem::take(&mut self.heap)
            .into_iter()
            .filter(|&e| self.live[slot_of(e)] == seq_of(e))
            .collect();
        live.sort_unstable();
        self.next_seq = 1;
        for e in &mut live {
            let (key, slot) = (key_of(*e), slot_of(*e));
            *e = pack(key, self.next_seq, slot);
            self.live[slot] = self.next_seq;
            self.next_seq += 1;
        }
        // Sorted ascending is a valid min-heap.
        self.heap = live;
        self.dead_top = false;
    }

    /// Restores the heap order of the whole array, bottom-up: O(n).
    fn heapify(&mut self) {
        let n = self.heap.len();
        if n < 2 {
            return;
        }
        for i in (0..=(n - 2) / ARITY).rev() {
            self.sift_down(i);
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        let e = self.heap[i];
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let (best, best_e) = self.min_child(first, n);
            if best_e >= e {
                break;
            }
            self.heap[i] = best_e;
            i = best;
        }
        self.heap[i] = e;
    }

    #[cfg(test)]
    fn force_seq(&mut self, seq: u32) {
        self.next_seq = seq;
    }

    #[cfg(test)]
    fn raw_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_key_then_push_order() {
        let mut h = SlotHeap::new();
        h.push(1, 5);
        h.push(2, 3);
        h.push(3, 5);
        h.push(4, 1);
        assert!(h.remove(4));
        assert!(!h.remove(4));
        assert_eq!(h.peek(), Some((2, 3)));
        h.push(2, 9); // re-key
        assert_eq!(h.len(), 3);
        let mut order = Vec::new();
        while let Some((s, _)) = h.pop() {
            order.push(s);
        }
        assert_eq!(order, vec![1, 3, 2]);
        assert!(h.is_empty());
    }

    #[test]
    fn matches_a_sorted_model_under_churn() {
        let mut h = SlotHeap::new();
        let mut model = std::collections::BTreeMap::new(); // slot -> (key, seq)
        let mut x: u64 = 12345;
        let mut seq = 0u64;
        let mut deferred = false;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slot = (x >> 40) as usize % 300;
            let key = (x >> 20) % 1000;
            match x >> 62 {
                0 | 1 => {
                    h.push(slot, key);
                    seq += 1;
                    model.insert(slot, (key, seq));
                }
                2 => assert_eq!(h.remove(slot), model.remove(&slot).is_some()),
                _ => {
                    let want = model
                        .iter()
                        .min_by_key(|(_, &v)| v)
                        .map(|(&s, &(k, _))| (s, k));
                    if x & 1 == 0 {
                        assert_eq!(h.pop(), want);
                    } else {
                        // Left dead on top for the next push to overwrite.
                        assert_eq!(h.pop_deferred(), want);
                        deferred = true;
                    }
                    if let Some((s, _)) = want {
                        model.remove(&s);
                    }
                }
            }
            assert_eq!(h.len(), model.len());
            assert!(h.raw_len() <= 2 * h.len() + SWEEP_SLACK + 1);
            let top = model
                .iter()
                .min_by_key(|(_, &v)| v)
                .map(|(&s, &(k, _))| (s, k));
            if !std::mem::take(&mut deferred) {
                assert_eq!(h.peek(), top, "the top is the live minimum");
            }
        }
        let mut want: Vec<_> = model.iter().map(|(&s, &v)| (v, s)).collect();
        want.sort_unstable();
        let want: Vec<usize> = want.into_iter().map(|(_, s)| s).collect();
        assert_eq!(h.drain_sorted(), want);
    }

    #[test]
    fn renumbering_keeps_order_and_liveness() {
        let mut h = SlotHeap::new();
        h.force_seq(u32::MAX - 3);
        for slot in 0..8 {
            h.push(slot, 7);
        }
        h.remove(2);
        h.push(0, 7); // to the back of the equal keys
        let mut order = Vec::new();
        while let Some((s, _)) = h.pop() {
            order.push(s);
        }
        assert_eq!(order, vec![1, 3, 4, 5, 6, 7, 0]);
    }
}
