//! `spin.vm-workload`: the SPIN paper's VM benchmark extension (Table 4).
//!
//! A program registers a range of its resident pages; from then on the
//! extension handles `Translation.ProtectionFault` for that range inside the
//! kernel — a handler installed on the event with a guard on the address
//! space and range — and exports protect/unprotect as its own system calls.
//! A fault on a page the extension protected is answered in the kernel: the
//! page gets its protection back (and, under the "ring" policy, the next
//! page of the ring is protected, as Appel1's handler does) and the program
//! resumes at the faulting access. No signal frame, no user-level handler.
//!
//! Calls (numbers relative to the first, which `ext_link` returns):
//!
//! | n | call | |
//! |---|---|---|
//! | 0 | `register(addr, pages)` | take over faults in `[addr, addr + pages)`: every page resident |
//! | 1 | `protect(addr, pages, prot)` | lower protection to `prot` (`PROT_NONE` or `PROT_READ`) |
//! | 2 | `unprotect(addr, pages)` | give pages their protection back |
//! | 3 | `policy(ring)` | on a fault at page p, also protect page (p+1) mod ring (0: off) |
//! | 4 | `stat(which)` | 0: faults handled; 1: host time of the last fault, ns since the mound's epoch |
//!
//! The extension changes protections on the Translation only; the mound's
//! memory manager keeps its own view. A fault on a registered page the
//! extension did not protect (copy-on-write after `fork`) goes on to the
//! memory manager, and registered pages should stay resident (the
//! extension pins nothing).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use spin_fs::Errno;
use spin_kernel::event::{Guard, Handler, HandlerId, Principal};
use spin_kernel::mem::{AddressSpace, FaultArgs, Translation};
use spin_kernel::{Cap, MoundId, Prot};

use super::{ExtCall, ExtError, ExtSyscall, ExtTable, LinkContext, SpaceHook};

/// The name programs link it by.
pub const NAME: &str = "spin.vm-workload";
/// Call offsets.
pub mod call {
    /// `register(addr, pages)`.
    pub const REGISTER: u64 = 0;
    /// `protect(addr, pages, prot)`.
    pub const PROTECT: u64 = 1;
    /// `unprotect(addr, pages)`.
    pub const UNPROTECT: u64 = 2;
    /// `policy(ring)`.
    pub const POLICY: u64 = 3;
    /// `stat(which)`.
    pub const STAT: u64 = 4;
}
/// Most pages one region may cover.
const MAX_PAGES: u64 = 1 << 16;
/// Most regions per mound.
const MAX_REGIONS: usize = 64;

/// One registered range of one address space.
struct Region {
    asid: u64,
    base: u64,
    pages: u64,
    page_shift: u32,
    /// Per page: 0 if the extension has not lowered its protection, else
    /// `frame | prot set << 4 | 8 | protection before`. A page is given
    /// its protection back only if it still maps that frame with the
    /// protection the extension set: a mapping the memory manager changed
    /// meanwhile (copy-on-write, unmapped and remapped) is its business.
    saved: Box<[AtomicU64]>,
    /// Ring size of the Appel1 policy (0: off).
    ring: AtomicU64,
    faults: AtomicU64,
    /// Host time of the last fault, ns since the epoch.
    last_trap: AtomicU64,
    epoch: Instant,
    /// Its ProtectionFault handler (taken when the region goes).
    handler: std::sync::Mutex<Option<HandlerId>>,
}

const OURS: u64 = 8;

impl Region {
    fn uninstall(&self, translation: &Translation) {
        let id = self
            .handler
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(id) = id {
            let _ = translation.protection_fault.uninstall(id);
        }
    }

    fn contains(&self, va: u64) -> bool {
        va >= self.base && (va - self.base) >> self.page_shift < self.pages
    }

    fn slot(&self, va: u64) -> &AtomicU64 {
        &self.saved[((va - self.base) >> self.page_shift) as usize]
    }

    /// Lowers `pages` pages from `va` to at most `prot`; returns how many
    /// were mapped.
    fn protect(&self, space: &AddressSpace, va: u64, pages: u64, prot: Prot) -> u64 {
        let want = u64::from(prot.bits());
        space.reprotect_range(va, pages << self.page_shift, |pva, frame, cur| {
            let slot = self.slot(pva);
            let s = slot.load(Ordering::Acquire);
            let before = if s & OURS != 0
                && s >> 13 << 13 == frame.0
                && (s >> 4) & 7 == u64::from(cur.bits())
            {
                s & 7
            } else {
                u64::from(cur.bits())
            };
            let new = before & want;
            slot.store(frame.0 | new << 4 | OURS | before, Ordering::Release);
            Some(Prot::from_bits(new as u8))
        }) as u64
    }

    /// Gives the pages the extension protected in `pages` pages from `va`
    /// their protection back; returns how many it did.
    fn unprotect(&self, space: &AddressSpace, va: u64, pages: u64) -> u64 {
        space.reprotect_range(va, pages << self.page_shift, |pva, frame, cur| {
            let s = self.slot(pva).swap(0, Ordering::AcqRel);
            let ours =
                s & OURS != 0 && s >> 13 << 13 == frame.0 && (s >> 4) & 7 == u64::from(cur.bits());
            ours.then(|| Prot::from_bits((s & 7) as u8))
        }) as u64
    }

    /// The ProtectionFault handler: resolves faults on pages it protected.
    fn fault(&self, a: &FaultArgs) -> bool {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.last_trap.store(now, Ordering::Relaxed);
        let page = a.va >> self.page_shift << self.page_shift;
        if self.unprotect(&a.space, page, 1) == 0 {
            // Not ours (copy-on-write, a read-only mapping): the memory
            // manager decides.
            return false;
        }
        let ring = self.ring.load(Ordering::Relaxed);
        if ring > 0 {
            let next = ((page - self.base) >> self.page_shift).wrapping_add(1) % ring;
            self.protect(
                &a.space,
                self.base + (next << self.page_shift),
                1,
                Prot::NONE,
            );
        }
        self.faults.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// The extension's state in one mound.
struct VmWorkload {
    translation: Arc<Translation>,
    mound: MoundId,
    epoch: Instant,
    regions: RwLock<Vec<Arc<Region>>>,
}

impl Drop for VmWorkload {
    fn drop(&mut self) {
        let regions = std::mem::take(&mut *self.regions.write().unwrap_or_else(|e| e.into_inner()));
        for r in &regions {
            r.uninstall(&self.translation);
        }
    }
}

impl VmWorkload {
    /// The caller's region holding `[addr, addr + pages)`.
    fn region(&self, c: &ExtCall<'_>, addr: u64, pages: u64) -> Result<Arc<Region>, Errno> {
        let asid = spin_kernel::PageTable::asid(&**c.space);
        let regions = self.regions.read().unwrap_or_else(|e| e.into_inner());
        let r = regions
            .iter()
            .find(|r| r.asid == asid && r.contains(addr))
            .ok_or(Errno::EINVAL)?;
        if addr & ((1 << r.page_shift) - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let first = (addr - r.base) >> r.page_shift;
        if pages == 0 || pages > r.pages - first {
            return Err(Errno::EINVAL);
        }
        Ok(r.clone())
    }

    fn register(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let (base, pages) = (c.args[0], c.args[1]);
        let shift = spin_kernel::PageTable::page_shift(&**c.space);
        let asid = spin_kernel::PageTable::asid(&**c.space);
        if base & ((1 << shift) - 1) != 0 || pages == 0 || pages > MAX_PAGES {
            return Err(Errno::EINVAL);
        }
        let end = base.checked_add(pages << shift).ok_or(Errno::EINVAL)?;
        for i in 0..pages {
            if c.space.examine(base + (i << shift)).is_none() {
                // Only resident pages: a demand-zero page would come back
                // from the memory manager with its own protection.
                return Err(Errno::EFAULT);
            }
        }
        let mut regions = self.regions.write().unwrap_or_else(|e| e.into_inner());
        let overlaps = regions
            .iter()
            .any(|r| r.asid == asid && base < r.base + (r.pages << r.page_shift) && r.base < end);
        if overlaps {
            return Err(Errno::EBUSY);
        }
        if regions.len() >= MAX_REGIONS {
            return Err(Errno::ENOMEM);
        }
        let mut region = Region {
            asid,
            base,
            pages,
            page_shift: shift,
            saved: (0..pages).map(|_| AtomicU64::new(0)).collect(),
            ring: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            last_trap: AtomicU64::new(0),
            epoch: self.epoch,
            handler: std::sync::Mutex::new(None),
        };
        // The guard names the space and the range: the dispatcher calls
        // this handler for nobody else's faults.
        let (lo, hi) = (base, end);
        let shared: Arc<std::sync::OnceLock<Arc<Region>>> = Arc::new(std::sync::OnceLock::new());
        let target = shared.clone();
        let handler = Handler::new(move |a: &FaultArgs| target.get().is_some_and(|r| r.fault(a)))
            .guard(Guard::pred(move |a: &FaultArgs| {
                spin_kernel::PageTable::asid(&*a.space) == asid && a.va >= lo && a.va < hi
            }));
        let id = self
            .translation
            .protection_fault
            .install(&Principal::mound(NAME, self.mound), handler)
            .map_err(|_| Errno::EPERM)?;
        region.handler = std::sync::Mutex::new(Some(id));
        let region = Arc::new(region);
        let _ = shared.set(region.clone());
        regions.push(region);
        Ok(0)
    }

    fn protect(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let (addr, pages, bits) = (c.args[0], c.args[1], c.args[2]);
        // Lowering only: no write, no execute.
        if bits & !u64::from(Prot::READ.bits()) != 0 {
            return Err(Errno::EINVAL);
        }
        let r = self.region(c, addr, pages)?;
        if r.protect(c.space, addr, pages, Prot::from_bits(bits as u8)) != pages {
            return Err(Errno::EFAULT);
        }
        Ok(0)
    }

    fn unprotect(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let r = self.region(c, c.args[0], c.args[1])?;
        r.unprotect(c.space, c.args[0], c.args[1]);
        Ok(0)
    }

    fn policy(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let ring = c.args[0];
        let asid = spin_kernel::PageTable::asid(&**c.space);
        let regions = self.regions.read().unwrap_or_else(|e| e.into_inner());
        let mut any = false;
        for r in regions.iter().filter(|r| r.asid == asid) {
            if ring > r.pages {
                return Err(Errno::EINVAL);
            }
            r.ring.store(ring, Ordering::Relaxed);
            any = true;
        }
        if any {
            Ok(0)
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn stat(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        let asid = spin_kernel::PageTable::asid(&**c.space);
        let regions = self.regions.read().unwrap_or_else(|e| e.into_inner());
        let mine = regions.iter().filter(|r| r.asid == asid);
        match c.args[0] {
            0 => Ok(mine.map(|r| r.faults.load(Ordering::Relaxed)).sum()),
            1 => Ok(mine
                .map(|r| r.last_trap.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0)),
            _ => Err(Errno::EINVAL),
        }
    }
}

impl SpaceHook for VmWorkload {
    /// A fork is about to copy `space`: the extension lets go of its
    /// regions there (their pages keep whatever protection they have; the
    /// memory manager owns them from now on), so it can never give write
    /// access back to a page the fork shares copy-on-write.
    fn before_fork(&self, space: &Cap<AddressSpace>) {
        let asid = spin_kernel::PageTable::asid(&**space);
        let mut regions = self.regions.write().unwrap_or_else(|e| e.into_inner());
        regions.retain(|r| {
            if r.asid != asid {
                return true;
            }
            r.uninstall(&self.translation);
            false
        });
    }
}

/// One exported call: the extension and which call it is.
struct Op(Arc<VmWorkload>, u64);

impl ExtSyscall for Op {
    fn call(&self, c: &ExtCall<'_>) -> Result<u64, Errno> {
        match self.1 {
            call::REGISTER => self.0.register(c),
            call::PROTECT => self.0.protect(c),
            call::UNPROTECT => self.0.unprotect(c),
            call::POLICY => self.0.policy(c),
            _ => self.0.stat(c),
        }
    }
}

/// Links the extension into `table`: returns its first call's number.
pub(super) fn link(table: &ExtTable, cx: &LinkContext<'_>) -> Result<u64, ExtError> {
    let ext = Arc::new(VmWorkload {
        translation: cx.kernel.translation.clone(),
        mound: cx.mound,
        epoch: cx.epoch,
        regions: RwLock::new(Vec::new()),
    });
    table.add_hook(cx.auth, ext.clone())?;
    let op = |n| Arc::new(Op(ext.clone(), n)) as Arc<dyn ExtSyscall>;
    table.register(
        cx.auth,
        vec![
            ("vmw_register", op(call::REGISTER)),
            ("vmw_protect", op(call::PROTECT)),
            ("vmw_unprotect", op(call::UNPROTECT)),
            ("vmw_policy", op(call::POLICY)),
            ("vmw_stat", op(call::STAT)),
        ],
    )
}
