//! `Translation`: address-space contexts and their virtual→physical mappings.
//!
//! A context is an [`AddressSpace`], reached only through the `Cap<AddressSpace>`
//! that `Translation::create` returns: holding the capability is the authority to
//! add, remove and examine its mappings. Machines read mappings through the
//! [`PageTable`] trait; every change that could make a cached translation wrong
//! bumps the space's generation.
//!
//! Faults are events: `PageNotPresent`, `BadAddress` and `ProtectionFault`, each
//! carrying the context, address and access kind ([`FaultArgs`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use vm_memory::{Bytes, GuestAddress};

use super::{PageTable, PhysAddr, Prot, Pte, WalkFault};
use crate::cap::Cap;
use crate::event::Event;
use crate::machine::{Access, GuestRam};
use crate::strand::MoundId;

/// Arguments of the fault events (`PageNotPresent`, `BadAddress`, `ProtectionFault`).
#[derive(Debug, Clone)]
pub struct FaultArgs {
    /// The faulting context.
    pub space: Cap<AddressSpace>,
    /// Faulting virtual address.
    pub va: u64,
    /// What the access tried to do.
    pub access: Access,
}

/// A mapping as `examine` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Page-aligned virtual address.
    pub va: u64,
    /// Backing frame.
    pub frame: PhysAddr,
    /// Protection.
    pub prot: Prot,
    /// Set by the first access since the bit was last cleared.
    pub accessed: bool,
    /// Set by the first write since the bit was last cleared.
    pub dirty: bool,
}

/// Errors from mapping operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The virtual address is not page aligned.
    #[error("virtual address {0:#x} is not page aligned")]
    Unaligned(u64),
    /// The frame address is not page aligned or lies outside guest RAM.
    #[error("frame {0:#x} is not a page-aligned address inside guest RAM")]
    BadFrame(u64),
    /// No mapping exists at that address.
    #[error("no mapping at {0:#x}")]
    NotMapped(u64),
}

struct Entry {
    frame: PhysAddr,
    prot: Prot,
    accessed: AtomicBool,
    dirty: AtomicBool,
}

/// A page table keyed by virtual page number (page numbers need no
/// cryptographic mixing: see [`crate::hash`]).
type VpnMap<V> = crate::hash::FibMap<u64, V>;

/// One address-space context.
pub struct AddressSpace {
    asid: u64,
    owner: MoundId,
    page_shift: u32,
    ram: Arc<GuestRam>,
    entries: RwLock<VpnMap<Entry>>,
    generation: AtomicU64,
    /// The pages each recent generation changed, so a CPU a few generations
    /// behind drops only those translations instead of all of them.
    changes: Mutex<ChangeLog>,
}

/// Pages changed per generation, newest last: `(generation, first vpn,
/// pages)`; `pages == 0` means "everything" (a destroyed space).
#[derive(Default)]
struct ChangeLog {
    recent: std::collections::VecDeque<(u64, u64, u64)>,
}

/// Generations a [`ChangeLog`] remembers; a CPU further behind flushes all.
const CHANGE_LOG: usize = 32;

impl std::fmt::Debug for AddressSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressSpace")
            .field("asid", &self.asid)
            .field("owner", &self.owner)
            .field("pages", &self.len())
            .finish()
    }
}

impl AddressSpace {
    fn page_mask(&self) -> u64 {
        (1u64 << self.page_shift) - 1
    }

    fn read_entries(&self) -> std::sync::RwLockReadGuard<'_, VpnMap<Entry>> {
        // A poisoned lock means a panic while holding it; the map itself is still
        // consistent because every write is a single insert/remove.
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_entries(&self) -> std::sync::RwLockWriteGuard<'_, VpnMap<Entry>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A new generation that changed `pages` pages from virtual page number
    /// `vpn` on (0 pages: all of them).
    fn bump_pages(&self, vpn: u64, pages: u64) {
        let mut log = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        // Bumped under the log's lock, so the log holds every generation
        // in order and a reader sees each one it is told about.
        let generation = self.generation.fetch_add(1, Ordering::Release) + 1;
        if log.recent.len() == CHANGE_LOG {
            log.recent.pop_front();
        }
        log.recent.push_back((generation, vpn, pages));
    }

    fn bump(&self) {
        self.bump_pages(0, 0);
    }

    /// The mound that owns this context.
    pub fn owner(&self) -> MoundId {
        self.owner
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_shift
    }

    /// Number of mapped pages.
    pub fn len(&self) -> usize {
        self.read_entries().len()
    }

    /// Whether no page is mapped.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Guest RAM this context maps into.
    pub fn ram(&self) -> &Arc<GuestRam> {
        &self.ram
    }

    /// Adds (or replaces) the mapping of the page at `va` to `frame` with `prot`.
    pub fn map(&self, va: u64, frame: PhysAddr, prot: Prot) -> Result<(), MapError> {
        if va & self.page_mask() != 0 {
            return Err(MapError::Unaligned(va));
        }
        let in_ram = frame.0 & self.page_mask() == 0
            && crate::machine::host_ptr(&self.ram, frame, self.page_size() as usize).is_some();
        if !in_ram {
            return Err(MapError::BadFrame(frame.0));
        }
        let entry = Entry {
            frame,
            prot,
            accessed: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
        };
        let vpn = va >> self.page_shift;
        let old = self.write_entries().insert(vpn, entry);
        if let Some(old) = old {
            if old.frame != frame || !prot.contains(old.prot) {
                self.bump_pages(vpn, 1);
            }
        }
        Ok(())
    }

    /// Removes the mapping of the page at `va`, returning what it was.
    pub fn unmap(&self, va: u64) -> Option<Mapping> {
        let vpn = va >> self.page_shift;
        let old = self.write_entries().remove(&vpn)?;
        self.bump_pages(vpn, 1);
        Some(Self::mapping_of(vpn << self.page_shift, &old))
    }

    /// Changes the protection of the mapped page at `va`.
    pub fn protect(&self, va: u64, prot: Prot) -> Result<(), MapError> {
        let vpn = va >> self.page_shift;
        let mut map = self.write_entries();
        let entry = map.get_mut(&vpn).ok_or(MapError::NotMapped(va))?;
        let lowered = !prot.contains(entry.prot);
        entry.prot = prot;
        drop(map);
        if lowered {
            self.bump_pages(vpn, 1);
        }
        Ok(())
    }

    /// Changes the protection of every mapped page in `[va, va + len)`;
    /// returns how many pages were changed. Bumps the generation once.
    pub fn protect_range(&self, va: u64, len: u64, prot: Prot) -> usize {
        let first = va >> self.page_shift;
        let last = va.saturating_add(len).saturating_add(self.page_mask()) >> self.page_shift;
        let mut map = self.write_entries();
        let mut changed = 0;
        let mut lowered = false;
        for vpn in first..last {
            if let Some(e) = map.get_mut(&vpn) {
                lowered |= !prot.contains(e.prot);
                e.prot = prot;
                changed += 1;
            }
        }
        drop(map);
        if lowered {
            self.bump_pages(first, last.saturating_sub(first).max(1));
        }
        changed
    }

    /// Sets the protection of each mapped page in `[va, va + len)` to what
    /// `decide(page va, frame, current protection)` returns (`None`: leave
    /// it), under one lock and with at most one new generation; returns how
    /// many pages changed. An extension that keeps its own protections on a
    /// range (SPIN's VM workload) checks and changes them in one pass.
    pub fn reprotect_range(
        &self,
        va: u64,
        len: u64,
        mut decide: impl FnMut(u64, PhysAddr, Prot) -> Option<Prot>,
    ) -> usize {
        let first = va >> self.page_shift;
        let last = va.saturating_add(len).saturating_add(self.page_mask()) >> self.page_shift;
        let mut map = self.write_entries();
        let (mut changed, mut lowered) = (0, false);
        for vpn in first..last {
            if let Some(e) = map.get_mut(&vpn) {
                if let Some(p) = decide(vpn << self.page_shift, e.frame, e.prot) {
                    lowered |= !p.contains(e.prot);
                    e.prot = p;
                    changed += 1;
                }
            }
        }
        drop(map);
        if lowered {
            self.bump_pages(first, last.saturating_sub(first).max(1));
        }
        changed
    }

    /// Reports the mapping of the page containing `va`.
    pub fn examine(&self, va: u64) -> Option<Mapping> {
        let vpn = va >> self.page_shift;
        self.read_entries()
            .get(&vpn)
            .map(|e| Self::mapping_of(vpn << self.page_shift, e))
    }

    /// Clears the dirty bit of the page at `va`, returning its old value.
    pub fn clear_dirty(&self, va: u64) -> bool {
        let vpn = va >> self.page_shift;
        let was = self
            .read_entries()
            .get(&vpn)
            .is_some_and(|e| e.dirty.swap(false, Ordering::AcqRel));
        if was {
            // A CPU holding a writable TLB entry would not set the bit again.
            self.bump_pages(vpn, 1);
        }
        was
    }

    /// Clears the accessed bit of the page at `va`, returning its old value.
    pub fn clear_accessed(&self, va: u64) -> bool {
        let vpn = va >> self.page_shift;
        let was = self
            .read_entries()
            .get(&vpn)
            .is_some_and(|e| e.accessed.swap(false, Ordering::AcqRel));
        if was {
            self.bump_pages(vpn, 1);
        }
        was
    }

    /// Every mapping, sorted by virtual address (for fork, and for telemetry).
    pub fn mappings(&self) -> Vec<Mapping> {
        let map = self.read_entries();
        let mut out: Vec<Mapping> = map
            .iter()
            .map(|(vpn, e)| Self::mapping_of(vpn << self.page_shift, e))
            .collect();
        out.sort_by_key(|m| m.va);
        out
    }

    fn mapping_of(va: u64, e: &Entry) -> Mapping {
        Mapping {
            va,
            frame: e.frame,
            prot: e.prot,
            accessed: e.accessed.load(Ordering::Acquire),
            dirty: e.dirty.load(Ordering::Acquire),
        }
    }

    /// Copies `buf.len()` bytes from guest virtual memory at `va`, checking
    /// read permission page by page. On failure returns the first faulting
    /// address and why; nothing beyond that page has been read.
    pub fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), (u64, WalkFault)> {
        self.copy(va, buf.len(), Access::Read, |pa, off, n| {
            // The walk proved [pa, pa+n) lies inside RAM.
            self.ram
                .read_slice(&mut buf[off..off + n], GuestAddress(pa))
                .map_err(|_| WalkFault::NotPresent)
        })
    }

    /// Copies `data` into guest virtual memory at `va`, checking write
    /// permission page by page (and setting dirty bits).
    pub fn write(&self, va: u64, data: &[u8]) -> Result<(), (u64, WalkFault)> {
        self.copy(va, data.len(), Access::Write, |pa, off, n| {
            self.ram
                .write_slice(&data[off..off + n], GuestAddress(pa))
                .map_err(|_| WalkFault::NotPresent)
        })
    }

    fn copy(
        &self,
        va: u64,
        len: usize,
        access: Access,
        mut step: impl FnMut(u64, usize, usize) -> Result<(), WalkFault>,
    ) -> Result<(), (u64, WalkFault)> {
        let mut done = 0usize;
        while done < len {
            let cur = va
                .checked_add(done as u64)
                .ok_or((va, WalkFault::NotPresent))?;
            let in_page = (self.page_size() - (cur & self.page_mask())) as usize;
            let n = in_page.min(len - done);
            let pte = self.walk(cur, access).map_err(|f| (cur, f))?;
            step(pte.frame.0 + (cur & self.page_mask()), done, n).map_err(|f| (cur, f))?;
            done += n;
        }
        Ok(())
    }
}

impl PageTable for AddressSpace {
    fn asid(&self) -> u64 {
        self.asid
    }

    fn page_shift(&self) -> u32 {
        self.page_shift
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn changes_since(&self, seen: u64, upto: u64, pages: &mut dyn FnMut(u64, u64)) -> bool {
        let log = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        // Generations are logged consecutively (bumped under this lock), so
        // (seen, upto] is a contiguous run starting `seen + 1 - oldest` in;
        // every one of them must be there, none "all".
        let Some(&(oldest, _, _)) = log.recent.front() else {
            return false;
        };
        if seen >= upto || oldest > seen.saturating_add(1) {
            return false;
        }
        let start = (seen + 1 - oldest) as usize;
        let count = (upto - seen) as usize;
        if start + count > log.recent.len() {
            return false;
        }
        let span = log.recent.range(start..start + count);
        if span.clone().any(|&(_, _, n)| n == 0) {
            return false;
        }
        for &(_, vpn, n) in span {
            pages(vpn << self.page_shift, n);
        }
        true
    }

    fn peek(&self, va: u64) -> Option<(Pte, bool)> {
        let map = self.read_entries();
        let e = map.get(&(va >> self.page_shift))?;
        let pte = Pte {
            frame: e.frame,
            prot: e.prot,
            dirty: e.dirty.load(Ordering::Acquire),
        };
        Some((pte, e.accessed.load(Ordering::Acquire)))
    }

    fn walk(&self, va: u64, access: Access) -> Result<Pte, WalkFault> {
        let map = self.read_entries();
        let e = map
            .get(&(va >> self.page_shift))
            .ok_or(WalkFault::NotPresent)?;
        if !e.prot.permits(access) {
            return Err(WalkFault::Protection);
        }
        if !e.accessed.load(Ordering::Relaxed) {
            e.accessed.store(true, Ordering::Release);
        }
        let mut dirty = e.dirty.load(Ordering::Acquire);
        if access == Access::Write && !dirty {
            e.dirty.store(true, Ordering::Release);
            dirty = true;
        }
        Ok(Pte {
            frame: e.frame,
            prot: e.prot,
            dirty,
        })
    }
}

/// The Translation service: creates contexts and owns the fault events.
pub struct Translation {
    ram: Arc<GuestRam>,
    page_shift: u32,
    next_asid: AtomicU64,
    /// Raised when an access finds no mapping. Handlers return `true` when they
    /// resolved the fault (the access is retried).
    pub page_not_present: Event<FaultArgs, bool>,
    /// Raised when an access is outside any region the context's manager knows.
    pub bad_address: Event<FaultArgs, bool>,
    /// Raised when a mapping exists but does not permit the access.
    pub protection_fault: Event<FaultArgs, bool>,
}

impl Translation {
    /// Creates the service for a machine's RAM and page size.
    pub fn new(ram: Arc<GuestRam>, page_shift: u32) -> Translation {
        Translation {
            ram,
            page_shift,
            next_asid: AtomicU64::new(1),
            page_not_present: Event::new("Translation.PageNotPresent"),
            bad_address: Event::new("Translation.BadAddress"),
            protection_fault: Event::new("Translation.ProtectionFault"),
        }
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_shift
    }

    /// Creates an empty context owned by `owner`; the capability is the
    /// authority to change it.
    pub fn create(&self, owner: MoundId) -> Cap<AddressSpace> {
        Cap::new(AddressSpace {
            asid: self.next_asid.fetch_add(1, Ordering::Relaxed),
            owner,
            page_shift: self.page_shift,
            ram: self.ram.clone(),
            entries: RwLock::new(VpnMap::default()),
            generation: AtomicU64::new(0),
            changes: Mutex::new(ChangeLog::default()),
        })
    }

    /// Destroys a context: removes every mapping and returns them (so the
    /// manager can free the frames). Other holders of the capability see an
    /// empty space.
    pub fn destroy(&self, space: Cap<AddressSpace>) -> Vec<Mapping> {
        let all = space.mappings();
        space.write_entries().clear();
        space.bump();
        all
    }

    /// Raises the right fault event for a failed access at `va` and returns
    /// whether a handler resolved it.
    pub fn fault(&self, space: &Cap<AddressSpace>, va: u64, access: Access) -> bool {
        let args = FaultArgs {
            space: space.clone(),
            va,
            access,
        };
        let event = match space.examine(va) {
            None => &self.page_not_present,
            Some(m) if !m.prot.permits(access) => &self.protection_fault,
            Some(_) => return true, // already resolved (e.g. by another CPU)
        };
        match event.raise(&args) {
            Some(true) => true,
            _ => matches!(self.bad_address.raise(&args), Some(true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Handler, Principal};
    use crate::machine::new_guest_ram;

    fn setup() -> (Translation, Cap<AddressSpace>) {
        let ram = new_guest_ram(16 * 8192).unwrap();
        let t = Translation::new(ram, 13);
        let s = t.create(MoundId(1));
        (t, s)
    }

    /// The pages a CPU `seen` generations behind must drop: exactly those
    /// changed since, or `false` (drop everything) when the log no longer
    /// holds them all.
    fn changed(s: &AddressSpace, seen: u64, upto: u64) -> Option<Vec<(u64, u64)>> {
        let mut v = Vec::new();
        s.changes_since(seen, upto, &mut |va, n| v.push((va, n)))
            .then_some(v)
    }

    #[test]
    fn changes_since_names_exactly_the_pages_of_each_generation() {
        let (_t, s) = setup();
        let page = 8192;
        for i in 0..4 {
            s.map(0x1000_0000 + i * page, PhysAddr(i * page), Prot::RW)
                .unwrap();
        }
        let g0 = s.generation();
        s.protect(0x1000_0000, Prot::READ).unwrap();
        s.protect_range(0x1000_0000 + page, 2 * page, Prot::READ);
        let g2 = s.generation();
        assert_eq!(g2, g0 + 2);
        assert_eq!(
            changed(&s, g0, g2),
            Some(vec![(0x1000_0000, 1), (0x1000_0000 + page, 2)])
        );
        assert_eq!(changed(&s, g0 + 1, g2), Some(vec![(0x1000_0000 + page, 2)]));
        assert_eq!(changed(&s, g2, g2), None, "nothing newer to name");
        assert_eq!(changed(&s, g2, g2 + 1), None, "not logged yet");
        // Older than the log remembers: drop everything.
        for _ in 0..CHANGE_LOG {
            s.protect(0x1000_0000, Prot::READ).unwrap();
            s.protect(0x1000_0000, Prot::RW).unwrap();
        }
        assert_eq!(changed(&s, g0, s.generation()), None);
    }

    #[test]
    fn walk_sets_accessed_and_dirty_and_checks_protection() {
        let (_t, s) = setup();
        s.map(0x2000_0000, PhysAddr(0x4000), Prot::READ).unwrap();
        assert_eq!(
            s.walk(0x2000_0010, Access::Write),
            Err(WalkFault::Protection)
        );
        assert_eq!(
            s.walk(0x3000_0000, Access::Read),
            Err(WalkFault::NotPresent)
        );
        let pte = s.walk(0x2000_0010, Access::Read).unwrap();
        assert_eq!(pte.frame, PhysAddr(0x4000));
        let m = s.examine(0x2000_1fff).unwrap();
        assert!(m.accessed && !m.dirty);
        let g = s.generation();
        s.protect(0x2000_0000, Prot::RW).unwrap();
        assert_eq!(s.generation(), g, "raising protection needs no shootdown");
        s.walk(0x2000_0000, Access::Write).unwrap();
        assert!(s.examine(0x2000_0000).unwrap().dirty);
        assert!(s.clear_dirty(0x2000_0000));
        assert!(
            s.generation() > g,
            "clearing dirty invalidates cached writable entries"
        );
        let g = s.generation();
        s.protect(0x2000_0000, Prot::READ).unwrap();
        assert!(s.generation() > g);
    }

    #[test]
    fn map_rejects_bad_frames_and_unaligned_addresses() {
        let (_t, s) = setup();
        assert_eq!(
            s.map(0x1001, PhysAddr(0), Prot::RW),
            Err(MapError::Unaligned(0x1001))
        );
        assert_eq!(
            s.map(0x2000, PhysAddr(0x10), Prot::RW),
            Err(MapError::BadFrame(0x10))
        );
        assert_eq!(
            s.map(0x2000, PhysAddr(16 * 8192), Prot::RW),
            Err(MapError::BadFrame(16 * 8192))
        );
        assert_eq!(
            s.protect(0x8000, Prot::RW),
            Err(MapError::NotMapped(0x8000))
        );
    }

    #[test]
    fn read_write_across_pages_and_fault_reporting() {
        let (_t, s) = setup();
        s.map(0x10000, PhysAddr(0x2000), Prot::RW).unwrap();
        s.map(0x12000, PhysAddr(0x8000), Prot::READ).unwrap();
        let data: Vec<u8> = (0..100).collect();
        s.write(0x11fd0, &data[..48]).unwrap();
        let mut back = [0u8; 48];
        s.read(0x11fd0, &mut back).unwrap();
        assert_eq!(&back[..], &data[..48]);
        // Write spilling into the read-only page faults at that page's start.
        assert_eq!(
            s.write(0x11ff0, &data[..32]),
            Err((0x12000, WalkFault::Protection))
        );
        assert_eq!(
            s.read(0x13ff8, &mut back[..16]),
            Err((0x14000, WalkFault::NotPresent))
        );
        assert_eq!(
            s.read(u64::MAX - 3, &mut back[..16]).unwrap_err().1,
            WalkFault::NotPresent
        );
    }

    #[test]
    fn fault_events_reach_the_owners_handler() {
        let (t, s) = setup();
        let space = s.clone();
        t.page_not_present
            .install(
                &Principal::mound("mm", MoundId(1)),
                Handler::new(move |a: &FaultArgs| {
                    space
                        .map(a.va & !0x1fff, PhysAddr(0x6000), Prot::RW)
                        .is_ok()
                }),
            )
            .unwrap();
        assert!(t.fault(&s, 0x40_0010, Access::Write));
        assert!(s.walk(0x40_0010, Access::Write).is_ok());
        // No ProtectionFault handler: unresolved, BadAddress has none either.
        s.map(0x50_0000, PhysAddr(0x4000), Prot::READ).unwrap();
        assert!(!t.fault(&s, 0x50_0000, Access::Write));
        let gone = t.destroy(s.clone());
        assert_eq!(gone.len(), 2);
        assert!(s.is_empty());
    }
}
