//! [`StrandTable`]: the runtime's strands by id, in dense slots.
//!
//! Kernel strand ids are small and dense, so a [`Slots`] map (a direct array
//! below [`crate::slots::DIRECT_IDS`]) finds an entry with two loads and no
//! hashing, and the entries sit packed in one vector. A swap looks up every
//! runnable strand's parameters; with a hash table of 10 000 large entries
//! that was most of its cost. Iteration is in slot order: deterministic, and
//! callers that need id order sort (telemetry).

use spin_kernel::StrandId;

use crate::runtime::StrandEntry;
use crate::slots::Slots;

/// Strand entries by id.
#[derive(Debug, Default)]
pub(crate) struct StrandTable {
    slots: Slots,
    entries: Vec<Option<StrandEntry>>,
    len: usize,
}

impl StrandTable {
    #[inline]
    pub(crate) fn get(&self, id: &StrandId) -> Option<&StrandEntry> {
        self.slots.get(*id).and_then(|s| self.entries[s].as_ref())
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &StrandId) -> Option<&mut StrandEntry> {
        self.slots.get(*id).and_then(|s| self.entries[s].as_mut())
    }

    pub(crate) fn contains_key(&self, id: &StrandId) -> bool {
        self.get(id).is_some()
    }

    /// Adds or replaces the entry of `id`.
    pub(crate) fn insert(&mut self, id: StrandId, entry: StrandEntry) {
        let (slot, _) = self.slots.get_or_insert(id);
        if slot == self.entries.len() {
            self.entries.push(None);
        }
        if self.entries[slot].replace(entry).is_none() {
            self.len += 1;
        }
    }

    pub(crate) fn remove(&mut self, id: &StrandId) -> Option<StrandEntry> {
        let slot = self.slots.remove(*id)?;
        let e = self.entries[slot].take();
        if e.is_some() {
            self.len -= 1;
        }
        e
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every entry with its id, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (StrandId, &StrandEntry)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(slot, e)| e.as_ref().map(|e| (self.slots.id(slot), e)))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &StrandEntry> + '_ {
        self.entries.iter().flatten()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = StrandId> + '_ {
        self.iter().map(|(id, _)| id)
    }
}
