//! The fault path.
//!
//! Three steps, so that no lock is held while a frame is allocated (which may
//! raise `Reclaim` into this very manager on this thread):
//!
//! 1. *plan*, under the Vm lock: find the region, check the access, and either
//!    resolve the fault on the spot (remap, copy-on-write reuse, map a cached
//!    shared page) or decide where the new frame's contents come from, pinning
//!    that source (a frame to copy, a swap slot) against reclaim;
//! 2. allocate and fill a frame, no lock held;
//! 3. *install*, under the Vm lock again: only if the page is still as planned
//!    (else the frame is freed and the fault retried).

use std::sync::Arc;

use spin_fs::PageBacking;
use spin_kernel::mem::{FrameAttrs, Mapping};
use spin_kernel::{Access, Prot};

use super::{VmCore, VmState};
use crate::frames::{FrameInfo, Origin, PageRef};
use crate::manager::Source;
use crate::shared::SharedObj;
use crate::stats::bump;
use crate::types::Fault;

/// Attempts before a fault that keeps losing races gives up (each loss means
/// another thread changed the page meanwhile, or reclaim took it back).
const MAX_ATTEMPTS: usize = 64;

/// How many times larger the fault-around block is once faults stream.
const FAULT_AROUND_STREAMING: u64 = 4;

/// How many times larger still once a whole streaming block lies next to
/// the fault (a long sequential fill: a large buffer, a sieve, a sort's
/// scratch). With the x86-64 layout's 16 pages: 2 MiB, one page table —
/// under KVM each block costs an exit, and on a PVM host a guest page
/// costs ~12 µs beside it however it is mapped, so fewer, larger blocks
/// are what a long fill can save.
const FAULT_AROUND_LONG: u64 = 8;

/// Fault-around leaves at least 1/this of RAM free (it never makes the
/// kernel reclaim).
const FAULT_AROUND_RESERVE: u64 = 32;

/// Where the filled frame goes.
enum Target {
    /// A private page of this space; the frame's origin.
    Private(Origin),
    /// Page `pg` of a shared object, which held `was` when planned.
    Shared {
        obj: Arc<SharedObj>,
        pg: u64,
        was: Option<PageRef>,
        /// The object's epoch when planned (file contents changed since?).
        epoch: u64,
    },
}

/// What step 1 decided.
struct Plan {
    va: u64,
    source: Source,
    /// This space's page-table entry when planned.
    expect: Option<PageRef>,
    /// The space's epoch when planned.
    epoch: u64,
    target: Target,
}

enum Step {
    Done,
    Fill(Plan),
}

impl VmCore {
    pub(crate) fn handle_fault(&self, va: u64, access: Access) -> Result<(), Fault> {
        match self.fault_one(va, access)? {
            Some((pva, epoch)) => self.fault_around(pva, epoch, access),
            None if access != Access::Write => self.file_around(va),
            None => {}
        }
        Ok(())
    }

    /// Resolves the fault at `va` alone; `Some((page, epoch))` when it
    /// was a demand-zero fill installed in the space at that epoch.
    fn fault_one(&self, va: u64, access: Access) -> Result<Option<(u64, u64)>, Fault> {
        for _ in 0..MAX_ATTEMPTS {
            let step = {
                let mut st = self.lock_state();
                self.plan(&mut st, va, access)?
            };
            let plan = match step {
                Step::Done => return Ok(None),
                Step::Fill(plan) => plan,
            };
            let (frame, zeroed) = match self.mm.alloc_frame() {
                Ok(f) => f,
                Err(_) => {
                    self.mm.unpin_source(&plan.source);
                    return Err(Fault::Oom);
                }
            };
            if let Err(e) = self.mm.fill(frame, &plan.source, zeroed) {
                self.mm.unpin_source(&plan.source);
                self.mm.free_frame(frame);
                return Err(e);
            }
            let installed = {
                let mut st = self.lock_state();
                self.install(&mut st, &plan, frame, access)
            };
            self.mm.unpin_source(&plan.source);
            if installed {
                let c = &self.mm.counters;
                match plan.source {
                    Source::Zero => bump(&c.minor_faults),
                    Source::Copy(_) => {
                        bump(&c.minor_faults);
                        bump(&c.cow_copies);
                    }
                    Source::Swap(_) | Source::File { .. } => bump(&c.major_faults),
                }
                let zero = matches!(plan.target, Target::Private(Origin::Zero));
                return Ok(zero.then_some((plan.va, plan.epoch)));
            }
            self.mm.free_frame(frame);
            // `plan` (which may hold the last reference to a shared object)
            // drops here, with no lock held.
        }
        Err(Fault::Oom)
    }

    /// After a read or execute fault at `va` of a private file mapping
    /// served from the file's page cache (program text, read-only data):
    /// maps the other pages of the aligned [`Layout::fault_around`] block
    /// that are inside the region, cached as they are (the page itself
    /// below the region's `limit`), and not mapped yet — each exactly as
    /// its own read fault would, reading the file where the cache lacks
    /// the page — and makes them young, so a machine mirroring the table
    /// installs them with the faulting one. A program's code is read in
    /// blocks, as Linux's `fault_around_bytes` does, not a VM exit per page.
    ///
    /// [`Layout::fault_around`]: crate::layout::Layout::fault_around
    fn file_around(&self, va: u64) {
        let page = self.page();
        let n = self.layout().fault_around;
        if n <= 1 {
            return;
        }
        let pva = va & !(page - 1);
        let todo: Vec<u64> = {
            let st = self.lock_state();
            let Some((start, vma)) = st.find(pva) else {
                return;
            };
            if vma.file.is_none() || vma.shared.is_some() || vma.cache.is_none() {
                return;
            }
            let block = n * page;
            let lo = (pva & !(block - 1)).max(start);
            let hi = (pva & !(block - 1)).saturating_add(block).min(vma.end);
            (lo..hi)
                .step_by(page as usize)
                .filter(|&p| {
                    let offset = vma.offset + (p - start);
                    p != pva
                        && !st.pages.contains_key(&p)
                        && vma.limit.is_none_or(|l| offset + page <= l)
                })
                .collect()
        };
        for p in todo {
            if self.fault_one(p, Access::Read).is_err() {
                return;
            }
            bump(&self.mm.counters.fault_around);
            let _ = spin_kernel::mem::PageTable::walk(&*self.space, p, Access::Read);
        }
    }

    /// After a demand-zero fault at `va` of an anonymous private region:
    /// maps zero-filled frames at the pages of the aligned
    /// [`Layout::fault_around`] block around it (four times that when the
    /// block below or above is already there, and eight times that again
    /// when such a larger block is) that are inside the region
    /// and have no page yet (never touched, not swapped out), each
    /// installed exactly as its own demand-zero fault would (same checks,
    /// same frame record), as long as the space's epoch is still
    /// `epoch` and free frames exist within the quota (nothing is
    /// reclaimed for them). They are young (accessed), and after a write
    /// fault written too (dirty, as the write likely to follow would), so
    /// a machine mirroring the table installs them at once, writable after
    /// a write fault.
    ///
    /// [`Layout::fault_around`]: crate::layout::Layout::fault_around
    fn fault_around(&self, va: u64, epoch: u64, access: Access) {
        let page = self.page();
        let n = self.layout().fault_around;
        if n <= 1 {
            return;
        }
        let absent: Vec<u64> = {
            let st = self.lock_state();
            let Some((start, vma)) = st.find(va) else {
                return;
            };
            let anon = vma.file.is_none() && vma.shared.is_none() && vma.cache.is_none();
            if !anon || st.epoch != epoch {
                return;
            }
            // Streaming (the block just below or just above is there: a
            // buffer filled upwards, a stack or a top-down walk): a
            // larger block, as readahead widens its window.
            let small = n * page;
            let beside = |size: u64| {
                let below = (va & !(size - 1)).wrapping_sub(page);
                let above = (va & !(size - 1)).saturating_add(size);
                st.pages.contains_key(&below) || st.pages.contains_key(&above)
            };
            // A whole streaming block below or above (its first and last
            // pages there): a long fill.
            let streaming = small * FAULT_AROUND_STREAMING;
            let aligned = va & !(streaming - 1);
            let whole = |b: u64| {
                st.pages.contains_key(&b) && st.pages.contains_key(&(b + streaming - page))
            };
            let long = aligned.checked_sub(streaming).is_some_and(whole)
                || aligned.checked_add(streaming).is_some_and(whole);
            let block = if long {
                streaming * FAULT_AROUND_LONG
            } else if beside(small) {
                streaming
            } else {
                small
            };
            let lo = (va & !(block - 1)).max(start);
            let hi = (va & !(block - 1)).saturating_add(block).min(vma.end);
            (lo..hi)
                .step_by(page as usize)
                .filter(|&p| p != va && !st.pages.contains_key(&p))
                .collect()
        };
        // Only frames free within the quota and above a reserve of RAM:
        // nothing is reclaimed for a page mapped speculatively.
        let phys = &self.mm.kernel().phys;
        let quota_room = phys
            .owners()
            .into_iter()
            .find(|o| o.owner == self.mm.mound())
            .and_then(|o| o.quota.map(|q| q.saturating_sub(o.used)))
            .unwrap_or(u64::MAX);
        let ram_room = phys
            .free_frames()
            .saturating_sub(phys.total_frames() / FAULT_AROUND_RESERVE);
        let room = quota_room.min(ram_room);
        for pva in absent.into_iter().take(room as usize) {
            let Some((frame, zeroed)) = self
                .mm
                .kernel()
                .phys
                .allocate_tracked(self.mm.mound(), FrameAttrs::default())
                .ok()
                .and_then(|f| f.first().map(|(f, fresh)| (f.0, *fresh)))
            else {
                return;
            };
            if self.mm.fill(frame, &Source::Zero, zeroed).is_err() {
                self.mm.free_frame(frame);
                return;
            }
            let plan = Plan {
                va: pva,
                source: Source::Zero,
                expect: None,
                epoch,
                target: Target::Private(Origin::Zero),
            };
            let installed = {
                let mut st = self.lock_state();
                self.install(&mut st, &plan, frame, access)
            };
            if !installed {
                self.mm.free_frame(frame);
                return;
            }
            bump(&self.mm.counters.minor_faults);
            bump(&self.mm.counters.fault_around);
            // Young (as Linux maps fault-around pages on x86), and written
            // after a write fault: a machine installs young pages ahead.
            let walk = if access == Access::Write {
                Access::Write
            } else {
                Access::Read
            };
            let _ = spin_kernel::mem::PageTable::walk(&*self.space, pva, walk);
        }
    }

    fn plan(&self, st: &mut VmState, va: u64, access: Access) -> Result<Step, Fault> {
        let page = self.page();
        let pva = va & !(page - 1);
        if va >= self.layout().user_limit {
            return Err(Fault::MapErr);
        }
        let start = match st.find(pva) {
            Some((start, _)) => start,
            None => st
                .grow_stack(pva, self.mm.layout(), page)
                .ok_or(Fault::MapErr)?,
        };
        if !st.vmas[&start].eff().permits(access) {
            return Err(Fault::AccErr);
        }
        match st.pages.get(&pva).copied() {
            Some(PageRef::Frame(f)) => self.plan_present(st, start, pva, f, access),
            Some(PageRef::Swap(slot)) => {
                // Hold the slot so it survives until the page is read.
                self.mm.lock_swap().add_ref(slot, 1);
                Ok(Step::Fill(Plan {
                    va: pva,
                    source: Source::Swap(slot),
                    expect: Some(PageRef::Swap(slot)),
                    epoch: st.epoch,
                    target: Target::Private(Origin::Anon),
                }))
            }
            None => self.plan_absent(st, start, pva, access),
        }
    }

    /// The page has a frame in this space; the hardware mapping is missing or
    /// lacks the permission.
    fn plan_present(
        &self,
        st: &VmState,
        start: u64,
        va: u64,
        f: u64,
        access: Access,
    ) -> Result<Step, Fault> {
        let vma = &st.vmas[&start];
        let hw = self.space.examine(va);
        if hw.is_some_and(|m| m.frame.0 == f && m.prot.permits(access)) {
            // Another CPU resolved it first.
            return Ok(Step::Done);
        }
        let mut ft = self.mm.lock_frames();
        if vma.shared.is_some() || access != Access::Write {
            let prot = self.hw_prot(&ft, vma, f);
            self.remap(&mut ft, va, f, prot, hw);
            bump(&self.mm.counters.minor_faults);
            return Ok(Step::Done);
        }
        let reuse = match ft.frames.get(&f) {
            // A page-cache frame is never written through a private mapping.
            Some(info) => info.rmap.len() == 1 && info.pins == 0 && info.shared.is_none(),
            None => {
                debug_assert!(
                    false,
                    "page {va:#x} names frame {f:#x} missing from the frame table"
                );
                return Err(Fault::Oom);
            }
        };
        if reuse {
            // Copy-on-write, but nobody else maps it any more: just write-enable.
            self.remap(&mut ft, va, f, vma.eff(), hw);
            bump(&self.mm.counters.cow_reuses);
            bump(&self.mm.counters.minor_faults);
            return Ok(Step::Done);
        }
        let Some(info) = ft.frames.get_mut(&f) else {
            return Err(Fault::Oom);
        };
        info.pins += 1;
        Ok(Step::Fill(Plan {
            va,
            source: Source::Copy(f),
            expect: Some(PageRef::Frame(f)),
            epoch: st.epoch,
            target: Target::Private(Origin::Anon),
        }))
    }

    /// Gives page `va` (frame `f`) the hardware protection `prot`, keeping the
    /// mapping's accessed/dirty bits when it already maps `f` (else folding the
    /// old mapping's dirty bit into the frame's record).
    fn remap(
        &self,
        ft: &mut crate::frames::FrameTable,
        va: u64,
        f: u64,
        prot: Prot,
        hw: Option<Mapping>,
    ) {
        match hw {
            Some(m) if m.frame.0 == f => {
                let _ = self.space.protect(va, prot);
            }
            _ => {
                if let (Some(m), Some(info)) = (hw, ft.frames.get_mut(&f)) {
                    info.dirty |= m.dirty;
                }
                self.map_hw(va, f, prot);
            }
        }
    }

    /// The page has never been touched in this space (or was dropped).
    fn plan_absent(
        &self,
        st: &mut VmState,
        start: u64,
        va: u64,
        access: Access,
    ) -> Result<Step, Fault> {
        let vma = &st.vmas[&start];
        let offset = vma.offset + (va - start);
        let page = self.page();
        // MAP_SHARED pages, and private file pages that can be the file's
        // cached page as is (not the one an ELF segment's .bss starts in).
        let cached = match (&vma.shared, &vma.cache) {
            (Some(obj), _) => Some((obj.clone(), true)),
            (None, Some(obj)) if vma.limit.is_none_or(|l| offset + page <= l) => {
                Some((obj.clone(), false))
            }
            _ => None,
        };
        if let Some((obj, shared)) = cached {
            let prot = if shared {
                vma.eff()
            } else {
                vma.eff().without(Prot::WRITE)
            };
            let write_private = !shared && access == Access::Write;
            let pg = offset / page;
            let (source, target) = {
                let pages = obj.pages();
                let epoch = obj.epoch();
                match pages.get(&pg).copied() {
                    Some(PageRef::Frame(f)) => {
                        let mut ft = self.mm.lock_frames();
                        let Some(info) = ft.frames.get_mut(&f) else {
                            debug_assert!(false, "shared page names a missing frame {f:#x}");
                            return Err(Fault::Oom);
                        };
                        if write_private {
                            // Copy the cached page into a private one.
                            info.pins += 1;
                            (Source::Copy(f), Target::Private(Origin::Anon))
                        } else {
                            // Cached: map the object's frame, no allocation.
                            info.rmap.push(self.id, va);
                            self.map_hw(va, f, prot);
                            st.pages.insert(va, PageRef::Frame(f));
                            st.resident += 1;
                            bump(&self.mm.counters.minor_faults);
                            return Ok(Step::Done);
                        }
                    }
                    Some(PageRef::Swap(slot)) => {
                        self.mm.lock_swap().add_ref(slot, 1);
                        let target = Target::Shared {
                            obj: obj.clone(),
                            pg,
                            was: Some(PageRef::Swap(slot)),
                            epoch,
                        };
                        (Source::Swap(slot), target)
                    }
                    None => {
                        let source = match &obj.file {
                            Some(file) => self.file_source(file, offset, None)?,
                            None => Source::Zero,
                        };
                        let target = if write_private {
                            // Nothing cached: the file is current; read it
                            // straight into the private page.
                            Target::Private(Origin::File)
                        } else {
                            Target::Shared {
                                obj: obj.clone(),
                                pg,
                                was: None,
                                epoch,
                            }
                        };
                        (source, target)
                    }
                }
            };
            return Ok(Step::Fill(Plan {
                va,
                source,
                expect: None,
                epoch: st.epoch,
                target,
            }));
        }
        let (source, origin) = match &vma.file {
            Some(file) => (self.file_source(file, offset, vma.limit)?, Origin::File),
            None => (Source::Zero, Origin::Zero),
        };
        Ok(Step::Fill(Plan {
            va,
            source,
            expect: None,
            epoch: st.epoch,
            target: Target::Private(origin),
        }))
    }

    /// The file bytes of the page at `offset`: `SIGBUS` wholly beyond the end
    /// of the file (unless a `limit` says the rest is zeros anyway).
    fn file_source(
        &self,
        file: &Arc<dyn PageBacking>,
        offset: u64,
        limit: Option<u64>,
    ) -> Result<Source, Fault> {
        let size = file.size();
        if offset >= size && limit.is_none() {
            return Err(Fault::Bus);
        }
        let mut end = offset.saturating_add(self.page()).min(size);
        if let Some(limit) = limit {
            end = end.min(limit);
        }
        Ok(Source::File {
            file: file.clone(),
            offset,
            valid: end.saturating_sub(offset) as usize,
        })
    }

    /// Step 3: puts the filled `frame` in place if the page is still as planned.
    fn install(&self, st: &mut VmState, plan: &Plan, frame: u64, access: Access) -> bool {
        let va = plan.va;
        let Some((_, vma)) = st.find(va) else {
            return false;
        };
        let prot = vma.eff();
        if !prot.permits(access)
            || st.epoch != plan.epoch
            || st.pages.get(&va).copied() != plan.expect
        {
            return false;
        }
        match &plan.target {
            Target::Private(origin) => {
                if vma.shared.is_some() {
                    return false;
                }
                let mut ft = self.mm.lock_frames();
                match plan.expect {
                    Some(PageRef::Frame(old)) => {
                        // The old frame stays with the other spaces sharing it:
                        // carry over what our mapping knew about its writes.
                        let dirty = self
                            .space
                            .examine(va)
                            .is_some_and(|m| m.dirty && m.frame.0 == old);
                        if let Some(info) = ft.frames.get_mut(&old) {
                            info.rmap.remove(self.id, va);
                            info.dirty |= dirty;
                        }
                        // Freed when the plan's pin goes, if it was the last.
                    }
                    Some(PageRef::Swap(slot)) => {
                        self.mm.lock_swap().release(slot);
                        st.resident += 1;
                    }
                    None => st.resident += 1,
                }
                ft.frames
                    .insert(frame, FrameInfo::new(self.id, va, *origin));
                st.pages.insert(va, PageRef::Frame(frame));
                self.map_hw(va, frame, prot);
            }
            Target::Shared {
                obj,
                pg,
                was,
                epoch,
            } => {
                let Some(vobj) = vma.shared.as_ref().or(vma.cache.as_ref()) else {
                    return false;
                };
                if !Arc::ptr_eq(vobj, obj) {
                    return false;
                }
                // A private mapping maps the cached page read-only.
                let prot = if vma.shared.is_some() {
                    prot
                } else {
                    prot.without(Prot::WRITE)
                };
                let mut pages = obj.pages();
                if pages.get(pg).copied() != *was || obj.epoch() != *epoch {
                    return false;
                }
                let mut ft = self.mm.lock_frames();
                let origin = match (&obj.file, was) {
                    (Some(_), _) => Origin::File,
                    (None, Some(PageRef::Swap(slot))) => {
                        self.mm.lock_swap().release(*slot);
                        Origin::Anon
                    }
                    (None, _) => Origin::Zero,
                };
                let mut info = FrameInfo::new(self.id, va, origin);
                info.shared = Some((Arc::downgrade(obj), *pg));
                ft.frames.insert(frame, info);
                pages.insert(*pg, PageRef::Frame(frame));
                st.pages.insert(va, PageRef::Frame(frame));
                st.resident += 1;
                self.map_hw(va, frame, prot);
            }
        }
        true
    }
}
