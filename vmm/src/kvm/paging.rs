//! x86-64 page tables mirrored from the kernel's translations.
//!
//! The kernel's [`PageTable`] is the truth; each address space (by ASID)
//! gets a *mirror*: a 4-level table in the private region, filled on demand
//! (a ring-3 #PF the host resolves with [`PageTable::walk`]) and trimmed when
//! the space's generation moves ([`PageTable::changes_since`] names the
//! pages).
//!
//! The store discipline follows kvm.md quirk 2 and is correct everywhere:
//! the host writes a PTE directly only when it goes from not-present to
//! present (new tables, new leaves); every store to a present entry (a
//! removal, a downgrade, an upgrade, a new frame) is queued as an [`Op`] that
//! the shim performs — a guest write, which a shadow-paging host tracks —
//! followed by `invlpg`, before it returns to ring 3. Removals are also kept
//! in the mirror's log so other vCPUs running the same space replay them
//! (idempotent zero stores + `invlpg`) when they are kicked.
//!
//! Two ways to fewer exits and stores: a fill also installs the
//! neighbours the kernel maps ([`Tables::fill_around`]), and a removal of
//! every leaf of a page table unlinks the table (one PDE store and a CR3
//! reload; like every pool frame, the table's is never reused).
//!
//! One exception to "present entries go through the queue": an upgrade
//! that only adds write permission to a read-only leaf (same frame) is
//! stored directly — the write fault that asked for it already flushed the
//! stale translation ([`Tables::fill`]).
//!
//! Accessed and dirty bits stay the kernel's: a leaf is writable only once
//! the kernel's dirty bit is set (by a write walk, or already set when a
//! read walk filled it); clearing a bit in the kernel bumps the generation,
//! and the leaf goes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::Ordering;

use spin_kernel::machine::{Access, GuestRam};
use spin_kernel::mem::{PageTable, Prot, Pte};
use vm_memory::{Bytes, GuestAddress};

use super::backing::Backing;
use super::layout::{private, KBASE, KBASE_PML4_SLOT, LARGE_PAGE};

const P: u64 = 1;
const W: u64 = 2;
const U: u64 = 4;
const A: u64 = 0x20;
const D: u64 = 0x40;
const PS: u64 = 0x80;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000f_ffff_ffff_f000;
const TABLE: u64 = P | W | U | A;

/// Fewest leaves of one page table worth unlinking the table for.
pub const UNLINK_MIN: usize = 16;
/// Removals a mirror remembers for other vCPUs; one further behind reloads CR3.
const LOG_MAX: usize = 4096;
/// Mirrors kept before the least recently used idle one is recycled.
const MAX_MIRRORS: usize = 256;

/// One queued PTE store for the shim: `*pte = value; invlpg va`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// Offset of the PTE in the private region.
    pub pte: u64,
    /// The value to store.
    pub value: u64,
    /// The virtual address to invalidate.
    pub va: u64,
    /// The store unlinks a whole page table (a PDE): `invlpg` of one
    /// address is not enough, CR3 is reloaded after the queue.
    pub full_flush: bool,
}

impl Op {
    /// A leaf store (`invlpg va` after it).
    pub const fn leaf(pte: u64, value: u64, va: u64) -> Op {
        Op {
            pte,
            value,
            va,
            full_flush: false,
        }
    }
}

/// The machine's private memory: shim, tables, per-vCPU blocks, page tables.
pub struct Private {
    /// The memory (one vm-memory region).
    pub mem: GuestRam,
    /// Its guest physical base.
    pub gpa: u64,
    /// Its size in bytes.
    pub size: u64,
}

impl Private {
    /// Reads the quadword at `off` (atomically: the guest may be storing).
    pub fn load(&self, off: u64) -> u64 {
        self.mem
            .load(GuestAddress(self.gpa + off), Ordering::Acquire)
            .unwrap_or(0)
    }
    /// Stores a quadword at `off` (atomically).
    pub fn store(&self, off: u64, v: u64) {
        let r = self
            .mem
            .store(v, GuestAddress(self.gpa + off), Ordering::Release);
        debug_assert!(r.is_ok(), "private store at {off:#x} out of range");
    }
    /// Writes bytes at `off`.
    pub fn write(&self, off: u64, bytes: &[u8]) {
        let r = self.mem.write_slice(bytes, GuestAddress(self.gpa + off));
        debug_assert!(r.is_ok(), "private write at {off:#x} out of range");
    }
    /// Reads bytes at `off`.
    pub fn read(&self, off: u64, bytes: &mut [u8]) {
        if self
            .mem
            .read_slice(bytes, GuestAddress(self.gpa + off))
            .is_err()
        {
            bytes.fill(0);
        }
    }
    /// The kernel virtual address of `off`.
    pub const fn kva(&self, off: u64) -> u64 {
        KBASE + off
    }
    /// The guest physical address of `off`.
    pub const fn phys(&self, off: u64) -> u64 {
        self.gpa + off
    }
}

/// An address space's x86-64 tables.
struct Mirror {
    /// Offset of the PML4.
    pml4: u64,
    /// Bumped when the mirror is recycled for another space.
    incarnation: u64,
    /// Present leaves: 4 KiB page VA → offset of its PTE.
    leaves: BTreeMap<u64, u64>,
    /// The space generation the leaves agree with.
    seen: u64,
    /// Recent removals, for other vCPUs: `(sequence, op)`.
    log: VecDeque<(u64, Op)>,
    /// Sequence number of the next logged removal.
    next_seq: u64,
    /// vCPUs inside `run` with this mirror.
    active: u32,
    /// Last use (a counter), for recycling.
    used: u64,
}

/// What a vCPU has loaded and replayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loaded {
    /// ASID of the space (0: none).
    pub asid: u64,
    /// The mirror's PML4 offset and incarnation when loaded.
    pub pml4: u64,
    /// See [`Loaded::pml4`].
    pub incarnation: u64,
    /// Next removal sequence this vCPU has not replayed.
    pub cursor: u64,
}

/// What [`Tables::enter`] decided.
#[derive(Debug, Default)]
pub struct Entry {
    /// CR3 to load before ring 3 (0: keep the current one).
    pub cr3: u64,
    /// Other vCPUs may hold stale translations of this space: kick them.
    pub shootdown: bool,
}

/// The outcome of a demand fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// Written directly (not-present → present).
    Direct,
    /// Queued for the shim (the entry was present).
    Queued,
}

/// Why a fill failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillError {
    /// No frames left in the page-table pool.
    PoolExhausted,
    /// The kernel's frame is not inside guest RAM.
    BadFrame,
}

/// Every mirror of a machine, behind the machine's lock.
pub struct Tables {
    mirrors: HashMap<u64, Mirror>,
    next_frame: u64,
    end: u64,
    clock: u64,
    ram_end: u64,
    /// Host memory behind RAM and the private region, populated as leaves
    /// and table frames reach it ([`super::backing`]).
    backing: Backing,
    /// Guest physical base of the private region (for `backing`).
    private_gpa: u64,
}

impl Tables {
    /// Tables allocating frames from `[private::POOL, end)` of the private
    /// region; leaves may point below `ram_end`.
    pub fn new(end: u64, ram_end: u64) -> Tables {
        Tables {
            mirrors: HashMap::new(),
            next_frame: private::POOL,
            end,
            clock: 0,
            ram_end,
            backing: Backing::default(),
            private_gpa: 0,
        }
    }

    /// These tables with `backing` made real as the guest gets to see it:
    /// the private region's shared part (at guest physical `private_gpa`,
    /// below the vCPU blocks) at once, each vCPU block when the vCPU is
    /// made ([`Tables::back_private`]), each pool frame and each leaf's
    /// frame before it is used.
    pub fn with_backing(mut self, mut backing: Backing, private_gpa: u64) -> Tables {
        backing.ensure(private_gpa, private::CPUS);
        self.backing = backing;
        self.private_gpa = private_gpa;
        self
    }

    /// Makes the host memory behind `[off, off + len)` of the private
    /// region real (a vCPU block, before the vCPU is set up).
    pub fn back_private(&mut self, off: u64, len: u64) {
        self.backing.ensure(self.private_gpa + off, len);
    }

    /// Chunks of host memory populated so far.
    pub fn populated_chunks(&self) -> u64 {
        self.backing.populated()
    }

    /// Whether the host memory behind guest physical `gpa` is populated.
    pub fn is_populated(&self, gpa: u64) -> bool {
        self.backing.is_populated(gpa)
    }

    /// Page-table frames handed out so far.
    pub fn frames_used(&self) -> u64 {
        (self.next_frame - private::POOL) / 4096
    }

    /// Mirrors alive.
    pub fn mirrors(&self) -> usize {
        self.mirrors.len()
    }

    fn alloc(&mut self) -> Option<u64> {
        // Fresh frames only: one the guest never saw as a page table has no
        // shadow to go stale, so direct host stores into it are safe.
        if self.next_frame + 4096 > self.end {
            return None;
        }
        let f = self.next_frame;
        self.next_frame += 4096;
        self.backing.ensure(self.private_gpa + f, 4096);
        Some(f)
    }

    /// Writes the kernel half shared by every PML4: slot 256 → the PDPT
    /// → the PD mapping the private region with 2 MiB pages (supervisor).
    pub fn init_kernel_half(&self, mem: &Private) {
        mem.store(
            private::KERNEL_PDPT,
            mem.phys(private::KERNEL_PD) | P | W | A,
        );
        let mut off = 0;
        while off < mem.size {
            let i = off / LARGE_PAGE;
            mem.store(
                private::KERNEL_PD + 8 * i,
                mem.phys(off) | P | W | A | D | PS,
            );
            off += LARGE_PAGE;
        }
    }

    /// A PML4 holding only the kernel half (CR3 before any space is loaded).
    pub fn boot_pml4(&mut self, mem: &Private) -> Option<u64> {
        let pml4 = self.alloc()?;
        mem.store(
            pml4 + 8 * KBASE_PML4_SLOT as u64,
            mem.phys(private::KERNEL_PDPT) | P | W | A,
        );
        Some(pml4)
    }

    /// Prepares `space`'s mirror for a vCPU that last had `loaded`: brings
    /// the mirror up to the space's generation (queuing removals into `ops`),
    /// queues removals other vCPUs logged since this one last looked, and
    /// says whether CR3 must be loaded. Marks the mirror active.
    pub fn enter(
        &mut self,
        mem: &Private,
        space: &dyn PageTable,
        loaded: &mut Loaded,
        ops: &mut Vec<Op>,
    ) -> Result<Entry, FillError> {
        let asid = space.asid();
        self.clock += 1;
        if !self.mirrors.contains_key(&asid) {
            let m = self.new_mirror(mem, ops)?;
            self.mirrors.insert(asid, m);
        }
        let clock = self.clock;
        let room = self.unlink_room();
        let m = self.mirrors.get_mut(&asid).expect("inserted above");
        m.used = clock;
        m.active += 1;
        let mut entry = Entry::default();
        let fresh =
            loaded.asid != asid || loaded.pml4 != m.pml4 || loaded.incarnation != m.incarnation;
        if fresh {
            entry.cr3 = mem.phys(m.pml4);
            *loaded = Loaded {
                asid,
                pml4: m.pml4,
                incarnation: m.incarnation,
                cursor: m.next_seq,
            };
        } else {
            let oldest = m.log.front().map_or(m.next_seq, |&(s, _)| s);
            if loaded.cursor < oldest {
                entry.cr3 = mem.phys(m.pml4);
            } else {
                ops.extend(
                    m.log
                        .iter()
                        .filter(|(s, _)| *s >= loaded.cursor)
                        .map(|(_, o)| *o),
                );
            }
            loaded.cursor = m.next_seq;
        }
        let removed = Self::catch_up(m, mem, space, ops, room);
        loaded.cursor = m.next_seq;
        entry.shootdown = removed && m.active > 1;
        Ok(entry)
    }

    /// For a vCPU already running `space` (after work done in place): brings
    /// the mirror up to the space's generation and queues removals other
    /// vCPUs logged. Returns whether other vCPUs must be kicked.
    pub fn refresh(
        &mut self,
        mem: &Private,
        space: &dyn PageTable,
        loaded: &mut Loaded,
        ops: &mut Vec<Op>,
    ) -> bool {
        let room = self.unlink_room();
        let Some(m) = self.mirrors.get_mut(&space.asid()) else {
            return false;
        };
        if m.seen == space.generation() && loaded.cursor == m.next_seq {
            return false;
        }
        ops.extend(
            m.log
                .iter()
                .filter(|(s, _)| *s >= loaded.cursor)
                .map(|(_, o)| *o),
        );
        let removed = Self::catch_up(m, mem, space, ops, room);
        loaded.cursor = m.next_seq;
        removed && m.active > 1
    }

    /// Marks `asid`'s mirror idle on one vCPU.
    pub fn leave(&mut self, asid: u64) {
        if let Some(m) = self.mirrors.get_mut(&asid) {
            m.active = m.active.saturating_sub(1);
        }
    }

    /// Whether `space` moved past what its mirror has seen.
    pub fn behind(&self, space: &dyn PageTable) -> bool {
        self.mirrors
            .get(&space.asid())
            .is_some_and(|m| m.seen != space.generation())
    }

    /// Whether the pool has room to spare for unlinking whole page tables
    /// (an unlinked table's frame is not reused, like every pool frame; a
    /// pool three-quarters used falls back to clearing leaf by leaf).
    fn unlink_room(&self) -> bool {
        let cap = self.end.saturating_sub(private::POOL);
        (self.next_frame - private::POOL) < cap / 4 * 3
    }

    /// Offset of the PDE covering user address `va` in the tables under
    /// `pml4`, if the PDPT and PD exist.
    fn pde_slot(mem: &Private, pml4: u64, va: u64) -> Option<u64> {
        let mut table = pml4;
        for level in [39u32, 30] {
            let e = mem.load(table + 8 * ((va >> level) & 511));
            if e & P == 0 {
                return None;
            }
            table = (e & ADDR).checked_sub(mem.gpa)?;
        }
        Some(table + 8 * ((va >> 21) & 511))
    }

    /// Brings `m` up to the space's generation; returns whether leaves went.
    ///
    /// A page table all of whose present leaves go (at least
    /// [`UNLINK_MIN`] of them: a large `munmap`) is unlinked instead — one
    /// queued PDE store and a CR3 reload rather than a store and an
    /// `invlpg` per leaf, each of which a PVM host emulates — when `room`
    /// allows. Its frame is never reused (no frame the guest saw as a page
    /// table is; the next fill in that range takes a fresh table).
    fn catch_up(
        m: &mut Mirror,
        mem: &Private,
        space: &dyn PageTable,
        ops: &mut Vec<Op>,
        room: bool,
    ) -> bool {
        let upto = space.generation();
        if upto == m.seen {
            return false;
        }
        let shift = space.page_shift();
        let mut doomed: Vec<u64> = Vec::new();
        let named = space.changes_since(m.seen, upto, &mut |va, pages| {
            let end = va.saturating_add(pages << shift);
            doomed.extend(m.leaves.range(va..end).map(|(&v, _)| v));
        });
        if !named {
            doomed.clear();
            doomed.extend(m.leaves.keys().copied());
        }
        m.seen = upto;
        doomed.sort_unstable();
        doomed.dedup();
        let any = !doomed.is_empty();
        let mut log = |m: &mut Mirror, op: Op| {
            ops.push(op);
            m.log.push_back((m.next_seq, op));
            m.next_seq += 1;
            if m.log.len() > LOG_MAX {
                m.log.pop_front();
            }
        };
        let mut i = 0;
        while i < doomed.len() {
            let region = doomed[i] & !(LARGE_PAGE - 1);
            let j = i + doomed[i..].partition_point(|&v| v < region + LARGE_PAGE);
            let here = j - i;
            let whole = room
                && here >= UNLINK_MIN
                && m.leaves.range(region..region + LARGE_PAGE).count() == here;
            let pde = if whole {
                Self::pde_slot(mem, m.pml4, region)
            } else {
                None
            };
            match pde {
                Some(pde) => {
                    for va in &doomed[i..j] {
                        m.leaves.remove(va);
                    }
                    log(
                        m,
                        Op {
                            pte: pde,
                            value: 0,
                            va: region,
                            full_flush: true,
                        },
                    );
                }
                None => {
                    for va in &doomed[i..j] {
                        if let Some(pte) = m.leaves.remove(va) {
                            log(m, Op::leaf(pte, 0, *va));
                        }
                    }
                }
            }
            i = j;
        }
        any
    }

    fn new_mirror(&mut self, mem: &Private, ops: &mut Vec<Op>) -> Result<Mirror, FillError> {
        if self.mirrors.len() >= MAX_MIRRORS {
            // Recycle the least recently used idle mirror: its leaves are
            // cleared by the shim (queued first, applied before CR3 moves).
            let victim = self
                .mirrors
                .iter()
                .filter(|(_, m)| m.active == 0)
                .min_by_key(|(_, m)| m.used)
                .map(|(&a, _)| a);
            if let Some(asid) = victim {
                let mut m = self.mirrors.remove(&asid).expect("found above");
                for (va, pte) in std::mem::take(&mut m.leaves) {
                    ops.push(Op::leaf(pte, 0, va));
                }
                m.incarnation += 1;
                m.log.clear();
                m.seen = 0;
                m.active = 0;
                return Ok(m);
            }
        }
        let pml4 = self.alloc().ok_or(FillError::PoolExhausted)?;
        mem.store(
            pml4 + 8 * KBASE_PML4_SLOT as u64,
            mem.phys(private::KERNEL_PDPT) | P | W | A,
        );
        Ok(Mirror {
            pml4,
            incarnation: 0,
            leaves: BTreeMap::new(),
            seen: 0,
            log: VecDeque::new(),
            next_seq: 0,
            active: 0,
            used: self.clock,
        })
    }

    /// Installs the 4 KiB page containing user address `va` of `space` from
    /// the kernel's `pte` (found by a walk with `access`): writable only if
    /// the walk left the kernel's dirty bit set (a write walk, or a page
    /// already dirty). A present entry is changed through `ops`, unless the
    /// change only adds write permission ([`is_upgrade`]).
    pub fn fill(
        &mut self,
        mem: &Private,
        space: &dyn PageTable,
        va: u64,
        pte: Pte,
        access: Access,
        ops: &mut Vec<Op>,
    ) -> Result<Fill, FillError> {
        let page = va & !0xfff;
        let in_page = va & ((1u64 << space.page_shift()) - 1) & !0xfff;
        let frame = pte.frame.0 + in_page;
        if frame + 4096 > self.ram_end {
            return Err(FillError::BadFrame);
        }
        // The host page behind the frame is real before a leaf names it.
        self.backing.ensure(frame, 4096);
        let mut value = frame | P | U | A;
        if pte.prot.contains(Prot::WRITE) && (access == Access::Write || pte.dirty) {
            value |= W | D;
        }
        if !pte.prot.contains(Prot::EXEC) {
            value |= NX;
        }
        let pml4 = self
            .mirrors
            .get(&space.asid())
            .map(|m| m.pml4)
            .ok_or(FillError::PoolExhausted)?;
        let mut table = pml4;
        for level in [39u32, 30, 21] {
            let slot = table + 8 * ((page >> level) & 511);
            let e = mem.load(slot);
            table = if e & P != 0 {
                (e & ADDR) - mem.gpa
            } else {
                let t = self.alloc().ok_or(FillError::PoolExhausted)?;
                mem.store(slot, mem.phys(t) | TABLE);
                t
            };
        }
        let slot = table + 8 * ((page >> 12) & 511);
        let m = self
            .mirrors
            .get_mut(&space.asid())
            .expect("looked up above");
        m.leaves.insert(page, slot);
        let old = mem.load(slot);
        if old & P == 0 || (is_upgrade(old, value) && !ops.iter().any(|o| o.pte == slot)) {
            mem.store(slot, value);
            Ok(Fill::Direct)
        } else {
            ops.push(Op::leaf(slot, value, page));
            Ok(Fill::Queued)
        }
    }
}

impl Tables {
    /// After a fill at `va`: installs the other pages of its aligned
    /// [`FILL_AROUND`]-page block that the kernel maps young (accessed bit
    /// set) and the mirror lacks, so a program walking through fresh memory
    /// (which the UNIX mound maps in blocks, young, `Layout::fault_around`)
    /// takes one exit per block, not per page; when the whole block was
    /// there, the rest of its 2 MiB page table too. Pages not young are left to
    /// fault: installing them would set no bit ([`PageTable::peek`]) but
    /// would hide the first access a pager's clock waits for. Each is
    /// writable only if the kernel's dirty bit is already set. Returns how
    /// many were installed.
    pub fn fill_around(
        &mut self,
        mem: &Private,
        space: &dyn PageTable,
        va: u64,
        ops: &mut Vec<Op>,
    ) -> usize {
        if space.page_shift() != 12 {
            return 0;
        }
        let page = va & !0xfff;
        let base = va & !(FILL_AROUND * 4096 - 1);
        let (n, whole) = self.fill_block(mem, space, page, base, FILL_AROUND, ops);
        if !whole {
            return n;
        }
        // The whole block was there (a long fill the UNIX mound maps in
        // 2 MiB blocks): the rest of its page table too, one exit for it.
        let table = va & !(LARGE_PAGE - 1);
        let mut more = 0;
        for b in (table..table + LARGE_PAGE).step_by((FILL_AROUND * 4096) as usize) {
            if b != base {
                more += self.fill_block(mem, space, page, b, FILL_AROUND, ops).0;
            }
        }
        n + more
    }

    /// Installs the young pages of the `pages`-page block at `base` (but
    /// `skip`) the mirror lacks; returns how many, and whether every page
    /// of the block is in the mirror now.
    fn fill_block(
        &mut self,
        mem: &Private,
        space: &dyn PageTable,
        skip: u64,
        base: u64,
        pages: u64,
        ops: &mut Vec<Op>,
    ) -> (usize, bool) {
        let Some(m) = self.mirrors.get(&space.asid()) else {
            return (0, false);
        };
        let todo: Vec<u64> = (0..pages)
            .map(|i| base + i * 4096)
            .filter(|&p| p != skip && !m.leaves.contains_key(&p))
            .collect();
        let mut n = 0;
        let mut whole = true;
        for p in todo {
            let Some((pte, true)) = space.peek(p) else {
                whole = false;
                continue;
            };
            if pte.prot.permits(Access::Read)
                && self.fill(mem, space, p, pte, Access::Read, ops).is_ok()
            {
                n += 1;
            } else {
                whole = false;
            }
        }
        (n, whole)
    }
}

/// Pages [`Tables::fill_around`] considers (an aligned block; 256 KiB: a
/// walk and a store each, ~0.2 µs, against an exit of 20–40 µs on PVM).
pub const FILL_AROUND: u64 = 64;

/// Whether storing `new` over the present leaf `old` only adds write
/// permission (same frame, same other rights). Like P 0→1 this needs no
/// guest store: a write through the stale read-only translation faults, and
/// that fault both drops the translation from the TLB (x86 invalidates the
/// faulting address on #PF) and makes a shadow-paging host re-walk the
/// guest tables — so the host may write it directly. (A removal queued for
/// the same slot in this batch must stay ordered: such a store is queued.)
fn is_upgrade(old: u64, new: u64) -> bool {
    old & P != 0 && old & W == 0 && new & W != 0 && (old & !(W | D)) == (new & !(W | D))
}

#[cfg(test)]
mod tests;
