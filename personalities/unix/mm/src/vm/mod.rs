//! One process address space ([`Vm`]): its regions, its software page table
//! and the kernel context the CPU runs in.

mod copy;
mod fault;
mod ops;
mod vma;

use std::sync::{Arc, Mutex, MutexGuard};

use spin_fs::SysResult;
use spin_kernel::mem::AddressSpace;
use spin_kernel::{Access, Cap, Prot};

use crate::frames::{FrameTable, PageRef, SpaceRef, VmId};
use crate::layout::Layout;
use crate::manager::MemoryManager;
use crate::types::{Fault, RegionInfo};
pub(crate) use vma::{VmState, Vma};

/// A process address space. `Send + Sync`: every method takes `&self` and
/// locks inside. Dropping it unmaps everything, frees what only it held and
/// destroys its kernel context.
pub struct Vm {
    core: Arc<VmCore>,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("id", &self.core.id)
            .field("resident", &self.resident())
            .finish()
    }
}

/// The shared part of a [`Vm`], reachable from the frame table (weakly) so
/// eviction can lock it.
pub(crate) struct VmCore {
    /// Id inside the memory manager (lock order among Vms: ascending id).
    pub id: VmId,
    pub mm: Arc<MemoryManager>,
    pub space: Cap<AddressSpace>,
    state: Mutex<VmState>,
}

impl VmCore {
    fn new(mm: &Arc<MemoryManager>) -> Arc<VmCore> {
        let space = mm.kernel().translation.create(mm.mound());
        let id = mm.next_vm_id();
        let core = Arc::new(VmCore {
            id,
            mm: mm.clone(),
            space: space.clone(),
            state: Mutex::new(VmState::default()),
        });
        mm.lock_frames().spaces.insert(
            id,
            SpaceRef {
                space,
                vm: Arc::downgrade(&core),
            },
        );
        core
    }

    /// Locks the regions and page table (lock order: first).
    pub fn lock_state(&self) -> MutexGuard<'_, VmState> {
        // Each operation leaves the state consistent between its single-entry
        // updates; after a panic the worst case is a leaked frame.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn page(&self) -> u64 {
        self.mm.page_size()
    }

    fn layout(&self) -> &Layout {
        self.mm.layout()
    }

    /// The hardware protection for page `f` of region `vma`: in a private
    /// region, a frame still shared with another space, or the file's cached
    /// page, stays read-only until a write copies it.
    fn hw_prot(&self, ft: &FrameTable, vma: &Vma, f: u64) -> Prot {
        let eff = vma.eff();
        let copy_on_write = ft
            .frames
            .get(&f)
            .is_some_and(|i| i.rmap.len() > 1 || i.shared.is_some());
        if vma.shared.is_none() && copy_on_write {
            eff.without(Prot::WRITE)
        } else {
            eff
        }
    }

    /// Maps a page in the kernel context. The frame came from guest RAM and
    /// `va` is page aligned, so the kernel cannot refuse it.
    fn map_hw(&self, va: u64, f: u64, prot: Prot) {
        let mapped = self.space.map(va, spin_kernel::PhysAddr(f), prot);
        debug_assert!(mapped.is_ok(), "mapping {va:#x} → {f:#x}: {mapped:?}");
    }

    /// Unmaps and releases every page in `[start, end)` (regions untouched).
    fn clear_pages(&self, st: &mut VmState, start: u64, end: u64) {
        if start >= end {
            return;
        }
        st.epoch += 1;
        let mut range = st.pages.split_off(&start);
        let mut after = range.split_off(&end);
        st.pages.append(&mut after);
        if range.is_empty() {
            return;
        }
        let mut ft = self.mm.lock_frames();
        for (va, page) in range {
            let mut dirty = false;
            if let PageRef::Frame(_) = page {
                dirty = self.space.unmap(va).is_some_and(|m| m.dirty);
                st.resident -= 1;
            }
            self.mm.release_page(&mut ft, self.id, va, page, dirty);
        }
    }

    /// Removes regions and pages in `[start, end)`.
    fn unmap_range(&self, st: &mut VmState, start: u64, end: u64) {
        let removed = st.remove_vmas(start, end);
        self.clear_pages(st, start, end);
        // Dropping a region may drop the last reference to a shared object,
        // whose teardown takes the registry and frame locks: allowed under a
        // Vm lock, and the pages are released by now.
        drop(removed);
    }
}

impl Drop for VmCore {
    fn drop(&mut self) {
        let st = std::mem::take(self.state.get_mut().unwrap_or_else(|e| e.into_inner()));
        let VmState { vmas, pages, .. } = st;
        let gone = self.mm.kernel().translation.destroy(self.space.clone());
        {
            let mut ft = self.mm.lock_frames();
            ft.spaces.remove(&self.id);
            for (va, page) in pages {
                let dirty = gone
                    .binary_search_by_key(&va, |m| m.va)
                    .is_ok_and(|i| gone[i].dirty);
                self.mm.release_page(&mut ft, self.id, va, page, dirty);
            }
        }
        // After the frame table lock: may finalize shared objects.
        drop(vmas);
    }
}

impl Vm {
    /// A new, empty address space of the manager's mound.
    pub fn new(mm: &Arc<MemoryManager>) -> SysResult<Vm> {
        Ok(Vm {
            core: VmCore::new(mm),
        })
    }

    /// The kernel context the CPU runs this process in.
    pub fn space(&self) -> &Cap<AddressSpace> {
        &self.core.space
    }

    /// The memory manager this space belongs to.
    pub fn manager(&self) -> &Arc<MemoryManager> {
        &self.core.mm
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u64 {
        self.core.page()
    }

    /// The address-space layout.
    pub fn layout(&self) -> &Layout {
        self.core.layout()
    }

    /// Resolves a fault at `va`: demand zero, file page-in, swap-in,
    /// copy-on-write break or stack growth. The error says which signal the
    /// caller sends (see [`Fault`]).
    pub fn handle_fault(&self, va: u64, access: Access) -> Result<(), Fault> {
        self.core.handle_fault(va, access)?;
        // HOOK (spin-dbpager): the file's pager, if any, hears of the fault.
        self.core.mm.after_fault(&self.core, va, access);
        Ok(())
    }

    /// A copy-on-write child: private pages are shared read-only (each frame's
    /// reverse map grows, and the first write on either side copies), swapped
    /// pages share their slot, `MAP_SHARED` pages stay shared for real.
    pub fn fork(&self) -> SysResult<Vm> {
        let parent = &self.core;
        let child = VmCore::new(&parent.mm);
        {
            let pst = parent.lock_state();
            // The child is the newest Vm: its id is the highest, so locking it
            // second keeps the ascending order.
            let mut cst = child.lock_state();
            cst.vmas = pst.vmas.clone();
            cst.brk_base = pst.brk_base;
            cst.brk = pst.brk;
            for (&start, vma) in &pst.vmas {
                if vma.shared.is_none() && vma.eff().contains(Prot::WRITE) {
                    parent.space.protect_range(
                        start,
                        vma.end - start,
                        vma.eff().without(Prot::WRITE),
                    );
                }
            }
            let mut ft = parent.mm.lock_frames();
            let mut slots = Vec::new();
            for (&va, &page) in &pst.pages {
                let Some((_, vma)) = pst.find(va) else {
                    continue;
                };
                match page {
                    PageRef::Frame(f) => {
                        let parent_dirty = parent.space.examine(va).is_some_and(|m| m.dirty);
                        let Some(info) = ft.frames.get_mut(&f) else {
                            continue;
                        };
                        info.rmap.push(child.id, va);
                        // The child's mapping starts clean: remember that the
                        // contents differ from their origin.
                        info.dirty |= parent_dirty;
                        let prot = if vma.shared.is_some() {
                            vma.eff()
                        } else {
                            vma.eff().without(Prot::WRITE)
                        };
                        child.map_hw(va, f, prot);
                        cst.resident += 1;
                    }
                    PageRef::Swap(slot) => slots.push(slot),
                }
                cst.pages.insert(va, page);
            }
            if !slots.is_empty() {
                let mut sw = parent.mm.lock_swap();
                for slot in slots {
                    sw.add_ref(slot, 1);
                }
            }
        }
        Ok(Vm { core: child })
    }

    /// The regions, in address order (for `/proc/self/maps`).
    pub fn regions(&self) -> Vec<RegionInfo> {
        let st = self.core.lock_state();
        st.vmas
            .iter()
            .map(|(&start, v)| RegionInfo {
                start,
                end: v.end,
                prot: v.prot,
                shared: v.shared.is_some(),
                kind: v.kind,
                file_id: v.file.as_ref().map(|f| f.id()),
                offset: if v.file.is_some() { v.offset } else { 0 },
                resident_pages: st
                    .pages
                    .range(start..v.end)
                    .filter(|(_, p)| matches!(p, PageRef::Frame(_)))
                    .count() as u64,
            })
            .collect()
    }

    /// Pages of this space resident in frames.
    pub fn resident(&self) -> u64 {
        self.core.lock_state().resident
    }

    /// Sets the start of the `brk` heap (rounded up to a page) and the break
    /// to it. The ELF loader calls this; `brk` below it is refused.
    pub fn set_brk_base(&self, base: u64) {
        let page = self.core.page();
        let base = base.saturating_add(page - 1) & !(page - 1);
        let mut st = self.core.lock_state();
        st.brk_base = base;
        st.brk = base;
    }

    /// Where the heap starts.
    pub fn brk_base(&self) -> u64 {
        self.core.lock_state().brk_base
    }
}
