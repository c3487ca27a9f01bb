//! Clock (second chance) with simulated reference bits — the SPIN white
//! paper's example pager.
//!
//! Frames sit on a circle with a hand. A page referenced since the hand
//! last passed has its reference bit set; the hand clears set bits as it
//! sweeps and takes the first page whose bit was already clear. The
//! machine has no reference bits the mound can read, so they are
//! simulated: clearing a bit also queues the page for protection (see
//! [`Policy::take_protect`]); the next access to it raises
//! `Translation.ProtectionFault`, which the pager reports as a hit and the
//! bit is set again. Only misses and those faults reach the policy — the
//! only references it needs.

use std::collections::{HashMap, HashSet};

use super::{Policy, PolicyKind, Removal};
use crate::page::{PageNo, Ref};

/// The clock.
#[derive(Debug, Default)]
pub struct Clock {
    /// Slot → (page, reference bit); `None` for a free slot.
    slots: Vec<Option<(PageNo, bool)>>,
    slot_of: HashMap<PageNo, usize>,
    /// Free slots, the most recently freed last (a victim's slot is reused
    /// by the page that replaces it).
    free: Vec<usize>,
    hand: usize,
    /// Pages whose bit the hand cleared and nobody protected yet.
    protect: HashSet<PageNo>,
}

impl Clock {
    /// An empty clock.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Whether `page`'s reference bit is set (`None` if not on the clock).
    pub fn referenced(&self, page: PageNo) -> Option<bool> {
        let &s = self.slot_of.get(&page)?;
        self.slots[s].map(|(_, r)| r)
    }
}

impl Policy for Clock {
    fn kind(&self) -> PolicyKind {
        PolicyKind::Clock
    }

    fn hit(&mut self, r: &Ref) {
        if let Some(&s) = self.slot_of.get(&r.page) {
            if let Some((_, bit)) = self.slots[s].as_mut() {
                *bit = true;
            }
            self.protect.remove(&r.page);
        }
    }

    fn insert(&mut self, r: &Ref) {
        if self.slot_of.contains_key(&r.page) {
            self.hit(r);
            return;
        }
        let s = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        // Just faulted in, so just referenced: its mapping is accessible.
        self.slots[s] = Some((r.page, true));
        self.slot_of.insert(r.page, s);
    }

    fn victim(&mut self, _incoming: Option<&Ref>) -> Option<PageNo> {
        if self.slot_of.is_empty() {
            return None;
        }
        let n = self.slots.len();
        // Two full turns always suffice: the first clears every bit.
        for _ in 0..2 * n + 1 {
            let s = self.hand % n;
            self.hand = (s + 1) % n;
            match self.slots[s].as_mut() {
                None => {}
                Some((page, bit)) if *bit => {
                    *bit = false;
                    self.protect.insert(*page);
                }
                Some((page, _)) => return Some(*page),
            }
        }
        None
    }

    fn remove(&mut self, page: PageNo, _why: Removal) {
        if let Some(s) = self.slot_of.remove(&page) {
            self.slots[s] = None;
            self.free.push(s);
        }
        self.protect.remove(&page);
    }

    fn take_protect(&mut self) -> Vec<PageNo> {
        let mut v: Vec<PageNo> = self.protect.drain().collect();
        v.sort_unstable();
        v
    }

    fn needs_every_reference(&self) -> bool {
        false
    }
}
