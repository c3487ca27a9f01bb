//! Reclaim under a tight frame quota: the clock picks victims, dirty pages go
//! to swap or back to their file, clean ones are dropped, and every byte
//! comes back.

mod common;

use std::sync::Arc;

use common::*;
use spin_kernel::MoundId;
use spin_unix_mm::{MapFlags, MemoryManager, Prot, Vm};

/// Writes a distinct pattern to each of `pages` pages at `a`.
fn fill(vm: &Vm, a: u64, pages: u64, seed: u64) {
    for i in 0..pages {
        vm.write(a + i * PAGE, &pattern(seed + i, PAGE as usize))
            .unwrap();
    }
}

fn check(vm: &Vm, a: u64, pages: u64, seed: u64) {
    for i in 0..pages {
        let got = read_page(vm, a + i * PAGE);
        let want = pattern(seed + i, PAGE as usize);
        if got != want {
            let first_bad = got.iter().zip(&want).position(|(g, w)| g != w).unwrap_or(0);
            panic!(
                "page {i} of {pages}: differs from byte {first_bad}: starts {:?}, wanted seed {} (starts {:?})",
                &got[..4],
                seed + i,
                &want[..4]
            );
        }
    }
}

#[test]
fn anonymous_pages_survive_swap_under_a_tight_quota() {
    let (k, mm) = setup(256, Some(16));
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 64, Prot::RW);
    fill(&vm, a, 64, 1);
    assert!(k.phys.used_by(MOUND) <= 16);
    check(&vm, a, 64, 1);
    check(&vm, a, 64, 1);
    let s = mm.stats();
    assert!(s.swapped_out >= 48, "{s:?}");
    assert!(s.swapped_in >= 48, "{s:?}");
    assert!(s.reclaimed >= 96, "{s:?}");
    assert!(s.resident_frames <= 16);
    assert_eq!(s.resident_frames, k.phys.used_by(MOUND));
    drop(vm);
    let s = mm.stats();
    assert_eq!(
        (s.resident_frames, s.swap_slots_used),
        (0, 0),
        "nothing leaks"
    );
    assert_eq!(k.phys.used_by(MOUND), 0);
}

#[test]
fn untouched_zero_pages_and_clean_file_pages_are_dropped_not_swapped() {
    let (_k, mm) = setup(256, Some(8));
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 32, Prot::READ);
    for i in 0..32 {
        assert_eq!(vm.read_u64(a + i * PAGE), Ok(0));
    }
    let contents = pattern(3, 32 * PAGE as usize);
    let file = MemFile::new(contents.clone());
    let f = vm
        .mmap(
            0,
            32 * PAGE,
            Prot::READ,
            MapFlags::private_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    let mut back = vec![0u8; contents.len()];
    vm.read(f, &mut back).unwrap();
    assert_eq!(back, contents);
    let s = mm.stats();
    assert_eq!(s.swapped_out, 0, "{s:?}");
    assert!(s.dropped_clean >= 50, "{s:?}");
}

#[test]
fn dirty_shared_file_pages_are_written_back_when_evicted() {
    let (_k, mm) = setup(256, Some(8));
    let file = MemFile::new(vec![0u8; 32 * PAGE as usize]);
    let vm = Vm::new(&mm).unwrap();
    let s = vm
        .mmap(
            0,
            32 * PAGE,
            Prot::RW,
            MapFlags::shared_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    fill(&vm, s, 32, 40);
    let stats = mm.stats();
    assert!(stats.writebacks >= 24, "{stats:?}");
    assert_eq!(
        stats.swapped_out, 0,
        "file pages go to their file, not to swap"
    );
    check(&vm, s, 32, 40);
    mm.writeback(file.backing().id());
    let bytes = file.bytes();
    for i in 0..32u64 {
        let p = (i * PAGE) as usize;
        assert_eq!(
            bytes[p..p + PAGE as usize],
            pattern(40 + i, PAGE as usize)[..],
            "page {i}"
        );
    }
}

#[test]
fn shared_anonymous_and_cow_pages_survive_swap() {
    let (k, mm) = setup(256, Some(12));
    let parent = Vm::new(&mm).unwrap();
    let private = anon(&parent, 16, Prot::RW);
    let shared = parent
        .mmap(0, 16 * PAGE, Prot::RW, MapFlags::shared_anon(), None)
        .unwrap();
    fill(&parent, private, 16, 100);
    fill(&parent, shared, 16, 200);
    let child = parent.fork().unwrap();
    // Push everything out through the child's own writes.
    let scratch = anon(&child, 16, Prot::RW);
    fill(&child, scratch, 16, 300);
    check(&child, private, 16, 100);
    check(&parent, private, 16, 100);
    check(&child, shared, 16, 200);
    // Shared stays shared after swapping; private stays private.
    child.write(shared + 5 * PAGE, b"from child").unwrap();
    child.write(private + 5 * PAGE, b"child only").unwrap();
    let mut got = [0u8; 10];
    parent.read(shared + 5 * PAGE, &mut got).unwrap();
    assert_eq!(&got, b"from child");
    parent.read(private + 5 * PAGE, &mut got).unwrap();
    assert_eq!(got, pattern(105, 10)[..]);
    check(&child, scratch, 16, 300);
    assert!(mm.stats().swapped_out > 0);
    assert!(k.phys.used_by(MOUND) <= 12);
    drop(child);
    drop(parent);
    let s = mm.stats();
    assert_eq!((s.resident_frames, s.swap_slots_used), (0, 0), "{s:?}");
}

#[test]
fn another_mound_running_out_of_ram_reclaims_from_us() {
    // 48 frames of RAM, no quotas: when mound 2 finds RAM exhausted the kernel
    // asks the largest owner (us) to give frames back.
    let k = kernel(48);
    let mm = MemoryManager::new(&k, MOUND, None);
    let other = MemoryManager::new(&k, MoundId(2), None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 40, Prot::RW);
    fill(&vm, a, 40, 7);
    let vm2 = Vm::new(&other).unwrap();
    let b = anon(&vm2, 20, Prot::RW);
    fill(&vm2, b, 20, 9);
    assert!(mm.stats().reclaimed > 0);
    check(&vm2, b, 20, 9);
    check(&vm, a, 40, 7);
}

#[test]
fn concurrent_processes_fault_fork_and_reclaim_without_deadlock() {
    let (k, mm) = setup(512, Some(24));
    let mut threads = Vec::new();
    for t in 0..4u64 {
        let mm: Arc<MemoryManager> = mm.clone();
        threads.push(std::thread::spawn(move || {
            let vm = Vm::new(&mm).unwrap();
            let a = anon(&vm, 24, Prot::RW);
            for round in 0..20u64 {
                let seed = t * 1000 + round * 50;
                fill(&vm, a, 24, seed);
                let child = vm.fork().unwrap();
                child.write(a, b"child").unwrap();
                check(&vm, a, 24, seed);
                let mut head = [0u8; 5];
                child.read(a, &mut head).unwrap();
                assert_eq!(&head, b"child");
                check(&child, a + PAGE, 23, seed + 1);
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert!(k.phys.used_by(MOUND) == 0);
    let s = mm.stats();
    assert!(s.swapped_out > 0, "{s:?}");
    assert_eq!(
        (s.resident_frames, s.swap_slots_used, s.spaces),
        (0, 0, 0),
        "{s:?}"
    );
}

#[test]
fn threads_of_one_process_share_its_space_under_pressure() {
    let (k, mm) = setup(512, Some(20));
    let vm = Arc::new(Vm::new(&mm).unwrap());
    let a = anon(&vm, 64, Prot::RW);
    let mut threads = Vec::new();
    for t in 0..4u64 {
        let vm = vm.clone();
        threads.push(std::thread::spawn(move || {
            let mine = a + t * 16 * PAGE;
            for round in 0..10u64 {
                fill(&vm, mine, 16, t * 100 + round);
                check(&vm, mine, 16, t * 100 + round);
            }
        }));
    }
    // Meanwhile the process forks and its children exit.
    for _ in 0..20 {
        let child = vm.fork().unwrap();
        child.write_u64(a, 1).unwrap();
        drop(child);
    }
    for t in threads {
        t.join().unwrap();
    }
    for t in 0..4u64 {
        check(&vm, a + t * 16 * PAGE, 16, t * 100 + 9);
    }
    drop(vm);
    assert_eq!(k.phys.used_by(MOUND), 0);
    assert_eq!(mm.stats().swap_slots_used, 0);
}

#[test]
fn writeback_and_file_changes_race_faults_and_eviction_safely() {
    let (_k, mm) = setup(512, Some(12));
    let file = MemFile::new(vec![0u8; 32 * PAGE as usize]);
    let id = file.backing().id();
    let writer = {
        let (mm, file) = (mm.clone(), file.clone());
        std::thread::spawn(move || {
            let vm = Vm::new(&mm).unwrap();
            let s = vm
                .mmap(
                    0,
                    16 * PAGE,
                    Prot::RW,
                    MapFlags::shared_file(),
                    Some((file.backing(), 0)),
                )
                .unwrap();
            for round in 0..15 {
                fill(&vm, s, 16, round);
                check(&vm, s, 16, round);
            }
        })
    };
    let syscalls = {
        let (mm, file) = (mm.clone(), file.clone());
        std::thread::spawn(move || {
            // write(2) into the second half, which nobody maps, and read(2)s.
            for round in 0..200u64 {
                let at = 16 * PAGE + (round % 16) * PAGE;
                file.data.lock().unwrap()[at as usize..at as usize + 8]
                    .copy_from_slice(&round.to_le_bytes());
                mm.file_changed(id, at, 8);
                mm.writeback(id);
            }
        })
    };
    let pressure = {
        let mm = mm.clone();
        std::thread::spawn(move || {
            let vm = Vm::new(&mm).unwrap();
            let a = anon(&vm, 24, Prot::RW);
            for round in 0..8 {
                fill(&vm, a, 24, 500 + round);
                check(&vm, a, 24, 500 + round);
            }
        })
    };
    for t in [writer, syscalls, pressure] {
        t.join().unwrap();
    }
    let bytes = file.bytes();
    for i in 0..16u64 {
        let p = (i * PAGE) as usize;
        assert_eq!(
            bytes[p..p + PAGE as usize],
            pattern(14 + i, PAGE as usize)[..],
            "page {i}"
        );
    }
    assert_eq!(mm.stats().resident_frames, 0);
}
