//! Regions (VMAs) and the region map of one address space: lookup, splitting,
//! merging and free-range search. Pure bookkeeping; no frames are touched here.

use std::collections::BTreeMap;
use std::sync::Arc;

use spin_fs::PageBacking;
use spin_kernel::Prot;

use crate::frames::PageRef;
use crate::layout::Layout;
use crate::shared::SharedObj;
use crate::types::RegionKind;

/// One region `[start, end)`; `start` is its key in [`VmState::vmas`].
#[derive(Clone)]
pub(crate) struct Vma {
    /// First address past the region.
    pub end: u64,
    /// Protection as requested.
    pub prot: Prot,
    /// What it holds (for `/proc/self/maps`).
    pub kind: RegionKind,
    /// Grows down on faults just below it (the stack).
    pub growsdown: bool,
    /// The file, for file mappings (private or shared).
    pub file: Option<Arc<dyn PageBacking>>,
    /// The shared object, for `MAP_SHARED` mappings.
    pub shared: Option<Arc<SharedObj>>,
    /// The file's page-cache object, for private file mappings: untouched
    /// and read-only pages map its frames; a write copies.
    pub cache: Option<Arc<SharedObj>>,
    /// Byte offset in the file (or shared object) of the region's start.
    pub offset: u64,
    /// File bytes at or past this offset read as zeros (an ELF segment's
    /// file part ends inside its last page and `.bss` follows).
    pub limit: Option<u64>,
}

impl Vma {
    /// An anonymous private region ending at `end`.
    pub fn anon(end: u64, prot: Prot, kind: RegionKind) -> Vma {
        Vma {
            end,
            prot,
            kind,
            growsdown: false,
            file: None,
            shared: None,
            cache: None,
            offset: 0,
            limit: None,
        }
    }

    /// The protection the hardware mapping gets: writable or executable pages
    /// are readable too, as on every MMU Linux runs on.
    pub fn eff(&self) -> Prot {
        effective(self.prot)
    }

    /// Whether `next`, starting where `self` ends (`self` starting at
    /// `start`), continues it seamlessly so the two can be one region.
    fn continues(&self, start: u64, next: &Vma) -> bool {
        let same_file = match (&self.file, &next.file) {
            (None, None) => true,
            (Some(a), Some(b)) => a.id() == b.id(),
            _ => false,
        };
        let same = |a: &Option<Arc<SharedObj>>, b: &Option<Arc<SharedObj>>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let same_obj = same(&self.shared, &next.shared) && same(&self.cache, &next.cache);
        let offsets_continue = (self.file.is_none() && self.shared.is_none())
            || self.offset + (self.end - start) == next.offset;
        self.prot == next.prot
            && self.kind == next.kind
            && self.growsdown == next.growsdown
            && self.limit.is_none()
            && next.limit.is_none()
            && same_file
            && same_obj
            && offsets_continue
    }
}

/// Write or execute permission implies read.
pub(crate) fn effective(prot: Prot) -> Prot {
    if prot.contains(Prot::WRITE) || prot.contains(Prot::EXEC) {
        prot.union(Prot::READ)
    } else {
        prot
    }
}

/// Regions and software page table of one address space (behind the Vm lock).
#[derive(Default)]
pub(crate) struct VmState {
    /// Regions by start address; never overlapping.
    pub vmas: BTreeMap<u64, Vma>,
    /// Page address → where the page is; only inside regions.
    pub pages: BTreeMap<u64, PageRef>,
    /// Number of `PageRef::Frame` entries in `pages`.
    pub resident: u64,
    /// Start of the `brk` heap (page aligned).
    pub brk_base: u64,
    /// The current break (any byte address ≥ `brk_base`).
    pub brk: u64,
    /// Bumped whenever regions are removed or pages dropped, so a fault
    /// planned before such a change does not install a page filled for the
    /// old mapping.
    pub epoch: u64,
}

impl VmState {
    /// The region containing `va`: its start and itself.
    pub fn find(&self, va: u64) -> Option<(u64, &Vma)> {
        self.vmas
            .range(..=va)
            .next_back()
            .filter(|(_, v)| va < v.end)
            .map(|(s, v)| (*s, v))
    }

    /// Splits the region containing `at` (strictly inside) into two.
    pub fn split_at(&mut self, at: u64) {
        let Some((start, vma)) = self.find(at) else {
            return;
        };
        if start == at {
            return;
        }
        let mut right = vma.clone();
        right.offset = vma.offset + (at - start);
        if let Some(left) = self.vmas.get_mut(&start) {
            left.end = at;
        }
        self.vmas.insert(at, right);
    }

    /// Removes the regions in `[start, end)` (splitting those that straddle
    /// the ends) and returns them. Their pages stay in `pages`.
    pub fn remove_vmas(&mut self, start: u64, end: u64) -> Vec<(u64, Vma)> {
        self.epoch += 1;
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(s, _)| *s).collect();
        keys.into_iter()
            .filter_map(|k| self.vmas.remove(&k).map(|v| (k, v)))
            .collect()
    }

    /// Whether no region intersects `[start, end)`.
    pub fn is_free(&self, start: u64, end: u64) -> bool {
        if self.find(start).is_some() {
            return false;
        }
        self.vmas.range(start..end).next().is_none()
    }

    /// Whether regions cover all of `[start, end)` without a hole.
    pub fn covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some((_, v)) => at = v.end,
                None => return false,
            }
        }
        true
    }

    /// Merges the region ending at `at` with the one starting there, if the
    /// second seamlessly continues the first.
    pub fn merge_around(&mut self, at: u64) {
        let Some((&ls, left)) = self.vmas.range(..at).next_back() else {
            return;
        };
        let Some(right) = self.vmas.get(&at) else {
            return;
        };
        if left.end == at && left.continues(ls, right) {
            let end = right.end;
            self.vmas.remove(&at);
            if let Some(left) = self.vmas.get_mut(&ls) {
                left.end = end;
            }
        }
    }

    /// Lowest address a region reserves for placement: a stack region keeps
    /// room to grow to its limit.
    fn reserved_start(start: u64, v: &Vma, layout: &Layout) -> u64 {
        if v.growsdown {
            v.end.saturating_sub(layout.stack_limit).min(start)
        } else {
            start
        }
    }

    /// The lowest free `len`-byte range at or above `from`.
    fn first_fit(&self, from: u64, len: u64, layout: &Layout) -> Option<u64> {
        let mut a = from.max(layout.mmap_min);
        for (&s, v) in &self.vmas {
            if v.end <= a {
                continue;
            }
            if a.checked_add(len)? <= Self::reserved_start(s, v, layout) {
                break;
            }
            a = a.max(v.end);
        }
        (a.checked_add(len)? <= layout.user_limit).then_some(a)
    }

    /// The highest free `len`-byte range ending at or below `below`.
    fn last_fit(&self, below: u64, len: u64, layout: &Layout) -> Option<u64> {
        let mut hi = below.min(layout.user_limit);
        for (&s, v) in self.vmas.iter().rev() {
            if v.end <= hi && hi - v.end >= len {
                break;
            }
            hi = hi.min(Self::reserved_start(s, v, layout));
        }
        let a = hi.checked_sub(len)?;
        (a >= layout.mmap_min).then_some(a)
    }

    /// Where a new `len`-byte mapping goes: at the hint if it can, else by the
    /// layout's placement rule.
    pub fn find_free(&self, len: u64, hint: u64, layout: &Layout, page: u64) -> Option<u64> {
        let fits = |a: u64| {
            a >= layout.mmap_min
                && a.checked_add(len)
                    .is_some_and(|e| e <= layout.user_limit && self.is_free(a, e))
        };
        let hint = hint.checked_add(page - 1).map_or(0, |h| h & !(page - 1));
        if layout.mmap_top_down {
            if hint != 0 && fits(hint) {
                return Some(hint);
            }
            self.last_fit(layout.mmap_base, len, layout)
                .or_else(|| self.first_fit(layout.mmap_base, len, layout))
        } else {
            // Linux/Alpha: first fit at or above the hint, then above the
            // mmap base, then anywhere from the bottom.
            (hint != 0)
                .then(|| self.first_fit(hint, len, layout))
                .flatten()
                .or_else(|| self.first_fit(layout.mmap_base, len, layout))
                .or_else(|| self.first_fit(0, len, layout))
        }
    }

    /// Grows the stack region just above `va` down to `va`'s page, if `va` is
    /// within the stack limit and clear of the region below; returns the new
    /// start.
    pub fn grow_stack(&mut self, va: u64, layout: &Layout, page: u64) -> Option<u64> {
        let (&start, vma) = self.vmas.range(va..).next()?;
        if !vma.growsdown || vma.end - va > layout.stack_limit {
            return None;
        }
        if let Some((_, prev)) = self.vmas.range(..va).next_back() {
            // Keep a guard page between the stack and what lies below.
            if prev.end > va.saturating_sub(page) {
                return None;
            }
        }
        let mut v = self.vmas.remove(&start)?;
        v.offset = v.offset.saturating_sub(start - va);
        self.vmas.insert(va, v);
        Some(va)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 8192;

    fn state(regions: &[(u64, u64)]) -> VmState {
        let mut st = VmState::default();
        for &(s, e) in regions {
            st.vmas.insert(s, Vma::anon(e, Prot::RW, RegionKind::Anon));
        }
        st
    }

    #[test]
    fn split_remove_cover_merge() {
        let mut st = state(&[(0x10000, 0x20000)]);
        st.split_at(0x14000);
        assert_eq!(st.vmas.len(), 2);
        assert!(st.covered(0x10000, 0x20000));
        st.merge_around(0x14000);
        assert_eq!(st.vmas.len(), 1);
        let gone = st.remove_vmas(0x12000, 0x16000);
        assert_eq!(gone.len(), 1);
        assert_eq!((gone[0].0, gone[0].1.end), (0x12000, 0x16000));
        assert!(!st.covered(0x10000, 0x20000));
        assert!(st.is_free(0x12000, 0x16000));
        assert!(!st.is_free(0x11000, 0x13000));
    }

    #[test]
    fn placement_bottom_up_and_top_down() {
        let alpha = Layout::alpha();
        let st = state(&[(alpha.mmap_base, alpha.mmap_base + 4 * P)]);
        assert_eq!(st.find_free(P, 0, &alpha, P), Some(alpha.mmap_base + 4 * P));
        assert_eq!(st.find_free(P, 0x3000_0000, &alpha, P), Some(0x3000_0000));
        let x86 = Layout::x86_64();
        let st = state(&[(x86.mmap_base - 2 * P, x86.mmap_base)]);
        assert_eq!(st.find_free(P, 0, &x86, P), Some(x86.mmap_base - 3 * P));
        assert_eq!(st.find_free(P, 0x4000_0000, &x86, P), Some(0x4000_0000));
    }

    #[test]
    fn stack_grows_within_limit_only() {
        let l = Layout::alpha();
        let mut st = VmState::default();
        let mut v = Vma::anon(l.stack_top, Prot::RW, RegionKind::Stack);
        v.growsdown = true;
        st.vmas.insert(l.stack_top - 16 * P, v);
        assert_eq!(
            st.grow_stack(l.stack_top - 20 * P, &l, P),
            Some(l.stack_top - 20 * P)
        );
        assert_eq!(st.grow_stack(l.stack_top - l.stack_limit - P, &l, P), None);
    }
}
