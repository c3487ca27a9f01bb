//! Fault-around on x86-64 (4 KiB pages, `Layout::x86_64().fault_around`):
//! one demand-zero fault of an anonymous private region maps the aligned
//! block around the page, inside the region only, marked written after a
//! write fault, and a long sequential fill in 2 MiB blocks; a read fault
//! of a private file mapping maps the cached file pages of its block;
//! quotas and copy-on-write fork are unchanged; Alpha maps one page per
//! fault.

mod common;

use std::sync::Arc;

use common::MemFile;
use spin_kernel::machine::new_guest_ram;
use spin_kernel::{Arch, Kernel, KernelConfig, MoundId};
use spin_unix_mm::{Access, Layout, MapFlags, MemoryManager, Prot, Vm};

const PAGE: u64 = 4096;
const MOUND: MoundId = MoundId(1);

fn setup(frames: u64, quota: Option<u64>) -> (Arc<Kernel>, Arc<MemoryManager>) {
    let (k, _) = Kernel::boot(
        new_guest_ram(frames * PAGE).unwrap(),
        KernelConfig {
            arch: Arch::X86_64,
            ..KernelConfig::default()
        },
    );
    let mm = MemoryManager::new(&k, MOUND, quota);
    (k, mm)
}

fn block() -> u64 {
    Layout::x86_64().fault_around * PAGE
}

/// An anonymous region of `pages` pages starting on a block boundary.
fn aligned_anon(vm: &Vm, pages: u64) -> u64 {
    let a = vm
        .mmap(
            0,
            pages * PAGE + block(),
            Prot::RW,
            MapFlags::private_anon(),
            None,
        )
        .unwrap();
    let start = a.next_multiple_of(block());
    vm.munmap(a, start - a).unwrap();
    let end = start + pages * PAGE;
    vm.munmap(end, a + pages * PAGE + block() - end).unwrap();
    start
}

#[test]
fn a_write_fault_maps_the_block_around_it_written_and_zeroed() {
    let (k, mm) = setup(1024, None);
    let vm = Vm::new(&mm).unwrap();
    let n = Layout::x86_64().fault_around;
    assert!(n > 1);
    let a = aligned_anon(&vm, 2 * n);
    vm.handle_fault(a + 3 * PAGE + 8, Access::Write).unwrap();
    assert_eq!(vm.resident(), n, "the whole block");
    assert_eq!(k.phys.used_by(MOUND), n);
    for i in (0..n).filter(|&i| i != 3) {
        let m = vm.space().examine(a + i * PAGE).unwrap();
        assert!(m.prot.contains(Prot::WRITE));
        assert!(m.dirty && m.accessed, "page {i} marked written: {m:?}");
    }
    assert!(
        vm.space().examine(a + n * PAGE).is_none(),
        "next block untouched"
    );
    let mut buf = vec![1u8; (n * PAGE) as usize];
    vm.read(a, &mut buf).unwrap();
    assert!(buf.iter().all(|b| *b == 0), "zero-filled");
    let s = mm.stats();
    assert_eq!(s.fault_around, n - 1);
    assert_eq!(s.zero_fills, n);
    // A read fault maps its block too, clean.
    vm.handle_fault(a + n * PAGE, Access::Read).unwrap();
    assert_eq!(vm.resident(), 2 * n);
    let m = vm.space().examine(a + (n + 1) * PAGE).unwrap();
    assert!(!m.dirty, "after a read fault the neighbours stay clean");
    assert!(m.accessed, "and young");
}

#[test]
fn the_block_stays_inside_the_region_and_skips_pages_already_there() {
    let (_k, mm) = setup(1024, None);
    let vm = Vm::new(&mm).unwrap();
    let n = Layout::x86_64().fault_around;
    let a = aligned_anon(&vm, n);
    // A page written first (through the fault path, mapping the block
    // around it), then a hole punched and refaulted next to it.
    vm.write(a + PAGE, b"kept").unwrap();
    assert_eq!(vm.resident(), n);
    vm.munmap(a + (n - 2) * PAGE, PAGE).unwrap();
    vm.handle_fault(a + (n - 3) * PAGE, Access::Write).unwrap();
    let before = vm.resident();
    assert_eq!(before, n - 1, "block minus the hole");
    let mut back = [0u8; 4];
    vm.read(a + PAGE, &mut back).unwrap();
    assert_eq!(&back, b"kept", "a page already there is not replaced");
    assert!(vm.space().examine(a + (n - 2) * PAGE).is_none(), "the hole");
    // A fault in a region smaller than a block maps only the region.
    let small = vm
        .mmap(0, 2 * PAGE, Prot::RW, MapFlags::private_anon(), None)
        .unwrap();
    vm.handle_fault(small, Access::Write).unwrap();
    assert_eq!(vm.resident(), before + 2);
}

#[test]
fn fault_around_takes_no_frame_beyond_the_quota_and_reclaims_nothing() {
    let (_k, mm) = setup(1024, Some(5));
    let vm = Vm::new(&mm).unwrap();
    let a = aligned_anon(&vm, Layout::x86_64().fault_around);
    vm.handle_fault(a, Access::Write).unwrap();
    assert_eq!(vm.resident(), 5, "stops at the quota");
    assert_eq!(mm.stats().reclaimed, 0);
    assert_eq!(mm.stats().swapped_out, 0);
}

#[test]
fn fork_after_fault_around_is_still_copy_on_write() {
    let (_k, mm) = setup(1024, None);
    let parent = Vm::new(&mm).unwrap();
    let n = Layout::x86_64().fault_around;
    let a = aligned_anon(&parent, n);
    parent.write(a, b"parent").unwrap();
    let child = parent.fork().unwrap();
    // A page mapped around (never written) is shared, then copied on write.
    child.write(a + 2 * PAGE, b"child").unwrap();
    let mut p = [0u8; 5];
    parent.read(a + 2 * PAGE, &mut p).unwrap();
    assert_eq!(p, [0u8; 5], "the parent keeps its zero page");
    let mut c = [0u8; 6];
    child.read(a, &mut c).unwrap();
    assert_eq!(&c, b"parent");
    assert_ne!(
        parent.space().examine(a + 2 * PAGE).unwrap().frame,
        child.space().examine(a + 2 * PAGE).unwrap().frame
    );
}

#[test]
fn file_mappings_and_alpha_map_one_page_per_fault() {
    // Alpha: one page per fault.
    let (k, _) = Kernel::boot(new_guest_ram(256 * 8192).unwrap(), KernelConfig::default());
    let mm = MemoryManager::new(&k, MOUND, None);
    let vm = Vm::new(&mm).unwrap();
    let a = vm
        .mmap(0, 32 * 8192, Prot::RW, MapFlags::private_anon(), None)
        .unwrap();
    vm.handle_fault(a, Access::Write).unwrap();
    assert_eq!(vm.resident(), 1);
    assert_eq!(mm.stats().fault_around, 0);
}

#[test]
fn streaming_faults_map_a_larger_block() {
    let (_k, mm) = setup(4096, None);
    let vm = Vm::new(&mm).unwrap();
    let n = Layout::x86_64().fault_around;
    let a = aligned_anon(&vm, 16 * n);
    vm.handle_fault(a, Access::Write).unwrap();
    assert_eq!(vm.resident(), n, "a first fault: one block");
    // The next block's first fault finds the block below: streaming.
    vm.handle_fault(a + n * PAGE, Access::Write).unwrap();
    let r = vm.resident();
    assert!(r > 2 * n, "streaming maps more than a block: {r}");
    assert!(r <= 4 * n + n, "bounded: {r}");
    // Everything mapped is inside the region.
    assert!(vm.space().examine(a + 16 * n * PAGE).is_none());
}

#[test]
fn a_long_fill_maps_2_mib_blocks_inside_the_region() {
    let (_k, mm) = setup(4096, None);
    let vm = Vm::new(&mm).unwrap();
    let n = Layout::x86_64().fault_around;
    let big = 512;
    let a = aligned_anon(&vm, 2 * big + 8 * n);
    // Fill upwards a page at a time, as a loop over a fresh buffer does;
    // count the faults it takes (a page already mapped takes none).
    let mut faults = 0;
    for p in 0..2 * big {
        if vm.space().examine(a + p * PAGE).is_none() {
            vm.handle_fault(a + p * PAGE, Access::Write).unwrap();
            faults += 1;
        }
    }
    assert!(faults <= 8, "{faults} faults for {} pages", 2 * big);
    assert!(vm.space().examine(a + (2 * big + 8 * n) * PAGE).is_none());
    let r = vm.resident();
    assert!(
        r <= 2 * big + big,
        "bounded by one block past the fill: {r}"
    );
}

#[test]
fn a_read_fault_of_a_file_mapping_maps_the_cached_block_around_it() {
    let (_k, mm) = setup(1024, None);
    let vm = Vm::new(&mm).unwrap();
    let n = Layout::x86_64().fault_around;
    let pages = 3 * n;
    let contents: Vec<u8> = (0..pages * PAGE)
        .map(|i| (i / PAGE * 7 + i % 251) as u8)
        .collect();
    let file = MemFile::new(contents.clone());
    let a = vm
        .mmap(
            0,
            pages * PAGE,
            Prot::RX,
            MapFlags::private_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    let at = a + (n + n / 2) * PAGE;
    vm.handle_fault(at, Access::Execute).unwrap();
    let block = n * PAGE;
    let (lo, hi) = (
        (at & !(block - 1)).max(a),
        ((at & !(block - 1)) + block).min(a + pages * PAGE),
    );
    assert_eq!(
        vm.resident(),
        (hi - lo) / PAGE,
        "the block inside the region"
    );
    for p in (a..a + pages * PAGE).step_by(PAGE as usize) {
        let m = vm.space().examine(p);
        assert_eq!(m.is_some(), (lo..hi).contains(&p), "{p:#x}");
        if let Some(m) = m {
            // The faulting page is made young by the machine's retry.
            let faulting = p == at & !(PAGE - 1);
            assert!(
                m.accessed || faulting,
                "young, for a machine to install at once"
            );
            assert!(!m.prot.contains(Prot::WRITE));
            let mut b = vec![0u8; PAGE as usize];
            vm.read(p, &mut b).unwrap();
            let off = (p - a) as usize;
            assert_eq!(b, contents[off..off + PAGE as usize]);
        }
    }
    assert_eq!(mm.stats().fault_around, (hi - lo) / PAGE - 1);
}
