//! HOOK for spin-dbpager: a file's own pager (`FilePager`) sees the faults
//! on its shared mappings, names the victims, and volunteers pages to
//! `PhysAddr.Reclaim`; the memory manager does the write-back and unmapping.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use common::*;
use spin_unix_mm::{Access, FilePager, MapFlags, Prot, Vm};

/// A FIFO pager of `budget` pages that logs what it hears.
struct Fifo {
    budget: usize,
    state: Mutex<FifoState>,
}

#[derive(Default)]
struct FifoState {
    resident: VecDeque<u64>,
    faults: Vec<(u64, bool)>,
    dropped: Vec<u64>,
    volunteered: Vec<u64>,
}

impl Fifo {
    fn new(budget: usize) -> Arc<Fifo> {
        Arc::new(Fifo {
            budget,
            state: Mutex::new(FifoState::default()),
        })
    }
}

impl FilePager for Fifo {
    fn faulted(&self, pg: u64, write: bool) -> Vec<u64> {
        let mut s = self.state.lock().unwrap();
        s.faults.push((pg, write));
        if s.resident.contains(&pg) {
            return Vec::new();
        }
        s.resident.push_back(pg);
        let mut out = Vec::new();
        while s.resident.len() > self.budget {
            out.extend(s.resident.pop_front());
        }
        out
    }
    fn dropped(&self, pg: u64) {
        let mut s = self.state.lock().unwrap();
        s.resident.retain(|&p| p != pg);
        s.dropped.push(pg);
    }
    fn volunteer(&self) -> Option<u64> {
        let mut s = self.state.lock().unwrap();
        let pg = s.resident.pop_front()?;
        s.volunteered.push(pg);
        Some(pg)
    }
}

fn map(vm: &Vm, file: &Arc<MemFile>, pages: u64) -> u64 {
    vm.mmap(
        0,
        pages * PAGE,
        Prot::RW,
        MapFlags::shared_file(),
        Some((file.backing(), 0)),
    )
    .unwrap()
}

#[test]
fn the_pager_names_victims_which_are_written_back_and_unmapped() {
    let (_k, mm) = setup(64, None);
    let file = MemFile::new(vec![0u8; 8 * PAGE as usize]);
    let id = file.backing().id();
    let vm = Vm::new(&mm).unwrap();
    assert!(!mm.set_file_pager(id, Some(Fifo::new(3))), "not mapped yet");
    let base = map(&vm, &file, 8);
    let pager = Fifo::new(3);
    assert!(mm.set_file_pager(id, Some(pager.clone())));
    let m = mm.file_mapping(vm.space(), base + 3 * PAGE).unwrap();
    assert_eq!((m.file_id, m.start, m.first_page), (id, base, 0));
    assert_eq!(m.end, base + 8 * PAGE);

    // Page 0 written (the fault is a write), then pages 1..8 read.
    vm.handle_fault(base, Access::Write).unwrap();
    vm.write(base + 10, b"dirty page zero").unwrap();
    for pg in 1..8 {
        vm.handle_fault(base + pg * PAGE, Access::Read).unwrap();
        let resident = (0..8).filter(|&p| mm.file_page_resident(id, p)).count();
        assert!(resident <= 3, "{resident} resident over a budget of 3");
    }
    let s = pager.state.lock().unwrap();
    assert_eq!(s.faults[0], (0, true));
    assert_eq!(s.faults.len(), 8);
    // Evicted pages are gone from the address space and the cache...
    for pg in 0..5 {
        assert!(vm.space().examine(base + pg * PAGE).is_none());
        assert!(!mm.file_page_resident(id, pg));
    }
    for pg in 5..8 {
        assert!(mm.file_page_resident(id, pg));
    }
    // ...and page 0's write reached the file on the way out.
    assert_eq!(&file.bytes()[10..25], b"dirty page zero");
    drop(s);
    // Faulting it back reads the file again.
    vm.handle_fault(base, Access::Read).unwrap();
    let mut got = [0u8; 15];
    vm.read(base + 10, &mut got).unwrap();
    assert_eq!(&got, b"dirty page zero");
}

#[test]
fn a_protected_page_faults_back_to_the_pager() {
    let (_k, mm) = setup(64, None);
    let file = MemFile::new(vec![0u8; 4 * PAGE as usize]);
    let id = file.backing().id();
    let vm = Vm::new(&mm).unwrap();
    let base = map(&vm, &file, 4);
    let pager = Fifo::new(4);
    assert!(mm.set_file_pager(id, Some(pager.clone())));
    vm.handle_fault(base + PAGE, Access::Read).unwrap();
    assert_eq!(mm.protect_file_page(id, 1, Prot::NONE), 1);
    assert_eq!(vm.space().examine(base + PAGE).unwrap().prot, Prot::NONE);
    // The next access faults; the memory manager gives the protection
    // back and the pager hears a reference to a resident page.
    vm.handle_fault(base + PAGE, Access::Write).unwrap();
    assert_eq!(vm.space().examine(base + PAGE).unwrap().prot, Prot::RW);
    let s = pager.state.lock().unwrap();
    assert_eq!(s.faults, vec![(1, false), (1, true)]);
    assert_eq!(s.resident.len(), 1);
}

#[test]
fn reclaim_asks_the_pager_first_and_other_losses_are_reported() {
    // A quota of 6 frames and a pager budget of 100: reclaim must come
    // from the pager's volunteers.
    let (_k, mm) = setup(64, Some(6));
    let file = MemFile::new(vec![0u8; 12 * PAGE as usize]);
    let id = file.backing().id();
    let vm = Vm::new(&mm).unwrap();
    let base = map(&vm, &file, 12);
    let pager = Fifo::new(100);
    assert!(mm.set_file_pager(id, Some(pager.clone())));
    for pg in 0..12 {
        vm.handle_fault(base + pg * PAGE, Access::Read).unwrap();
    }
    {
        let s = pager.state.lock().unwrap();
        assert!(!s.volunteered.is_empty(), "the pager was not asked");
        assert_eq!(s.volunteered[0], 0, "FIFO volunteers its oldest page");
        for pg in &s.volunteered {
            assert!(!mm.file_page_resident(id, *pg));
        }
    }
    assert!(mm.stats().reclaimed >= 6);
    // Truncation drops pages behind the pager's back: it is told.
    file.data.lock().unwrap().truncate(PAGE as usize);
    mm.file_changed(id, PAGE, 11 * PAGE);
    let s = pager.state.lock().unwrap();
    assert!(s.dropped.contains(&11), "dropped: {:?}", s.dropped);
    drop(s);
    // Removing the pager hands the pages back to the clock.
    assert!(mm.set_file_pager(id, None));
}

#[test]
fn unmapping_the_file_still_writes_it_back_and_retires_the_pager() {
    let (_k, mm) = setup(64, None);
    let file = MemFile::new(vec![0u8; 2 * PAGE as usize]);
    let id = file.backing().id();
    let vm = Vm::new(&mm).unwrap();
    let base = map(&vm, &file, 2);
    assert!(mm.set_file_pager(id, Some(Fifo::new(2))));
    vm.handle_fault(base + PAGE, Access::Write).unwrap();
    vm.write(base + PAGE, b"kept").unwrap();
    vm.munmap(base, 2 * PAGE).unwrap();
    // The pager does not keep the page cache alive: the last unmap wrote
    // the page back and freed the frames.
    assert_eq!(&file.bytes()[PAGE as usize..PAGE as usize + 4], b"kept");
    assert_eq!(mm.stats().resident_frames, 0);
    assert!(!mm.file_page_resident(id, 1));
}
