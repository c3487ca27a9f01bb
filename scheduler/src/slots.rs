//! Dense slots for strands: every strand a policy knows gets a small integer,
//! its *slot*, that indexes the policy's per-strand arrays.
//!
//! The kernel hands out strand ids from a counter, so ids are small and dense:
//! ids below [`DIRECT_IDS`] map to their slot through a plain array (one
//! bounds check and one load, no hashing); larger ids (mound group entities at
//! [`crate::GROUP_ID_BASE`]) go through an [`IdMap`]. Freed slots are reused
//! last-freed first, so slot numbers, like everything else here, depend only
//! on the sequence of calls.

use spin_kernel::StrandId;

use crate::ids::IdMap;

/// Ids below this are looked up in a direct array (at most 4 MiB of it).
pub const DIRECT_IDS: u32 = 1 << 20;

/// No slot (in the direct array).
const NONE: u32 = u32::MAX;

/// The strand ↔ slot map of one policy.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    /// `direct[id]` is the slot of strand `id`, or [`NONE`].
    direct: Vec<u32>,
    /// Slots of ids ≥ [`DIRECT_IDS`].
    sparse: IdMap<u32>,
    /// The strand in each slot (meaningless for free slots).
    owner: Vec<StrandId>,
    /// Free slots, reused last-freed first.
    free: Vec<u32>,
}

impl Slots {
    /// No strands.
    pub fn new() -> Slots {
        Slots::default()
    }

    /// The slot of `id`, if it has one.
    #[inline]
    pub fn get(&self, id: StrandId) -> Option<usize> {
        match self.direct.get(id.0 as usize) {
            Some(&s) if s != NONE => Some(s as usize),
            Some(_) => None,
            None if id.0 >= DIRECT_IDS => self.sparse.get(&id).map(|&s| s as usize),
            None => None,
        }
    }

    /// The slot of `id`, giving it one if it has none. The flag says the slot
    /// is new to `id`; a slot equal to the old [`Slots::capacity`] is one never
    /// used before, for which the caller must grow its per-slot arrays.
    #[inline]
    pub fn get_or_insert(&mut self, id: StrandId) -> (usize, bool) {
        if let Some(s) = self.get(id) {
            return (s, false);
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.owner.push(id);
                u32::try_from(self.owner.len() - 1).expect("fewer than 2^32 strands")
            }
        };
        self.owner[slot as usize] = id;
        if id.0 < DIRECT_IDS {
            let i = id.0 as usize;
            if i >= self.direct.len() {
                let len = (i + 1).max(2 * self.direct.len()).min(DIRECT_IDS as usize);
                self.direct.resize(len, NONE);
            }
            self.direct[i] = slot;
        } else {
            self.sparse.insert(id, slot);
        }
        (slot as usize, true)
    }

    /// Takes `id`'s slot away (it becomes free); returns it.
    pub fn remove(&mut self, id: StrandId) -> Option<usize> {
        let slot = if id.0 < DIRECT_IDS {
            let cell = self.direct.get_mut(id.0 as usize)?;
            if *cell == NONE {
                return None;
            }
            std::mem::replace(cell, NONE)
        } else {
            self.sparse.remove(&id)?
        };
        self.free.push(slot);
        Some(slot as usize)
    }

    /// The strand in `slot` (only meaningful for a slot in use).
    #[inline]
    pub fn id(&self, slot: usize) -> StrandId {
        self.owner[slot]
    }

    /// Slots ever handed out: every slot is below this.
    pub fn capacity(&self) -> usize {
        self.owner.len()
    }

    /// Strands holding a slot.
    pub fn len(&self) -> usize {
        self.owner.len() - self.free.len()
    }

    /// Whether no strand holds a slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_get_slots_and_reuse_them() {
        let mut s = Slots::new();
        assert_eq!(s.get_or_insert(StrandId(5)), (0, true));
        assert_eq!(s.get_or_insert(StrandId(0x8000_0001)), (1, true));
        assert_eq!(s.get_or_insert(StrandId(5)), (0, false));
        assert_eq!(s.get(StrandId(0x8000_0001)), Some(1));
        assert_eq!(s.get(StrandId(6)), None);
        assert_eq!(s.get(StrandId(1 << 19)), None);
        assert_eq!(s.remove(StrandId(5)), Some(0));
        assert_eq!(s.remove(StrandId(5)), None);
        assert_eq!(s.get(StrandId(5)), None);
        // The freed slot is reused before a new one is made.
        assert_eq!(s.get_or_insert(StrandId(9)), (0, true));
        assert_eq!(s.id(0), StrandId(9));
        assert_eq!((s.len(), s.capacity()), (2, 2));
        assert_eq!(s.remove(StrandId(0x8000_0001)), Some(1));
        assert_eq!(s.len(), 1);
    }
}
