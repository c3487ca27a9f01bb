//! Reclaim: the clock's victim is evicted — unmapped from every space that
//! maps it, its contents dropped (clean file or zero pages), written back
//! (dirty shared file pages) or swapped out (everything else) — and handed to
//! the kernel through `PhysAddr.Reclaim`.

use std::io;
use std::sync::{Arc, MutexGuard};

use spin_kernel::{PhysAddr, Prot};
use vm_memory::{Bytes, GuestAddress};

use crate::frames::{Origin, PageRef, VmId};
use crate::manager::{Evict, MemoryManager};
use crate::scratch::with_page;
use crate::shared::SharedObj;
use crate::stats::bump;
use crate::swap::{write_slot, Slot};
use crate::vm::{VmCore, VmState};

/// Victims tried per `Reclaim` before refusing.
const RECLAIM_TRIES: usize = 16;

impl MemoryManager {
    /// The `PhysAddr.Reclaim` handler: evicts one frame chosen by the clock and
    /// volunteers it (already unmapped everywhere and forgotten).
    pub(crate) fn reclaim(&self) -> Option<PhysAddr> {
        // HOOK (spin-dbpager): files with their own pager volunteer first.
        if let Some(f) = self.volunteer_file_page() {
            bump(&self.counters.reclaimed);
            return Some(PhysAddr(f));
        }
        for _ in 0..RECLAIM_TRIES {
            let victim = self.lock_frames().pick_victim()?;
            if let Some(f) = self.evict(victim, Evict::Reclaim) {
                bump(&self.counters.reclaimed);
                return Some(PhysAddr(f));
            }
        }
        None
    }

    /// Evicts frame `f`: unmaps it from every space, preserves its contents as
    /// `how` says, removes it from the frame table. With [`Evict::Reclaim`] the
    /// frame is returned for the kernel to free; with [`Evict::Discard`] it is
    /// freed here. `None` if it is pinned, changed under us, or its contents
    /// could not be saved.
    pub(crate) fn evict(&self, f: u64, how: Evict) -> Option<u64> {
        let mut cores: Vec<Arc<VmCore>> = Vec::new();
        let mut obj: Option<(Arc<SharedObj>, u64)> = None;
        let complete = {
            let mut ft = self.lock_frames();
            let (ids, shared) = {
                let info = ft.frames.get_mut(&f)?;
                if info.pins > 0 {
                    return None;
                }
                info.pins += 1;
                (info.rmap.vm_ids(), info.shared.clone())
            };
            let mut complete = true;
            for id in ids {
                match ft.spaces.get(&id).and_then(|s| s.vm.upgrade()) {
                    Some(core) => cores.push(core),
                    None => complete = false,
                }
            }
            if let Some((weak, pg)) = shared {
                match weak.upgrade() {
                    Some(o) => obj = Some((o, pg)),
                    None => complete = false,
                }
            }
            complete
        };
        let done = if complete {
            self.evict_locked(f, how, &cores, obj.as_ref())
        } else {
            false
        };
        if !done {
            self.unpin(f);
        } else if how == Evict::Discard {
            self.free_frame(f);
        }
        if let (true, Some((o, pg))) = (done, obj.as_ref()) {
            // HOOK (spin-dbpager): the file's pager hears its page went.
            self.file_page_dropped(o, *pg);
        }
        // Possibly the last references: dropped with no lock held.
        drop(obj);
        drop(cores);
        done.then_some(f)
    }

    fn evict_locked(
        &self,
        f: u64,
        how: Evict,
        cores: &[Arc<VmCore>],
        obj: Option<&(Arc<SharedObj>, u64)>,
    ) -> bool {
        let mut states: Vec<MutexGuard<'_, VmState>> =
            cores.iter().map(|c| c.lock_state()).collect();
        let mut obj_pages = obj.map(|(o, _)| o.pages());
        let pg = obj.map_or(0, |(_, pg)| *pg);
        let ft = self.lock_frames();
        let Some(info) = ft.frames.get(&f) else {
            return false;
        };
        if info.pins != 1 {
            // Someone besides us holds it (a copy-on-write copy in progress).
            return false;
        }
        // Everything that maps it is locked now; check nothing moved between
        // the snapshot and the locks.
        let rmap: Vec<(VmId, u64)> = info.rmap.as_slice().to_vec();
        if info.rmap.vm_ids() != cores.iter().map(|c| c.id).collect::<Vec<_>>() {
            return false;
        }
        let state_of = |vm: VmId| cores.iter().position(|c| c.id == vm);
        for (vm, va) in &rmap {
            let Some(i) = state_of(*vm) else { return false };
            if states[i].pages.get(va) != Some(&PageRef::Frame(f)) {
                return false;
            }
        }
        if let Some(pages) = &obj_pages {
            if pages.get(&pg) != Some(&PageRef::Frame(f)) {
                return false;
            }
        }
        let origin = info.origin;
        let mut dirty = info.dirty;
        let mut unmapped: Vec<(VmId, u64, Prot)> = Vec::with_capacity(rmap.len());
        for (vm, va) in &rmap {
            if let Some(m) = ft.space(*vm).and_then(|s| s.unmap(*va)) {
                dirty |= m.dirty;
                unmapped.push((*vm, *va, m.prot));
            }
        }
        drop(ft);
        // Nothing can reach the frame now: do the I/O without the frame table.
        let file = obj.and_then(|(o, _)| o.file.as_ref());
        let saved: Result<Option<Slot>, ()> = match how {
            Evict::Discard => Ok(None),
            Evict::Reclaim => match file {
                Some(file) if dirty => {
                    if self.write_page_to_file(&**file, pg, f) {
                        Ok(None)
                    } else {
                        Err(())
                    }
                }
                _ if !dirty && origin != Origin::Anon => {
                    bump(&self.counters.dropped_clean);
                    Ok(None)
                }
                _ => {
                    let refs = if obj.is_some() { 1 } else { rmap.len() as u32 };
                    self.swap_out(f, refs).map(Some).map_err(|_| ())
                }
            },
        };
        let Ok(slot) = saved else {
            // Could not save it: put it back as it was.
            let ft = self.lock_frames();
            for (vm, va, prot) in unmapped {
                if let Some(space) = ft.space(vm) {
                    let _ = space.map(va, PhysAddr(f), prot);
                }
            }
            drop(ft);
            if let Some(info) = self.lock_frames().frames.get_mut(&f) {
                info.dirty |= dirty;
            }
            return false;
        };
        let replacement = slot.map(PageRef::Swap);
        for (vm, va) in &rmap {
            let Some(i) = state_of(*vm) else { continue };
            let st = &mut states[i];
            match replacement.filter(|_| obj.is_none()) {
                Some(r) => st.pages.insert(*va, r),
                None => st.pages.remove(va),
            };
            st.resident -= 1;
        }
        if let Some(pages) = obj_pages.as_mut() {
            match replacement {
                Some(r) => pages.insert(pg, r),
                None => pages.remove(&pg),
            };
        }
        self.lock_frames().frames.remove(&f);
        true
    }

    /// Copies frame `f` into a new swap slot holding `refs` references.
    fn swap_out(&self, f: u64, refs: u32) -> io::Result<Slot> {
        let (slot, file, offset) = {
            let mut sw = self.lock_swap();
            let (slot, file) = sw.alloc(refs)?;
            (slot, file, sw.offset(slot))
        };
        let written = with_page(self.page_size() as usize, |buf| {
            self.ram()
                .read_slice(buf, GuestAddress(f))
                .map_err(|e| io::Error::other(e.to_string()))?;
            write_slot(&file, offset, buf)
        });
        match written {
            Ok(()) => {
                bump(&self.counters.swapped_out);
                Ok(slot)
            }
            Err(e) => {
                let mut sw = self.lock_swap();
                for _ in 0..refs {
                    sw.release(slot);
                }
                Err(e)
            }
        }
    }
}
