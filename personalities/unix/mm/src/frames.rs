//! The per-mound frame table: every frame the mound holds, who maps it (the
//! reverse map, whose length is the copy-on-write reference count), and what
//! it would take to recreate its contents (for reclaim).

use std::collections::BTreeMap;
use std::sync::Weak;

use spin_kernel::mem::AddressSpace;
use spin_kernel::Cap;

use crate::shared::SharedObj;
use crate::swap::Slot;
use crate::vm::VmCore;

/// Identifies a [`crate::Vm`] inside its memory manager.
pub(crate) type VmId = u64;

/// Where a page is: in a frame, or in a swap slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageRef {
    /// Resident in the frame at this guest physical address.
    Frame(u64),
    /// In the swap store.
    Swap(Slot),
}

/// What recreates a frame's contents if it was never written since it was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Zero fill: a clean frame can be dropped and demand-zeroed again.
    Zero,
    /// Read from the region's file: a clean frame can be dropped and re-read.
    File,
    /// Anything else (copied, swapped in): only swap preserves it.
    Anon,
}

/// The `(space, page va)` pairs that map a frame.
#[derive(Debug, Clone, Default)]
pub(crate) enum Rmap {
    /// Mapped nowhere (a shared object's cached page, or being torn down).
    #[default]
    Empty,
    /// The common case, kept inline so a fault does not allocate a vector.
    One((VmId, u64)),
    /// Shared after fork or by several `MAP_SHARED` mappings.
    Many(Vec<(VmId, u64)>),
}

impl Rmap {
    /// The entries.
    pub fn as_slice(&self) -> &[(VmId, u64)] {
        match self {
            Rmap::Empty => &[],
            Rmap::One(e) => std::slice::from_ref(e),
            Rmap::Many(v) => v,
        }
    }

    /// Number of entries (the sharing count).
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether no space maps the frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an entry.
    pub fn push(&mut self, vm: VmId, va: u64) {
        *self = match std::mem::take(self) {
            Rmap::Empty => Rmap::One((vm, va)),
            Rmap::One(e) => Rmap::Many(vec![e, (vm, va)]),
            Rmap::Many(mut v) => {
                v.push((vm, va));
                Rmap::Many(v)
            }
        };
    }

    /// Removes an entry; returns whether it was there.
    pub fn remove(&mut self, vm: VmId, va: u64) -> bool {
        match self {
            Rmap::Empty => false,
            Rmap::One(e) if *e == (vm, va) => {
                *self = Rmap::Empty;
                true
            }
            Rmap::One(_) => false,
            Rmap::Many(v) => {
                let Some(i) = v.iter().position(|e| *e == (vm, va)) else {
                    return false;
                };
                v.swap_remove(i);
                if v.len() == 1 {
                    *self = Rmap::One(v[0]);
                }
                true
            }
        }
    }

    /// Renames an entry's address (mremap moved the page).
    pub fn rename(&mut self, vm: VmId, old: u64, new: u64) {
        let entries: &mut [(VmId, u64)] = match self {
            Rmap::Empty => &mut [],
            Rmap::One(e) => std::slice::from_mut(e),
            Rmap::Many(v) => v,
        };
        if let Some(e) = entries.iter_mut().find(|e| **e == (vm, old)) {
            e.1 = new;
        }
    }

    /// The distinct spaces, ascending (the order their locks are taken in).
    pub fn vm_ids(&self) -> Vec<VmId> {
        let mut ids: Vec<VmId> = self.as_slice().iter().map(|e| e.0).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// One frame of the mound.
#[derive(Debug)]
pub(crate) struct FrameInfo {
    /// Who maps it.
    pub rmap: Rmap,
    /// The shared object (and page index in it) that caches it, for
    /// `MAP_SHARED` pages.
    pub shared: Option<(Weak<SharedObj>, u64)>,
    /// Temporary holds (a copy-on-write source being copied, a victim being
    /// evicted, a page being written back): reclaim skips pinned frames and
    /// a pinned frame is freed only when its last pin goes.
    pub pins: u32,
    /// Written since filled, as learned from dirty bits of mappings that are
    /// gone (live mappings keep their own dirty bits).
    pub dirty: bool,
    /// What recreates the contents if not dirty.
    pub origin: Origin,
}

impl FrameInfo {
    /// A frame just filled and mapped once.
    pub fn new(vm: VmId, va: u64, origin: Origin) -> FrameInfo {
        FrameInfo {
            rmap: Rmap::One((vm, va)),
            shared: None,
            pins: 0,
            dirty: false,
            origin,
        }
    }

    /// Whether nothing holds the frame any more.
    pub fn unused(&self) -> bool {
        self.rmap.is_empty() && self.pins == 0 && self.shared.is_none()
    }
}

/// A registered address space.
pub(crate) struct SpaceRef {
    /// The context, for accessed/dirty bits and unmapping.
    pub space: Cap<AddressSpace>,
    /// The process address space, for eviction (which must lock it).
    pub vm: Weak<VmCore>,
}

/// The frame table proper.
#[derive(Default)]
pub(crate) struct FrameTable {
    /// Frame (guest physical address) → its state.
    pub frames: BTreeMap<u64, FrameInfo>,
    /// Live address spaces by id.
    pub spaces: BTreeMap<VmId, SpaceRef>,
    /// The reclaim clock hand (a frame address).
    pub hand: u64,
}

impl FrameTable {
    /// The context of space `vm`, if alive.
    pub fn space(&self, vm: VmId) -> Option<&Cap<AddressSpace>> {
        self.spaces.get(&vm).map(|s| &s.space)
    }

    /// Whether any mapping of `info` has its dirty bit set (bits untouched).
    pub fn mapped_dirty(&self, info: &FrameInfo) -> bool {
        info.rmap.as_slice().iter().any(|(vm, va)| {
            self.space(*vm)
                .and_then(|s| s.examine(*va))
                .is_some_and(|m| m.dirty)
        })
    }

    /// The clock: advances the hand over unpinned frames, giving each whose
    /// mappings were accessed a second chance (clearing the bits), and returns
    /// the first frame no mapping touched since the hand last passed.
    pub fn pick_victim(&mut self) -> Option<u64> {
        let n = self.frames.len();
        let mut cur = self.hand;
        for _ in 0..=2 * n {
            let (&f, info) = match self.frames.range(cur..).next() {
                Some(e) => e,
                None => self.frames.iter().next()?,
            };
            cur = f + 1;
            if info.pins > 0 {
                continue;
            }
            let mut referenced = false;
            for (vm, va) in info.rmap.as_slice() {
                if let Some(space) = self.space(*vm) {
                    referenced |= space.clear_accessed(*va);
                }
            }
            if !referenced {
                self.hand = cur;
                return Some(f);
            }
        }
        self.hand = cur;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmap_grows_shrinks_and_renames() {
        let mut r = Rmap::default();
        assert!(r.is_empty());
        r.push(2, 0x2000);
        assert!(matches!(r, Rmap::One(_)));
        r.push(1, 0x4000);
        r.push(2, 0x6000);
        assert_eq!(r.len(), 3);
        assert_eq!(r.vm_ids(), vec![1, 2]);
        assert!(r.remove(1, 0x4000));
        assert!(!r.remove(1, 0x4000));
        r.rename(2, 0x6000, 0x8000);
        assert!(r.as_slice().contains(&(2, 0x8000)));
        assert!(r.remove(2, 0x2000));
        assert!(matches!(r, Rmap::One((2, 0x8000))));
        assert!(r.remove(2, 0x8000));
        assert!(r.is_empty());
    }
}
