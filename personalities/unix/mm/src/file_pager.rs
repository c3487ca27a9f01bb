//! HOOK for spin-dbpager: an extension's pager for one file's `MAP_SHARED`
//! pages.
//!
//! SPIN lets an application bring its own pager. A [`FilePager`] set on a
//! file ([`MemoryManager::set_file_pager`]) takes over the *policy* for that
//! file's pages in this mound's page cache; the memory manager keeps the
//! mechanics (page-in, write-back, unmapping, the frame table):
//!
//! * every fault resolved on the file's shared mappings is reported
//!   ([`FilePager::faulted`]) — a page-in, a mapping of the cached page, or
//!   a protection the pager lowered ([`MemoryManager::protect_file_page`],
//!   for simulated reference bits) given back — and the pager answers with
//!   the pages to evict ([`MemoryManager::evict_file_page`]: written back if
//!   dirty, unmapped from every space, frame freed);
//! * `PhysAddr.Reclaim` asks the pagers first ([`FilePager::volunteer`]);
//!   only if none gives a page does the memory manager's own clock run;
//! * a page that loses its frame any other way (the clock, truncation) is
//!   reported ([`FilePager::dropped`]).
//!
//! Pages a user copy (`read(2)` into the mapping) faults in are not
//! reported: they stay in the cache until the pager or the clock evicts
//! them.
//!
//! Calls into a pager are made with none of this crate's locks held; a
//! pager must not hold its own lock while calling the memory manager.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};

use spin_kernel::mem::AddressSpace;
use spin_kernel::{Access, Cap, Prot};

use crate::frames::PageRef;
use crate::manager::{Evict, MemoryManager};
use crate::shared::SharedObj;
use crate::vm::VmCore;

/// An extension's pager for one file (see the module docs).
pub trait FilePager: Send + Sync {
    /// A fault on page `pg` of the file was resolved (`write`: a write
    /// access). Returns pages of the file to evict now.
    fn faulted(&self, pg: u64, write: bool) -> Vec<u64>;
    /// Page `pg` lost its frame without the pager asking.
    fn dropped(&self, pg: u64);
    /// `PhysAddr.Reclaim` for the mound: a page of the file to give up.
    fn volunteer(&self) -> Option<u64>;
}

/// Where an address maps a file shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMapping {
    /// The file ([`spin_fs::PageBacking::id`]).
    pub file_id: u64,
    /// The region's first address.
    pub start: u64,
    /// The first address past the region.
    pub end: u64,
    /// The file page mapped at `start`.
    pub first_page: u64,
    /// The file's size in bytes now.
    pub file_size: u64,
}

/// One file with a pager. The object is held weakly: it still goes (and
/// writes its dirty pages back) when the last region mapping it does — a
/// strong reference would also make a cycle through the object's own
/// reference to the manager.
struct Paged {
    obj: Weak<SharedObj>,
    file_id: u64,
    pager: Arc<dyn FilePager>,
}

/// The pagers set on this mound's files.
#[derive(Default)]
pub(crate) struct FilePagers {
    any: AtomicBool,
    list: RwLock<Vec<Paged>>,
}

impl FilePagers {
    /// The pager of object `obj` (compared by address: the weak reference
    /// keeps the address from being reused while the entry exists).
    fn find(&self, obj: *const SharedObj) -> Option<(Arc<SharedObj>, Arc<dyn FilePager>)> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .find(|p| Weak::as_ptr(&p.obj) == obj)
            .and_then(|p| Some((p.obj.upgrade()?, p.pager.clone())))
    }

    fn find_file(&self, file_id: u64) -> Option<Arc<SharedObj>> {
        let list = self.list.read().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .filter(|p| p.file_id == file_id)
            .find_map(|p| p.obj.upgrade())
    }
}

impl MemoryManager {
    /// The file `space` maps shared at `va`, if any.
    pub fn file_mapping(&self, space: &Cap<AddressSpace>, va: u64) -> Option<FileMapping> {
        let core = self.core_of(space)?;
        let page = self.page_size();
        let found = {
            let st = core.lock_state();
            st.find(va).and_then(|(start, vma)| {
                let obj = vma.shared.as_ref()?;
                let file = obj.file.as_ref()?;
                Some(FileMapping {
                    file_id: obj.id,
                    start,
                    end: vma.end,
                    first_page: vma.offset / page,
                    file_size: file.size(),
                })
            })
        };
        drop(core);
        found
    }

    /// Whether file `file_id` still has a pager here: set, and the file
    /// still mapped shared somewhere (a pager goes with the last mapping).
    pub fn has_file_pager(&self, file_id: u64) -> bool {
        self.file_pagers.find_file(file_id).is_some()
    }

    /// Sets (or with `None` removes) the pager of file `file_id`, which
    /// must be mapped shared in this mound now; false if it is not. The
    /// pager stays until removed or until the last shared mapping of the
    /// file goes (then the file's pages are written back and freed as
    /// usual, without telling the pager).
    pub fn set_file_pager(&self, file_id: u64, pager: Option<Arc<dyn FilePager>>) -> bool {
        // Taken before the list lock (lock order: the list is outermost).
        let obj = self.object(file_id).filter(|o| o.file.is_some());
        let ok = {
            let mut list = self
                .file_pagers
                .list
                .write()
                .unwrap_or_else(|e| e.into_inner());
            list.retain(|p| p.file_id != file_id && p.obj.strong_count() > 0);
            let ok = match (pager, obj.as_ref()) {
                (Some(pager), Some(o)) => {
                    list.push(Paged {
                        obj: Arc::downgrade(o),
                        file_id,
                        pager,
                    });
                    true
                }
                (Some(_), None) => false,
                (None, _) => true,
            };
            self.file_pagers
                .any
                .store(!list.is_empty(), Ordering::Release);
            ok
        };
        // Possibly the object's last reference: dropped with no lock held.
        drop(obj);
        ok
    }

    /// Evicts page `pg` of file `file_id` (which has a pager): written back
    /// if dirty, unmapped from every space, its frame freed. False if it
    /// has no frame or is busy (a fault or write-back in flight).
    pub fn evict_file_page(&self, file_id: u64, pg: u64) -> bool {
        let Some(obj) = self.file_pagers.find_file(file_id) else {
            return false;
        };
        let f = self.frame_of(&obj, pg);
        drop(obj);
        match f.and_then(|f| self.evict(f, Evict::Reclaim)) {
            Some(f) => {
                self.free_frame(f);
                true
            }
            None => false,
        }
    }

    /// Lowers every mapping of page `pg` of file `file_id` (which has a
    /// pager) to `prot`, so that the next access faults and is reported to
    /// the pager; returns how many mappings changed. The fault gives the
    /// region's protection back.
    pub fn protect_file_page(&self, file_id: u64, pg: u64, prot: Prot) -> usize {
        let Some(obj) = self.file_pagers.find_file(file_id) else {
            return 0;
        };
        let mut n = 0;
        {
            let pages = obj.pages();
            if let Some(PageRef::Frame(f)) = pages.get(&pg).copied() {
                let ft = self.lock_frames();
                if let Some(info) = ft.frames.get(&f) {
                    for (vm, va) in info.rmap.as_slice() {
                        let Some(space) = ft.space(*vm) else { continue };
                        let lower = space
                            .examine(*va)
                            .is_some_and(|m| m.frame.0 == f && m.prot != prot);
                        if lower && space.protect(*va, prot).is_ok() {
                            n += 1;
                        }
                    }
                }
            }
        }
        drop(obj);
        n
    }

    /// Whether page `pg` of file `file_id` (which has a pager) has a frame.
    pub fn file_page_resident(&self, file_id: u64, pg: u64) -> bool {
        let Some(obj) = self.file_pagers.find_file(file_id) else {
            return false;
        };
        let r = self.frame_of(&obj, pg).is_some();
        drop(obj);
        r
    }

    /// After a fault at `va` of `core` was resolved: tells the file's pager
    /// and evicts what it names.
    pub(crate) fn after_fault(&self, core: &VmCore, va: u64, access: Access) {
        if !self.file_pagers.any.load(Ordering::Acquire) {
            return;
        }
        let page = self.page_size();
        let hit = {
            let st = core.lock_state();
            st.find(va).and_then(|(start, vma)| {
                let obj = vma.shared.as_ref()?;
                let pg = (vma.offset + (va & !(page - 1)) - start) / page;
                Some((Arc::as_ptr(obj), pg))
            })
        };
        let Some((ptr, pg)) = hit else { return };
        let Some((obj, pager)) = self.file_pagers.find(ptr) else {
            return;
        };
        let victims = pager.faulted(pg, access == Access::Write);
        for v in victims {
            if let Some(f) = self.frame_of(&obj, v) {
                if let Some(f) = self.evict(f, Evict::Reclaim) {
                    self.free_frame(f);
                }
            }
        }
        drop(obj);
    }

    /// `PhysAddr.Reclaim`: a frame the pagers volunteer, evicted.
    pub(crate) fn volunteer_file_page(&self) -> Option<u64> {
        if !self.file_pagers.any.load(Ordering::Acquire) {
            return None;
        }
        let pagers: Vec<(Arc<SharedObj>, Arc<dyn FilePager>)> = {
            let list = self
                .file_pagers
                .list
                .read()
                .unwrap_or_else(|e| e.into_inner());
            list.iter()
                .filter_map(|p| Some((p.obj.upgrade()?, p.pager.clone())))
                .collect()
        };
        let mut got = None;
        'pagers: for (obj, pager) in &pagers {
            // A volunteered page can be busy; try a few.
            for _ in 0..4 {
                let Some(pg) = pager.volunteer() else { break };
                if let Some(f) = self
                    .frame_of(obj, pg)
                    .and_then(|f| self.evict(f, Evict::Reclaim))
                {
                    got = Some(f);
                    break 'pagers;
                }
            }
        }
        drop(pagers);
        got
    }

    /// After page `pg` of `obj` lost its frame: tells its pager, if any.
    pub(crate) fn file_page_dropped(&self, obj: &Arc<SharedObj>, pg: u64) {
        if !self.file_pagers.any.load(Ordering::Acquire) {
            return;
        }
        if let Some((o, pager)) = self.file_pagers.find(Arc::as_ptr(obj)) {
            pager.dropped(pg);
            drop(o);
        }
    }

    fn frame_of(&self, obj: &SharedObj, pg: u64) -> Option<u64> {
        match obj.pages().get(&pg).copied() {
            Some(PageRef::Frame(f)) => Some(f),
            _ => None,
        }
    }

    fn core_of(&self, space: &Cap<AddressSpace>) -> Option<Arc<VmCore>> {
        self.lock_frames()
            .spaces
            .values()
            .find(|s| Cap::same(&s.space, space))
            .and_then(|s| s.vm.upgrade())
    }
}
