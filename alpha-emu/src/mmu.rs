//! The software TLB and the only module that touches host memory directly.
//!
//! Guest pages are reached through [`HostPage`]: a pointer to the start of one
//! 8 KiB guest page inside the machine's `vm-memory` mmap, obtained from
//! [`spin_kernel::machine::host_ptr`] (bounds-checked for the whole page).
//! Every access goes through a relaxed atomic of the access width at an
//! aligned, in-page offset, so concurrent guest CPUs never make a Rust data
//! race and no access can leave the page.
//!
//! The TLB keeps three direct-mapped arrays (read, write, execute) filled by
//! [`PageTable::walk`] on a miss; a stale `asid()`/`generation()` drops all of
//! them.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use spin_kernel::machine::{host_ptr, Access, GuestRam};
use spin_kernel::mem::{PageTable, PhysAddr};

use crate::block::CodeCache;

/// log2 of the Alpha page size.
pub const PAGE_SHIFT: u32 = 13;
/// The Alpha page size in bytes (8 KiB).
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Mask of the in-page offset bits.
pub const PAGE_MASK: u64 = PAGE_SIZE - 1;
/// TLB entries per access kind (direct mapped).
const TLB_ENTRIES: usize = 512;
/// Tag of an empty entry: never equal to a page-aligned address.
const INVALID_TAG: u64 = u64::MAX;
/// Tag bit marking a write entry whose page holds predecoded code: the fast
/// path misses and the slow path invalidates the overwritten instructions.
const CODE_MARK: u64 = 1 << 12;

/// A pointer to the first byte of one guest page in host memory.
///
/// Invariant: made only by [`Mmu`] from `host_ptr(ram, pa, PAGE_SIZE)` on the
/// `Arc<GuestRam>` that the same CPU keeps alive for as long as any `HostPage`
/// it made exists (both live inside one `AlphaCpu`), and vm-memory never
/// remaps a region while it is alive. So `ptr..ptr + PAGE_SIZE` is valid,
/// writable host memory for the page's whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostPage(NonNull<u8>);

// SAFETY: a HostPage is an address into the machine's shared guest RAM, which is
// designed to be accessed from every vCPU thread; all accesses are atomic.
unsafe impl Send for HostPage {}

impl HostPage {
    /// The aligned in-page byte address for a `W`-byte access at `off`.
    #[inline(always)]
    fn at(self, off: u64, w: u64) -> *mut u8 {
        let off = (off & PAGE_MASK) & !(w - 1);
        // SAFETY: `off < PAGE_SIZE`, so the result stays inside the page the
        // invariant of HostPage guarantees to be one allocation.
        unsafe { self.0.as_ptr().add(off as usize) }
    }

    /// Loads `W` bytes (1, 2, 4 or 8) little-endian at in-page offset `off`
    /// (rounded down to `W` alignment).
    #[inline(always)]
    pub(crate) fn load<const W: usize>(self, off: u64) -> u64 {
        let p = self.at(off, W as u64);
        // SAFETY: `p` is W-aligned and inside the live page (see `at` and the
        // type invariant); all guest-memory accesses are atomic, so there is
        // no data race with other vCPUs.
        unsafe {
            match W {
                1 => AtomicU8::from_ptr(p).load(Ordering::Relaxed) as u64,
                2 => u16::from_le(AtomicU16::from_ptr(p.cast()).load(Ordering::Relaxed)) as u64,
                4 => u32::from_le(AtomicU32::from_ptr(p.cast()).load(Ordering::Relaxed)) as u64,
                _ => u64::from_le(AtomicU64::from_ptr(p.cast()).load(Ordering::Relaxed)),
            }
        }
    }

    /// Stores the low `W` bytes of `v` little-endian at in-page offset `off`.
    #[inline(always)]
    pub(crate) fn store<const W: usize>(self, off: u64, v: u64) {
        let p = self.at(off, W as u64);
        // SAFETY: as in `load`.
        unsafe {
            match W {
                1 => AtomicU8::from_ptr(p).store(v as u8, Ordering::Relaxed),
                2 => AtomicU16::from_ptr(p.cast()).store((v as u16).to_le(), Ordering::Relaxed),
                4 => AtomicU32::from_ptr(p.cast()).store((v as u32).to_le(), Ordering::Relaxed),
                _ => AtomicU64::from_ptr(p.cast()).store(v.to_le(), Ordering::Relaxed),
            }
        }
    }

    /// Atomically replaces the `W`-byte value at `off` with `new` if it still
    /// equals `old`; returns whether it did (the heart of `stx_c`).
    pub(crate) fn compare_exchange<const W: usize>(self, off: u64, old: u64, new: u64) -> bool {
        let p = self.at(off, W as u64);
        // SAFETY: as in `load`; only 4- and 8-byte widths are used.
        unsafe {
            if W == 4 {
                AtomicU32::from_ptr(p.cast())
                    .compare_exchange(
                        (old as u32).to_le(),
                        (new as u32).to_le(),
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    )
                    .is_ok()
            } else {
                AtomicU64::from_ptr(p.cast())
                    .compare_exchange(old.to_le(), new.to_le(), Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            }
        }
    }
}

/// A failed translation: the address and what the access tried to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemFault {
    /// The faulting virtual address.
    pub va: u64,
    /// The access kind.
    pub access: Access,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u64,
    host: Option<HostPage>,
    pa: u64,
    /// Execute entries: index of the page in the code cache.
    aux: u32,
}

const EMPTY: Entry = Entry {
    tag: INVALID_TAG,
    host: None,
    pa: 0,
    aux: 0,
};

#[inline(always)]
fn slot(va: u64) -> usize {
    (va >> PAGE_SHIFT) as usize & (TLB_ENTRIES - 1)
}

/// The software MMU of one CPU.
pub(crate) struct Mmu {
    ram: Arc<GuestRam>,
    read: Box<[Entry]>,
    write: Box<[Entry]>,
    exec: Box<[Entry]>,
    asid: u64,
    generation: u64,
    /// Unaligned accesses fixed up transparently (as Linux's unaligned trap handler does).
    pub unaligned_fixups: u64,
}

impl Mmu {
    /// A TLB with nothing cached, for `ram`.
    pub fn new(ram: Arc<GuestRam>) -> Mmu {
        Mmu {
            ram,
            read: vec![EMPTY; TLB_ENTRIES].into_boxed_slice(),
            write: vec![EMPTY; TLB_ENTRIES].into_boxed_slice(),
            exec: vec![EMPTY; TLB_ENTRIES].into_boxed_slice(),
            asid: u64::MAX,
            generation: u64::MAX,
            unaligned_fixups: 0,
        }
    }

    /// Drops every cached translation.
    pub fn flush(&mut self) {
        self.read.fill(EMPTY);
        self.write.fill(EMPTY);
        self.exec.fill(EMPTY);
    }

    /// Drops only the execute entries (after the code cache was emptied).
    pub fn flush_exec(&mut self) {
        self.exec.fill(EMPTY);
        // Write entries may carry code marks for pages that are gone.
        self.write.fill(EMPTY);
    }

    /// Drops stale entries if `space` is another address space or changed;
    /// returns whether it did.
    #[inline]
    pub fn sync(&mut self, space: &dyn PageTable) -> bool {
        let (asid, generation) = (space.asid(), space.generation());
        if asid != self.asid || generation != self.generation {
            self.flush();
            self.asid = asid;
            self.generation = generation;
            return true;
        }
        false
    }

    fn fill(&mut self, space: &dyn PageTable, va: u64, access: Access) -> Result<Entry, MemFault> {
        let page = va & !PAGE_MASK;
        let fault = MemFault { va, access };
        let pte = space.walk(page, access).map_err(|_| fault)?;
        let frame = pte.frame.0 & !PAGE_MASK;
        let ptr = host_ptr(&self.ram, PhysAddr(frame), PAGE_SIZE as usize).ok_or(fault)?;
        let host = NonNull::new(ptr).map(HostPage).ok_or(fault)?;
        Ok(Entry {
            tag: page,
            host: Some(host),
            pa: frame,
            aux: 0,
        })
    }

    /// Loads `W` bytes at `va`; unaligned loads are fixed up byte by byte.
    #[inline(always)]
    pub fn load<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        va: u64,
    ) -> Result<u64, MemFault> {
        let e = &self.read[slot(va)];
        if e.tag == va & (!PAGE_MASK | (W as u64 - 1)) {
            if let Some(h) = e.host {
                return Ok(h.load::<W>(va));
            }
        }
        self.load_slow::<W>(space, va)
    }

    #[inline(never)]
    fn load_slow<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        va: u64,
    ) -> Result<u64, MemFault> {
        if va & (W as u64 - 1) != 0 {
            self.unaligned_fixups += 1;
            let mut v = 0;
            for i in 0..W as u64 {
                v |= self.load::<1>(space, va.wrapping_add(i))? << (8 * i);
            }
            return Ok(v);
        }
        let (h, _) = self.read_entry(space, va)?;
        Ok(h.load::<W>(va))
    }

    /// Translates `va` for reading: the host page and the physical page address.
    pub fn read_entry(
        &mut self,
        space: &dyn PageTable,
        va: u64,
    ) -> Result<(HostPage, u64), MemFault> {
        let i = slot(va);
        let e = &self.read[i];
        if e.tag == va & !PAGE_MASK {
            if let Some(h) = e.host {
                return Ok((h, e.pa));
            }
        }
        let e = self.fill(space, va, Access::Read)?;
        self.read[i] = e;
        let h = e.host.ok_or(MemFault {
            va,
            access: Access::Read,
        })?;
        Ok((h, e.pa))
    }

    /// Translates `va` for writing: the host page, the physical page address,
    /// and whether the page holds predecoded code.
    pub fn write_entry(
        &mut self,
        space: &dyn PageTable,
        code: &CodeCache,
        va: u64,
    ) -> Result<(HostPage, u64, bool), MemFault> {
        let i = slot(va);
        let e = &self.write[i];
        if e.tag & !CODE_MARK == va & !PAGE_MASK {
            if let Some(h) = e.host {
                return Ok((h, e.pa, e.tag & CODE_MARK != 0));
            }
        }
        let mut e = self.fill(space, va, Access::Write)?;
        let is_code = code.contains(e.pa);
        if is_code {
            e.tag |= CODE_MARK;
        }
        self.write[i] = e;
        let h = e.host.ok_or(MemFault {
            va,
            access: Access::Write,
        })?;
        Ok((h, e.pa, is_code))
    }

    /// Stores the low `W` bytes of `v` at `va`; returns the physical address
    /// written. Unaligned stores are fixed up (both pages are checked before
    /// any byte is written, so a fault leaves memory unchanged).
    #[inline(always)]
    pub fn store<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        code: &CodeCache,
        va: u64,
        v: u64,
    ) -> Result<u64, MemFault> {
        let e = &self.write[slot(va)];
        if e.tag == va & (!PAGE_MASK | (W as u64 - 1)) {
            if let Some(h) = e.host {
                h.store::<W>(va, v);
                return Ok(e.pa | (va & PAGE_MASK));
            }
        }
        self.store_slow::<W>(space, code, va, v)
    }

    #[inline(never)]
    fn store_slow<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        code: &CodeCache,
        va: u64,
        v: u64,
    ) -> Result<u64, MemFault> {
        if va & (W as u64 - 1) != 0 {
            self.unaligned_fixups += 1;
            let last = va.wrapping_add(W as u64 - 1);
            let (_, first_pa, _) = self.write_entry(space, code, va)?;
            self.write_entry(space, code, last)?;
            for i in 0..W as u64 {
                self.store::<1>(space, code, va.wrapping_add(i), v >> (8 * i))?;
            }
            return Ok(first_pa | (va & PAGE_MASK));
        }
        let (h, pa, is_code) = self.write_entry(space, code, va)?;
        h.store::<W>(va, v);
        let pa = pa | (va & PAGE_MASK);
        if is_code {
            code.invalidate(pa, W as u64);
        }
        Ok(pa)
    }

    /// Translates `pc` for execution and returns the code-cache page index
    /// (creating the page's predecode slots on first use).
    #[inline]
    pub fn exec_page(
        &mut self,
        space: &dyn PageTable,
        code: &mut CodeCache,
        pc: u64,
    ) -> Result<usize, MemFault> {
        let i = slot(pc);
        let e = &self.exec[i];
        if e.tag == pc & !PAGE_MASK {
            return Ok(e.aux as usize);
        }
        let mut e = self.fill(space, pc, Access::Execute)?;
        let host = e.host.ok_or(MemFault {
            va: pc,
            access: Access::Execute,
        })?;
        let (idx, fresh) = code.page_for(e.pa, host);
        if code.take_flushed() {
            // Making room emptied the cache: every execute index is stale.
            self.flush_exec();
        }
        if fresh {
            // Stores into this frame must now go through the slow path.
            for w in self.write.iter_mut() {
                if w.pa == e.pa && w.tag != INVALID_TAG {
                    w.tag |= CODE_MARK;
                }
            }
        }
        e.aux = idx as u32;
        self.exec[i] = e;
        Ok(idx)
    }
}
