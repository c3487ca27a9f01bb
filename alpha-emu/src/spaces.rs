//! The code a CPU keeps per address space.
//!
//! Blocks are keyed by virtual address, so they belong to one address
//! space. A CPU that runs several (the UNIX mound's processes take turns)
//! keeps the decoded and compiled code of up to [`MAX_SPACES`] of them, so a
//! process switch costs a TLB flush, not a recompile; the least recently
//! run space makes room for a new one.
//!
//! When a space's generation changes (a mapping went away, moved to another
//! frame or lost permissions), its blocks are not thrown away but
//! revalidated: each code page is walked again and must still map the frame
//! its blocks were decoded from, and each block's instruction words must
//! still hash the same (a frame freed and reused at the same address). A
//! store into a frame that holds another kept space's code is noted and
//! kills that space's blocks on it before the space runs again.

use spin_kernel::machine::Access;
use spin_kernel::mem::PageTable;

use crate::block::CodeCache;
use crate::mmu::{Mmu, PAGE_MASK, PAGE_SHIFT};

/// Most address spaces whose code one CPU keeps.
pub(crate) const MAX_SPACES: usize = 8;

/// The compiled-code cache of one space, where the host supports it.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(crate) type JitSlot = Option<Box<crate::jit::Jit>>;
/// The compiled-code cache of one space, where the host supports it.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
pub(crate) type JitSlot = Option<()>;

/// The code kept for one address space.
pub(crate) struct SpaceCode {
    /// The space's `PageTable::asid`.
    pub asid: u64,
    /// Its generation when the blocks were last validated.
    pub generation: u64,
    /// Decoded blocks.
    pub code: CodeCache,
    /// Compiled blocks.
    pub jit: JitSlot,
    stamp: u64,
}

/// The spaces one CPU keeps code for; one of them is active.
#[derive(Default)]
pub(crate) struct Spaces {
    list: Vec<SpaceCode>,
    active: usize,
    clock: u64,
    /// Spaces evicted to make room for another.
    pub evictions: u64,
}

impl Spaces {
    /// The active space's code (after [`Spaces::select`]).
    pub fn active(&mut self) -> &mut SpaceCode {
        &mut self.list[self.active]
    }

    /// Every kept space.
    pub fn all(&self) -> impl Iterator<Item = &SpaceCode> {
        self.list.iter()
    }

    /// Every kept space, mutably.
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut SpaceCode> {
        self.list.iter_mut()
    }

    /// The kept code of the space with `asid`, if any.
    pub fn find(&mut self, asid: u64) -> Option<&mut SpaceCode> {
        self.list.iter_mut().find(|s| s.asid == asid)
    }

    /// Makes `space`'s code the active one, revalidating it if the space
    /// changed since it last ran. Cheap when the same space runs on.
    #[inline]
    pub fn select(&mut self, space: &dyn PageTable, mmu: &mut Mmu) {
        let (asid, generation) = (space.asid(), space.generation());
        if let Some(s) = self.list.get(self.active) {
            if s.asid == asid && s.generation == generation {
                return;
            }
        }
        self.switch(space, asid, generation, mmu);
    }

    #[cold]
    fn switch(&mut self, space: &dyn PageTable, asid: u64, generation: u64, mmu: &mut Mmu) {
        self.clock += 1;
        let switching = self.list.get(self.active).is_none_or(|s| s.asid != asid);
        if switching {
            // Stores the outgoing space made into other spaces' code.
            let writes = match self.list.get_mut(self.active) {
                Some(s) => std::mem::take(&mut s.code.index.foreign_writes),
                None => Vec::new(),
            };
            for s in self.list.iter_mut() {
                for &(pa, len) in &writes {
                    s.code.index.invalidate(pa, len);
                }
                s.code.index.foreign_writes.clear();
            }
            self.active = match self.list.iter().position(|s| s.asid == asid) {
                Some(i) => i,
                None => self.make_room(asid, generation),
            };
            // The frames other kept spaces have code in.
            let foreign = self
                .list
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != self.active)
                .flat_map(|(_, s)| s.code.code_pages())
                .collect();
            self.list[self.active].code.index.foreign = foreign;
            // Write-TLB code marks follow the new sets (the TLB was flushed
            // for the new space anyway).
            mmu.clear_code_marks();
        }
        let s = &mut self.list[self.active];
        s.stamp = self.clock;
        if s.generation != generation {
            // Only the pages the space says changed need a look, when it
            // can say (a few recent generations, a few ranges).
            let mut changed = [(0u64, 0u64); 16];
            let mut n = 0;
            let named = space.changes_since(s.generation, generation, &mut |va, pages| {
                if n < changed.len() {
                    changed[n] = (va & !PAGE_MASK, pages);
                }
                n += 1;
            }) && n <= changed.len();
            let changed = &changed[..n.min(changed.len())];
            let (lo, hi) = s.code.index.vspan;
            let near_code = !named
                || changed.iter().any(|&(va, pages)| {
                    let end = va.saturating_add(pages.saturating_mul(1 << PAGE_SHIFT));
                    va <= hi && lo < end
                });
            let touched = |vp: u64| {
                !named
                    || changed
                        .iter()
                        .any(|&(va, pages)| vp >= va && (vp - va) >> PAGE_SHIFT < pages)
            };
            if near_code {
                s.code.revalidate_where(touched, |vp| {
                    space
                        .walk(vp, Access::Execute)
                        .ok()
                        .map(|pte| pte.frame.0 & !PAGE_MASK)
                });
            }
            s.generation = generation;
        }
    }

    /// A slot for a new space: a fresh one, or the least recently run one
    /// emptied (its compiled-code buffer is kept for reuse).
    fn make_room(&mut self, asid: u64, generation: u64) -> usize {
        if self.list.len() < MAX_SPACES {
            self.list.push(SpaceCode {
                asid,
                generation,
                code: CodeCache::default(),
                jit: None,
                stamp: self.clock,
            });
            return self.list.len() - 1;
        }
        let (i, _) = self
            .list
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.stamp)
            .expect("MAX_SPACES > 0");
        let s = &mut self.list[i];
        s.asid = asid;
        s.generation = generation;
        s.code.clear();
        self.evictions += 1;
        i
    }
}
