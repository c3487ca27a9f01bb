//! The per-mound memory manager: frames, swap, shared objects and reclaim.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use spin_fs::PageBacking;
use spin_kernel::event::{EventError, Guard, Handler, HandlerId, Principal};
use spin_kernel::mem::{AddressSpace, FaultArgs, FrameAttrs, PhysError, ReclaimArgs};
use spin_kernel::{Access, Cap, GuestRam, Kernel, MoundId, PhysAddr};
use vm_memory::{Bytes, GuestAddress};

use crate::frames::{FrameTable, PageRef, VmId};
use crate::layout::Layout;
use crate::scratch::with_page;
use crate::shared::SharedObj;
use crate::stats::{bump, Counters, MmStats};
use crate::swap::{read_slot, Slot, SwapStore};
use crate::types::Fault;

/// Largest swap store, in pages (8 GiB of 8 KiB pages).
const MAX_SWAP_SLOTS: u32 = 1 << 20;
/// Allocation rounds (each with its own reclaim) before a fault is out of memory.
const ALLOC_ATTEMPTS: usize = 8;

/// Where the contents of a frame being filled come from.
pub(crate) enum Source {
    /// Zeros.
    Zero,
    /// A copy of another frame (pinned until the fill is done).
    Copy(u64),
    /// A swap slot (a reference is held until the fill is done).
    Swap(Slot),
    /// `valid` bytes of `file` at `offset`, zeros after them.
    File {
        file: Arc<dyn PageBacking>,
        offset: u64,
        valid: usize,
    },
}

/// What eviction does with a victim's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evict {
    /// Preserve them (swap, write-back) and hand the frame to the kernel.
    Reclaim,
    /// Throw them away and free the frame (file truncated under the page).
    Discard,
}

/// The UNIX mound's memory manager. One per mound, shared by its processes'
/// address spaces ([`crate::Vm`]).
pub struct MemoryManager {
    kernel: Arc<Kernel>,
    mound: MoundId,
    layout: Layout,
    page: u64,
    zero: Box<[u8]>,
    quota: Mutex<Option<u64>>,
    frames: Mutex<FrameTable>,
    swap: Mutex<SwapStore>,
    /// File id → its shared object (the page cache of `MAP_SHARED` pages).
    objects: Mutex<HashMap<u64, Weak<SharedObj>>>,
    pub(crate) counters: Counters,
    next_vm: AtomicU64,
    next_anon: AtomicU64,
    handler: Mutex<Option<HandlerId>>,
    /// `Translation.PageNotPresent` / `ProtectionFault` handlers, if installed.
    fault_handlers: Mutex<Vec<(FaultEvent, HandlerId)>>,
    /// HOOK (spin-dbpager): extension pagers of files (file_pager.rs).
    pub(crate) file_pagers: crate::file_pager::FilePagers,
}

/// Which translation fault event a handler sits on.
#[derive(Debug, Clone, Copy)]
enum FaultEvent {
    NotPresent,
    Protection,
}

impl std::fmt::Debug for MemoryManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryManager")
            .field("mound", &self.mound)
            .field("page", &self.page)
            .finish()
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The tables behind these locks are updated so that a panic between two
    // updates leaves them usable (at worst a leaked frame or slot).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryManager {
    /// Creates the manager of `mound` with the layout of the kernel's
    /// architecture, sets the mound's frame quota and installs its
    /// `PhysAddr.Reclaim` handler (guarded by the mound's owner key).
    pub fn new(
        kernel: &Arc<Kernel>,
        mound: MoundId,
        quota_frames: Option<u64>,
    ) -> Arc<MemoryManager> {
        Self::with_layout(kernel, mound, quota_frames, Layout::for_arch(kernel.arch()))
    }

    /// [`MemoryManager::new`] with an explicit address-space layout.
    pub fn with_layout(
        kernel: &Arc<Kernel>,
        mound: MoundId,
        quota_frames: Option<u64>,
        layout: Layout,
    ) -> Arc<MemoryManager> {
        let page = kernel.translation.page_size();
        let mm = Arc::new(MemoryManager {
            kernel: kernel.clone(),
            mound,
            layout,
            page,
            zero: vec![0u8; page as usize].into_boxed_slice(),
            quota: Mutex::new(quota_frames),
            frames: Mutex::new(FrameTable::default()),
            swap: Mutex::new(SwapStore::new(page, MAX_SWAP_SLOTS)),
            objects: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            next_vm: AtomicU64::new(1),
            next_anon: AtomicU64::new(1),
            handler: Mutex::new(None),
            fault_handlers: Mutex::new(Vec::new()),
            file_pagers: Default::default(),
        });
        kernel.phys.set_quota(mound, quota_frames);
        let weak = Arc::downgrade(&mm);
        let handler = Handler::new(move |_: &ReclaimArgs| {
            let mm = weak.upgrade()?;
            mm.reclaim()
        })
        .guard(Guard::eq(kernel.phys.owner_key(), u64::from(mound.0)));
        match kernel
            .phys
            .reclaim
            .install(&Principal::mound("unix-mm", mound), handler)
        {
            Ok(id) => *relock(&mm.handler) = Some(id),
            // Without a handler the mound still works, it just cannot page
            // out: allocations beyond the quota fail and faults become Oom.
            Err(e) => eprintln!("spin-unix-mm: {mound}: reclaim handler not installed: {e}"),
        }
        mm
    }

    /// Installs handlers on `Translation.PageNotPresent` and
    /// `Translation.ProtectionFault`, guarded to this mound's address spaces,
    /// that resolve faults as [`crate::Vm::handle_fault`] does. A machine's trap
    /// loop can then use `Translation::fault`; when that returns `false`, call
    /// `handle_fault` to learn which signal to send.
    pub fn install_fault_handlers(self: &Arc<Self>) -> Result<(), EventError> {
        let translation = &self.kernel.translation;
        for (which, event) in [
            (FaultEvent::NotPresent, &translation.page_not_present),
            (FaultEvent::Protection, &translation.protection_fault),
        ] {
            let weak = Arc::downgrade(self);
            let mound = self.mound;
            let handler = Handler::new(move |a: &FaultArgs| {
                weak.upgrade()
                    .is_some_and(|mm| mm.resolve_fault(&a.space, a.va, a.access))
            })
            .guard(Guard::pred(move |a: &FaultArgs| a.space.owner() == mound));
            let id = event.install(&Principal::mound("unix-mm", mound), handler)?;
            relock(&self.fault_handlers).push((which, id));
        }
        Ok(())
    }

    /// Resolves a fault in whichever of our spaces `space` is.
    fn resolve_fault(&self, space: &Cap<AddressSpace>, va: u64, access: Access) -> bool {
        let core = self
            .lock_frames()
            .spaces
            .values()
            .find(|s| Cap::same(&s.space, space))
            .and_then(|s| s.vm.upgrade());
        // `core` may be the last reference: it drops here, no lock held.
        core.is_some_and(|c| {
            let ok = c.handle_fault(va, access).is_ok();
            if ok {
                // HOOK (spin-dbpager): the file's pager hears of the fault.
                self.after_fault(&c, va, access);
            }
            ok
        })
    }

    /// The mound this manager serves.
    pub fn mound(&self) -> MoundId {
        self.mound
    }

    /// The kernel it runs on.
    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.kernel
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u64 {
        self.page
    }

    /// The address-space layout of its processes.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Changes the mound's frame quota (`None`: no limit but RAM).
    pub fn set_quota(&self, quota_frames: Option<u64>) {
        *relock(&self.quota) = quota_frames;
        self.kernel.phys.set_quota(self.mound, quota_frames);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> MmStats {
        let mut out = MmStats {
            page_size: self.page,
            quota_frames: *relock(&self.quota),
            ..MmStats::default()
        };
        {
            let ft = self.lock_frames();
            out.resident_frames = ft.frames.len() as u64;
            out.spaces = ft.spaces.len() as u64;
            out.shared_pages = ft
                .frames
                .values()
                .filter(|i| i.rmap.len() > 1 || i.shared.is_some())
                .count() as u64;
        }
        out.swap_slots_used = self.lock_swap().used();
        self.counters.fill(&mut out);
        out
    }

    /// Writes the dirty `MAP_SHARED` pages of file `file_id` back to it. Call
    /// before `read`/`pread` of the file; a file nobody maps shared costs one
    /// hash lookup.
    pub fn writeback(&self, file_id: u64) {
        let Some(obj) = self.object(file_id) else {
            return;
        };
        if obj.writable() {
            self.writeback_pages(&obj, 0, u64::MAX);
        }
        drop(obj);
    }

    /// After `write`/`pwrite`/`truncate` of `len` bytes at `offset` of file
    /// `file_id`: refreshes those bytes of its cached shared pages so every
    /// mapping sees them; cached pages now wholly beyond the end of the file
    /// are dropped (touching them again raises `SIGBUS`).
    pub fn file_changed(&self, file_id: u64, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        let Some(obj) = self.object(file_id) else {
            return;
        };
        let Some(file) = obj.file.clone() else {
            return;
        };
        let size = file.size();
        let end = offset.saturating_add(len);
        let first = offset / self.page;
        let last = (end - 1) / self.page;
        let mut beyond = Vec::new();
        {
            let pages = obj.pages();
            obj.bump_epoch();
            for (&pg, p) in pages.range(first..=last) {
                let PageRef::Frame(f) = *p else { continue };
                let start = pg * self.page;
                if start >= size {
                    beyond.push(f);
                    continue;
                }
                let lo = offset.max(start);
                let hi = end.min(start + self.page);
                let data_end = hi.min(size).max(lo);
                with_page((hi - lo) as usize, |buf| {
                    let n = (data_end - lo) as usize;
                    let got = read_full(&*file, lo, &mut buf[..n]).unwrap_or(0);
                    buf[got..].fill(0);
                    // The frame is inside RAM: it was allocated from it.
                    let _ = self.ram().write_slice(buf, GuestAddress(f + (lo - start)));
                });
            }
        }
        for f in beyond {
            self.evict(f, Evict::Discard);
        }
        drop(obj);
    }

    // ---- crate-internal services -------------------------------------------------

    pub(crate) fn ram(&self) -> &GuestRam {
        self.kernel.ram()
    }

    pub(crate) fn lock_frames(&self) -> MutexGuard<'_, FrameTable> {
        relock(&self.frames)
    }

    pub(crate) fn lock_swap(&self) -> MutexGuard<'_, SwapStore> {
        relock(&self.swap)
    }

    pub(crate) fn next_vm_id(&self) -> VmId {
        self.next_vm.fetch_add(1, Ordering::Relaxed)
    }

    /// One frame for this mound. May raise `Reclaim` into our own handler on
    /// this thread: the caller must hold none of this crate's locks.
    ///
    /// Under contention a frame reclaimed for us can be taken by another
    /// thread before the kernel retries; then we evict one of our own frames
    /// and use it directly (it stays allocated to the mound), so a busy mound
    /// still makes progress at its quota.
    ///
    /// Returns the frame and whether it still holds guest RAM's initial
    /// zeros (never handed out since boot: [`Self::fill`] need not clear
    /// it).
    pub(crate) fn alloc_frame(&self) -> Result<(u64, bool), PhysError> {
        let mut last = PhysError::Bad("no allocation attempted".into());
        for _ in 0..ALLOC_ATTEMPTS {
            match self
                .kernel
                .phys
                .allocate_tracked(self.mound, FrameAttrs::default())
            {
                Ok(frames) => {
                    return frames
                        .first()
                        .map(|(f, fresh)| (f.0, *fresh))
                        .ok_or_else(|| PhysError::Bad("allocator returned no frame".into()))
                }
                Err(e @ (PhysError::Quota { .. } | PhysError::Exhausted { .. })) => {
                    if let Some(f) = self.reclaim() {
                        return Ok((f.0, false));
                    }
                    last = e;
                    // Every candidate is pinned by a fault or eviction in
                    // flight on another thread: let it finish.
                    std::thread::yield_now();
                }
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Gives a frame back to the kernel.
    pub(crate) fn free_frame(&self, f: u64) {
        let freed = self.kernel.phys.deallocate(self.mound, PhysAddr(f));
        debug_assert!(freed.is_ok(), "freeing frame {f:#x}: {freed:?}");
    }

    /// Fills a fresh (unmapped) frame from `src`; `zeroed`: the frame is
    /// known to hold zeros already (never handed out since boot), so a
    /// zero fill writes nothing — and leaves the host page behind it to be
    /// made real by whoever first needs it (a machine populates it in
    /// bulk), not by a host page fault here.
    pub(crate) fn fill(&self, frame: u64, src: &Source, zeroed: bool) -> Result<(), Fault> {
        let ram = self.ram();
        let to = GuestAddress(frame);
        let page = self.page as usize;
        match src {
            Source::Zero => {
                if !zeroed {
                    ram.write_slice(&self.zero, to).map_err(|_| Fault::Oom)?;
                }
                bump(&self.counters.zero_fills);
            }
            Source::Copy(from) => with_page(page, |buf| {
                ram.read_slice(buf, GuestAddress(*from))
                    .and_then(|()| ram.write_slice(buf, to))
                    .map_err(|_| Fault::Oom)
            })?,
            Source::Swap(slot) => {
                let (file, offset) = {
                    let sw = self.lock_swap();
                    (sw.file(), sw.offset(*slot))
                };
                let file = file.ok_or(Fault::Bus)?;
                with_page(page, |buf| {
                    read_slot(&file, offset, buf).map_err(|_| Fault::Bus)?;
                    ram.write_slice(buf, to).map_err(|_| Fault::Oom)
                })?;
                bump(&self.counters.swapped_in);
            }
            Source::File {
                file,
                offset,
                valid,
            } => {
                with_page(page, |buf| {
                    let got =
                        read_full(&**file, *offset, &mut buf[..*valid]).map_err(|_| Fault::Bus)?;
                    buf[got..].fill(0);
                    ram.write_slice(buf, to).map_err(|_| Fault::Oom)
                })?;
                bump(&self.counters.file_reads);
            }
        }
        Ok(())
    }

    /// Drops the hold a plan took on its source (see [`Source`]).
    pub(crate) fn unpin_source(&self, src: &Source) {
        match src {
            Source::Copy(f) => self.unpin(*f),
            Source::Swap(slot) => self.lock_swap().release(*slot),
            Source::Zero | Source::File { .. } => {}
        }
    }

    /// Drops one pin of frame `f`, freeing it if nothing else holds it.
    pub(crate) fn unpin(&self, f: u64) {
        let mut ft = self.lock_frames();
        if let Some(info) = ft.frames.get_mut(&f) {
            info.pins = info.pins.saturating_sub(1);
        }
        self.maybe_free(&mut ft, f);
    }

    /// Frees frame `f` if no mapping, pin or shared object holds it.
    pub(crate) fn maybe_free(&self, ft: &mut FrameTable, f: u64) {
        if ft.frames.get(&f).is_some_and(|i| i.unused()) {
            ft.frames.remove(&f);
            self.free_frame(f);
        }
    }

    /// Removes space `vm`'s reference at `va` to `page`: the frame's reverse-map
    /// entry (folding in the dirty bit of the mapping that went away) or the
    /// swap slot's reference.
    pub(crate) fn release_page(
        &self,
        ft: &mut FrameTable,
        vm: VmId,
        va: u64,
        page: PageRef,
        dirty: bool,
    ) {
        match page {
            PageRef::Frame(f) => {
                if let Some(info) = ft.frames.get_mut(&f) {
                    info.rmap.remove(vm, va);
                    info.dirty |= dirty;
                }
                self.maybe_free(ft, f);
            }
            PageRef::Swap(slot) => self.lock_swap().release(slot),
        }
    }

    /// The registered shared object of file `file_id`, if any is alive.
    pub(crate) fn object(&self, file_id: u64) -> Option<Arc<SharedObj>> {
        relock(&self.objects).get(&file_id).and_then(Weak::upgrade)
    }

    /// The shared object of `file`, created on first use.
    pub(crate) fn object_for_file(self: &Arc<Self>, file: &Arc<dyn PageBacking>) -> Arc<SharedObj> {
        let id = file.id();
        let mut reg = relock(&self.objects);
        if let Some(obj) = reg.get(&id).and_then(Weak::upgrade) {
            return obj;
        }
        let obj = Arc::new(SharedObj::new(id, Some(file.clone()), self.clone()));
        reg.insert(id, Arc::downgrade(&obj));
        obj
    }

    /// A new anonymous shared object (`MAP_SHARED | MAP_ANONYMOUS`).
    pub(crate) fn anon_object(self: &Arc<Self>) -> Arc<SharedObj> {
        let id = self.next_anon.fetch_add(1, Ordering::Relaxed);
        Arc::new(SharedObj::new(id, None, self.clone()))
    }

    /// Tears down a shared object no region maps any more: writes its dirty
    /// file pages back and frees its frames and slots. Called from its `Drop`,
    /// which therefore must never run under locks 2–5.
    pub(crate) fn finalize_object(
        &self,
        id: u64,
        file: Option<&Arc<dyn PageBacking>>,
        pages: BTreeMap<u64, PageRef>,
    ) {
        // Holding the registry keeps a new object for the same file from
        // reading pages before this one's write-back is done.
        let mut reg = file.map(|_| relock(&self.objects));
        for (pg, page) in pages {
            match page {
                PageRef::Frame(f) => {
                    let dirty = {
                        let mut ft = self.lock_frames();
                        let dirty = ft
                            .frames
                            .get(&f)
                            .is_some_and(|i| i.dirty || ft.mapped_dirty(i));
                        ft.frames.remove(&f);
                        dirty
                    };
                    if let (true, Some(file)) = (dirty, file) {
                        self.write_page_to_file(&**file, pg, f);
                    }
                    self.free_frame(f);
                }
                PageRef::Swap(slot) => self.lock_swap().release(slot),
            }
        }
        if let Some(reg) = reg.as_mut() {
            if reg.get(&id).is_some_and(|w| w.strong_count() == 0) {
                reg.remove(&id);
            }
        }
    }

    /// Writes page `pg` of a file from frame `f` (never past the end of file).
    pub(crate) fn write_page_to_file(&self, file: &dyn PageBacking, pg: u64, f: u64) -> bool {
        let offset = pg * self.page;
        let size = file.size();
        if offset >= size {
            return true;
        }
        let n = (size - offset).min(self.page) as usize;
        let ok = with_page(n, |buf| {
            self.ram().read_slice(buf, GuestAddress(f)).is_ok()
                && file.write_at(offset, buf).is_ok()
        });
        if ok {
            bump(&self.counters.writebacks);
        }
        ok
    }

    /// Writes back the dirty pages of `obj` with index in `[first, end)`.
    pub(crate) fn writeback_pages(&self, obj: &SharedObj, first: u64, end: u64) {
        let Some(file) = obj.file.as_ref() else {
            return;
        };
        let pages = obj.pages();
        for (&pg, page) in pages.range(first..end) {
            let PageRef::Frame(f) = *page else { continue };
            let dirty = {
                let mut ft = self.lock_frames();
                let Some(info) = ft.frames.get(&f) else {
                    continue;
                };
                let mut dirty = info.dirty;
                for (vm, va) in info.rmap.as_slice() {
                    if let Some(space) = ft.space(*vm) {
                        dirty |= space.clear_dirty(*va);
                    }
                }
                if let Some(info) = ft.frames.get_mut(&f) {
                    info.dirty = false;
                }
                dirty
            };
            if dirty && !self.write_page_to_file(&**file, pg, f) {
                // Keep it dirty: a later write-back or eviction tries again.
                if let Some(info) = self.lock_frames().frames.get_mut(&f) {
                    info.dirty = true;
                }
            }
        }
    }
}

impl Drop for MemoryManager {
    fn drop(&mut self) {
        if let Some(id) = relock(&self.handler).take() {
            let _ = self.kernel.phys.reclaim.uninstall(id);
        }
        for (which, id) in relock(&self.fault_handlers).drain(..) {
            let event = match which {
                FaultEvent::NotPresent => &self.kernel.translation.page_not_present,
                FaultEvent::Protection => &self.kernel.translation.protection_fault,
            };
            let _ = event.uninstall(id);
        }
        self.kernel.phys.set_quota(self.mound, None);
    }
}

/// Reads up to `buf.len()` bytes at `offset`, stopping early only at end of
/// file; returns the bytes read.
pub(crate) fn read_full(
    file: &dyn PageBacking,
    offset: u64,
    buf: &mut [u8],
) -> spin_fs::SysResult<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = file.read_at(offset + got as u64, &mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}
