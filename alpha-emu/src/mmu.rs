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

use crate::block::CodeIndex;

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
#[repr(transparent)]
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

/// One TLB entry. The layout is fixed because compiled code reads it
/// (see [`TLB_ENTRY_SHIFT`], [`TLB_ADDEND`]).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Entry {
    /// The virtual page address ([`INVALID_TAG`] when empty; write entries
    /// of code pages also carry [`CODE_MARK`]).
    tag: u64,
    host: Option<HostPage>,
    pa: u64,
    /// `host - tag` (wrapping): adding a virtual address in the page gives
    /// its host address. 0 when empty.
    addend: u64,
}

const EMPTY: Entry = Entry {
    tag: INVALID_TAG,
    host: None,
    pa: 0,
    addend: 0,
};

/// log2 of the size of a TLB entry in bytes.
pub(crate) const TLB_ENTRY_SHIFT: u32 = 5;
/// Byte offset of the `addend` field in a TLB entry (the tag is at 0).
pub(crate) const TLB_ADDEND: i32 = 24;
/// Entries per TLB (direct mapped on `va >> PAGE_SHIFT`).
pub(crate) const TLB_SIZE: usize = TLB_ENTRIES;
const _: () = {
    assert!(std::mem::size_of::<Entry>() == 1 << TLB_ENTRY_SHIFT);
    assert!(std::mem::offset_of!(Entry, tag) == 0);
    assert!(std::mem::offset_of!(Entry, addend) == TLB_ADDEND as usize);
};

/// One direct-mapped TLB (a fixed-size array, so a masked index needs no
/// bounds check).
type Tlb = Box<[Entry; TLB_ENTRIES]>;

fn empty_tlb() -> Tlb {
    Box::new([EMPTY; TLB_ENTRIES])
}

/// The read and write TLBs side by side, so compiled code reaches both from
/// one base register (the write TLB at [`WRITE_TLB_OFFSET`]).
#[repr(C)]
struct DataTlbs {
    read: [Entry; TLB_ENTRIES],
    write: [Entry; TLB_ENTRIES],
}

/// Byte offset of the write TLB from the read TLB.
pub(crate) const WRITE_TLB_OFFSET: i32 = std::mem::offset_of!(DataTlbs, write) as i32;

/// A store that succeeded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored {
    /// Physical address of the first byte written.
    pub pa: u64,
    /// The store overwrote predecoded code (some blocks were killed).
    pub killed_code: bool,
}

#[inline(always)]
fn slot(va: u64) -> usize {
    (va >> PAGE_SHIFT) as usize & (TLB_ENTRIES - 1)
}

/// The software MMU of one CPU.
pub(crate) struct Mmu {
    ram: Arc<GuestRam>,
    tlb: Box<DataTlbs>,
    exec: Tlb,
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
            tlb: Box::new(DataTlbs {
                read: [EMPTY; TLB_ENTRIES],
                write: [EMPTY; TLB_ENTRIES],
            }),
            exec: empty_tlb(),
            asid: u64::MAX,
            generation: u64::MAX,
            unaligned_fixups: 0,
        }
    }

    /// The read TLB's entries, followed by the write TLB's at
    /// [`WRITE_TLB_OFFSET`], for compiled code (stable for the life of the Mmu).
    pub fn data_tlbs(&self) -> *const u8 {
        (&*self.tlb as *const DataTlbs).cast()
    }

    /// Drops every cached translation.
    pub fn flush(&mut self) {
        self.tlb.read.fill(EMPTY);
        self.tlb.write.fill(EMPTY);
        self.exec.fill(EMPTY);
    }

    /// Drops the write entries' code marks (after the code cache was
    /// emptied, the pages they name hold no predecoded code any more).
    pub fn clear_code_marks(&mut self) {
        for w in self.tlb.write.iter_mut() {
            if w.tag != INVALID_TAG {
                w.tag &= !CODE_MARK;
            }
        }
    }

    /// Marks the write entries of physical page `pa` as holding code, so
    /// stores to it take the slow path (which invalidates blocks).
    pub fn mark_code(&mut self, pa: u64) {
        let pa = pa & !PAGE_MASK;
        for w in self.tlb.write.iter_mut() {
            if w.pa == pa && w.tag != INVALID_TAG {
                w.tag |= CODE_MARK;
            }
        }
    }

    /// Drops stale entries if `space` is another address space or changed;
    /// returns whether it did. A change the space can name page by page
    /// ([`PageTable::changes_since`]) drops only those pages' entries.
    #[inline]
    pub fn sync(&mut self, space: &dyn PageTable) -> bool {
        let (asid, generation) = (space.asid(), space.generation());
        if asid == self.asid && generation == self.generation {
            return false;
        }
        if asid != self.asid || !self.drop_changed(space, generation) {
            self.flush();
        }
        self.asid = asid;
        self.generation = generation;
        true
    }

    /// Drops the entries of the pages `space` changed since the generation
    /// this TLB saw; false if it cannot say (then everything must go).
    #[cold]
    fn drop_changed(&mut self, space: &dyn PageTable, generation: u64) -> bool {
        let mut small = true;
        let (tlb, exec) = (&mut *self.tlb, &mut *self.exec);
        let named = space.changes_since(self.generation, generation, &mut |va, pages| {
            if !small || pages > TLB_ENTRIES as u64 {
                small = false;
                return;
            }
            for i in 0..pages {
                let page = va.wrapping_add(i << PAGE_SHIFT) & !PAGE_MASK;
                let k = slot(page);
                if tlb.read[k].tag == page {
                    tlb.read[k] = EMPTY;
                }
                if tlb.write[k].tag & !CODE_MARK == page {
                    tlb.write[k] = EMPTY;
                }
                if exec[k].tag == page {
                    exec[k] = EMPTY;
                }
            }
        });
        named && small
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
            addend: (ptr as u64).wrapping_sub(page),
        })
    }

    /// Loads `W` bytes at `va`; unaligned loads are fixed up byte by byte.
    #[inline(always)]
    pub fn load<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        va: u64,
    ) -> Result<u64, MemFault> {
        let e = &self.tlb.read[slot(va)];
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
        let e = &self.tlb.read[i];
        if e.tag == va & !PAGE_MASK {
            if let Some(h) = e.host {
                return Ok((h, e.pa));
            }
        }
        let e = self.fill(space, va, Access::Read)?;
        self.tlb.read[i] = e;
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
        code: &CodeIndex,
        va: u64,
    ) -> Result<(HostPage, u64, bool), MemFault> {
        let i = slot(va);
        let e = &self.tlb.write[i];
        if e.tag & !CODE_MARK == va & !PAGE_MASK {
            if let Some(h) = e.host {
                return Ok((h, e.pa, e.tag & CODE_MARK != 0));
            }
        }
        let mut e = self.fill(space, va, Access::Write)?;
        let is_code = code.is_code(e.pa);
        if is_code {
            e.tag |= CODE_MARK;
        }
        self.tlb.write[i] = e;
        let h = e.host.ok_or(MemFault {
            va,
            access: Access::Write,
        })?;
        Ok((h, e.pa, is_code))
    }

    /// Stores the low `W` bytes of `v` at `va`. A store into predecoded
    /// code kills the blocks it overwrites. Unaligned stores are fixed up
    /// (both pages are checked before any byte is written, so a fault
    /// leaves memory unchanged).
    #[inline(always)]
    pub fn store<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        code: &mut CodeIndex,
        va: u64,
        v: u64,
    ) -> Result<Stored, MemFault> {
        let e = &self.tlb.write[slot(va)];
        if e.tag == va & (!PAGE_MASK | (W as u64 - 1)) {
            if let Some(h) = e.host {
                h.store::<W>(va, v);
                return Ok(Stored {
                    pa: e.pa | (va & PAGE_MASK),
                    killed_code: false,
                });
            }
        }
        self.store_slow::<W>(space, code, va, v)
    }

    #[inline(never)]
    fn store_slow<const W: usize>(
        &mut self,
        space: &dyn PageTable,
        code: &mut CodeIndex,
        va: u64,
        v: u64,
    ) -> Result<Stored, MemFault> {
        if va & (W as u64 - 1) != 0 {
            self.unaligned_fixups += 1;
            let last = va.wrapping_add(W as u64 - 1);
            let (_, first_pa, _) = self.write_entry(space, code, va)?;
            self.write_entry(space, code, last)?;
            let mut killed_code = false;
            for i in 0..W as u64 {
                killed_code |= self
                    .store::<1>(space, code, va.wrapping_add(i), v >> (8 * i))?
                    .killed_code;
            }
            return Ok(Stored {
                pa: first_pa | (va & PAGE_MASK),
                killed_code,
            });
        }
        let (h, pa, is_code) = self.write_entry(space, code, va)?;
        h.store::<W>(va, v);
        let pa = pa | (va & PAGE_MASK);
        let killed_code = is_code && code.invalidate(pa, W as u64);
        Ok(Stored { pa, killed_code })
    }

    /// Translates `pc` for execution: the host page and the physical page address.
    #[inline]
    pub fn exec_entry(
        &mut self,
        space: &dyn PageTable,
        pc: u64,
    ) -> Result<(HostPage, u64), MemFault> {
        let i = slot(pc);
        let e = &self.exec[i];
        if e.tag == pc & !PAGE_MASK {
            if let Some(h) = e.host {
                return Ok((h, e.pa));
            }
        }
        let e = self.fill(space, pc, Access::Execute)?;
        self.exec[i] = e;
        let h = e.host.ok_or(MemFault {
            va: pc,
            access: Access::Execute,
        })?;
        Ok((h, e.pa))
    }
}
