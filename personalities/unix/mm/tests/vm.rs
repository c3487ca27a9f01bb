//! Address-space behaviour on a real kernel: demand paging, file mappings,
//! copy-on-write fork, the mmap family, brk and user copies.

mod common;

use common::*;
use spin_fs::Errno;
use spin_unix_mm::{Access, Fault, Layout, MapFlags, Prot, RegionKind, Vm};

#[test]
fn demand_zero_pages_appear_on_first_touch() {
    let (k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 3, Prot::RW);
    assert_eq!(
        a,
        Layout::alpha().mmap_base,
        "Alpha places mmaps upward from the base"
    );
    assert_eq!(vm.resident(), 0, "nothing is allocated before a touch");
    assert!(vm.space().examine(a).is_none());
    assert_eq!(read_page(&vm, a + PAGE), vec![0u8; PAGE as usize]);
    assert_eq!(vm.resident(), 1);
    let p = pattern(3, 3 * PAGE as usize);
    vm.write(a, &p).unwrap();
    let mut back = vec![0u8; p.len()];
    vm.read(a, &mut back).unwrap();
    assert_eq!(back, p);
    assert_eq!(vm.resident(), 3);
    assert_eq!(k.phys.used_by(MOUND), 3);
    let s = mm.stats();
    assert_eq!((s.zero_fills, s.resident_frames), (3, 3));
    // A guest-style fault resolves the same way.
    let b = anon(&vm, 1, Prot::READ);
    vm.handle_fault(b + 5, Access::Read).unwrap();
    assert!(vm.space().examine(b).is_some());
    assert_eq!(vm.handle_fault(b, Access::Write), Err(Fault::AccErr));
    assert_eq!(vm.handle_fault(0x10, Access::Read), Err(Fault::MapErr));
}

#[test]
fn private_file_mappings_copy_and_shared_ones_write_through() {
    let (_k, mm) = setup(64, None);
    let contents = pattern(11, 3 * PAGE as usize);
    let file = MemFile::new(contents.clone());
    let vm = Vm::new(&mm).unwrap();

    let private = vm
        .mmap(
            0,
            3 * PAGE,
            Prot::RW,
            MapFlags::private_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    assert_eq!(
        read_page(&vm, private + PAGE),
        contents[PAGE as usize..2 * PAGE as usize]
    );
    vm.write(private + 10, b"private").unwrap();
    mm.writeback(file.backing().id());
    assert_eq!(
        file.bytes(),
        contents,
        "a private write never reaches the file"
    );

    // Offset mapping of one page.
    let one = vm
        .mmap(
            0,
            PAGE,
            Prot::READ,
            MapFlags::private_file(),
            Some((file.backing(), 2 * PAGE)),
        )
        .unwrap();
    assert_eq!(read_page(&vm, one), contents[2 * PAGE as usize..]);

    let shared = vm
        .mmap(
            0,
            3 * PAGE,
            Prot::RW,
            MapFlags::shared_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    vm.write(shared + PAGE + 5, b"shared!").unwrap();
    // A second process mapping the file shared sees the write at once.
    let other = Vm::new(&mm).unwrap();
    let o = other
        .mmap(
            0,
            3 * PAGE,
            Prot::READ,
            MapFlags::shared_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    let mut got = [0u8; 7];
    other.read(o + PAGE + 5, &mut got).unwrap();
    assert_eq!(&got, b"shared!");
    assert!(mm.stats().shared_pages >= 1);
    // The file sees it after write-back (read(2) calls writeback first).
    mm.writeback(file.backing().id());
    assert_eq!(
        &file.bytes()[PAGE as usize + 5..PAGE as usize + 12],
        b"shared!"
    );
    // write(2) to the file then file_changed: mappings see the new bytes.
    file.data.lock().unwrap()[7..11].copy_from_slice(b"new!");
    mm.file_changed(file.backing().id(), 7, 4);
    let mut got = [0u8; 4];
    vm.read(shared + 7, &mut got).unwrap();
    assert_eq!(&got, b"new!");
    // msync writes back too.
    vm.write(shared + 2 * PAGE, b"msync").unwrap();
    vm.msync(shared, 3 * PAGE).unwrap();
    assert_eq!(
        &file.bytes()[2 * PAGE as usize..2 * PAGE as usize + 5],
        b"msync"
    );
    // Private mappings read through the same cached pages until they write:
    // an untouched private page sees a shared write at once.
    vm.write(shared + 2 * PAGE + 100, b"coherent").unwrap();
    let mut got = [0u8; 8];
    vm.read(one + 100, &mut got).unwrap();
    assert_eq!(&got, b"coherent");
    // Dirty pages outlive munmap in the cache, and reach the file when the
    // last mapping of the file goes.
    vm.write(shared, b"last").unwrap();
    vm.munmap(shared, 3 * PAGE).unwrap();
    drop(other);
    drop(vm);
    assert_eq!(&file.bytes()[..4], b"last");
}

#[test]
fn processes_running_one_program_share_its_cached_text() {
    let (k, mm) = setup(64, None);
    let file = MemFile::new(pattern(21, 4 * PAGE as usize));
    let map = |vm: &Vm| {
        vm.mmap(
            0,
            4 * PAGE,
            Prot::RX,
            MapFlags::private_file(),
            Some((file.backing(), 0)),
        )
        .unwrap()
    };
    let (a, b) = (Vm::new(&mm).unwrap(), Vm::new(&mm).unwrap());
    let (ta, tb) = (map(&a), map(&b));
    let mut buf = vec![0u8; 4 * PAGE as usize];
    a.read(ta, &mut buf).unwrap();
    b.read(tb, &mut buf).unwrap();
    assert_eq!(buf, pattern(21, 4 * PAGE as usize));
    assert_eq!(k.phys.used_by(MOUND), 4, "one copy of the text");
    assert_eq!(mm.stats().file_reads, 4);
    // A private write (after mprotect) copies just that page.
    a.mprotect(ta, PAGE, Prot::RW).unwrap();
    a.write(ta, b"patched").unwrap();
    assert_eq!(k.phys.used_by(MOUND), 5);
    b.read(tb, &mut buf[..7]).unwrap();
    assert_eq!(buf[..7], pattern(21, 7)[..]);
    drop((a, b));
    assert_eq!(k.phys.used_by(MOUND), 0);
    assert_eq!(
        file.bytes(),
        pattern(21, 4 * PAGE as usize),
        "private writes never reach the file"
    );
}

#[test]
fn file_pages_beyond_eof_are_zero_then_sigbus() {
    let (_k, mm) = setup(64, None);
    let file = MemFile::new(pattern(1, PAGE as usize + 100));
    let vm = Vm::new(&mm).unwrap();
    let a = vm
        .mmap(
            0,
            4 * PAGE,
            Prot::READ,
            MapFlags::private_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    let tail = read_page(&vm, a + PAGE);
    assert_eq!(
        tail[..100],
        pattern(1, PAGE as usize + 100)[PAGE as usize..]
    );
    assert!(
        tail[100..].iter().all(|&b| b == 0),
        "the tail of the last page reads as zeros"
    );
    assert_eq!(vm.handle_fault(a + 2 * PAGE, Access::Read), Err(Fault::Bus));
    assert_eq!(vm.read(a + 2 * PAGE, &mut [0u8; 4]), Err(Errno::EFAULT));
    // Truncating a shared mapping's file drops the pages beyond the new end.
    let s = vm
        .mmap(
            0,
            2 * PAGE,
            Prot::READ,
            MapFlags::shared_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    read_page(&vm, s + PAGE);
    file.data.lock().unwrap().truncate(PAGE as usize);
    mm.file_changed(file.backing().id(), PAGE, 100);
    assert_eq!(vm.handle_fault(s + PAGE, Access::Read), Err(Fault::Bus));
}

#[test]
fn fork_is_copy_on_write_and_releases_frames() {
    let (k, mm) = setup(64, None);
    let parent = Vm::new(&mm).unwrap();
    let a = anon(&parent, 4, Prot::RW);
    for i in 0..4 {
        parent
            .write(a + i * PAGE, &pattern(i, PAGE as usize))
            .unwrap();
    }
    let shared = parent
        .mmap(0, PAGE, Prot::RW, MapFlags::shared_anon(), None)
        .unwrap();
    parent.write_u64(shared, 1).unwrap();
    let used = k.phys.used_by(MOUND);
    assert_eq!(used, 5);

    let child = parent.fork().unwrap();
    assert_eq!(k.phys.used_by(MOUND), used, "fork copies no frame");
    assert_eq!(read_page(&child, a + 2 * PAGE), pattern(2, PAGE as usize));
    assert!(mm.stats().shared_pages >= 5);
    // Writes on either side stay on that side.
    child.write(a, b"child").unwrap();
    parent.write(a + PAGE, b"parent").unwrap();
    assert_eq!(read_page(&parent, a), pattern(0, PAGE as usize));
    assert_eq!(read_page(&child, a + PAGE), pattern(1, PAGE as usize));
    assert_eq!(mm.stats().cow_copies, 2);
    assert_eq!(k.phys.used_by(MOUND), used + 2);
    // MAP_SHARED stays shared.
    child.write_u64(shared, 42).unwrap();
    assert_eq!(parent.read_u64(shared).unwrap(), 42);
    // The child's exit releases its references; the parent's next write to a
    // page it now holds alone reuses the frame instead of copying.
    drop(child);
    assert_eq!(k.phys.used_by(MOUND), used);
    parent.write(a + 3 * PAGE, b"mine").unwrap();
    let s = mm.stats();
    assert_eq!((s.cow_copies, s.cow_reuses), (2, 1));
    drop(parent);
    assert_eq!(
        k.phys.used_by(MOUND),
        0,
        "every frame is freed with the last space"
    );
    assert_eq!(mm.stats().spaces, 0);
}

#[test]
fn fork_chain_keeps_each_generation_isolated() {
    let (k, mm) = setup(64, None);
    let a = Vm::new(&mm).unwrap();
    let va = anon(&a, 1, Prot::RW);
    a.write_u64(va, 1).unwrap();
    let b = a.fork().unwrap();
    let c = b.fork().unwrap();
    b.write_u64(va, 2).unwrap();
    c.write_u64(va, 3).unwrap();
    assert_eq!(
        [a.read_u64(va), b.read_u64(va), c.read_u64(va)],
        [Ok(1), Ok(2), Ok(3)]
    );
    drop((a, b, c));
    assert_eq!(k.phys.used_by(MOUND), 0);
}

#[test]
fn mprotect_and_munmap_split_and_merge_regions() {
    let (k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 4, Prot::RW);
    vm.write(a, &pattern(0, 4 * PAGE as usize)).unwrap();
    vm.mprotect(a + PAGE, 2 * PAGE, Prot::READ).unwrap();
    let r = vm.regions();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[1].start, r[1].end, r[1].prot),
        (a + PAGE, a + 3 * PAGE, Prot::READ)
    );
    assert_eq!(vm.write(a + PAGE + 8, b"x"), Err(Errno::EFAULT));
    assert_eq!(vm.handle_fault(a + PAGE, Access::Write), Err(Fault::AccErr));
    assert_eq!(
        read_page(&vm, a + 2 * PAGE),
        pattern(2 * PAGE, PAGE as usize)
    );
    vm.mprotect(a + PAGE, 2 * PAGE, Prot::RW).unwrap();
    assert_eq!(vm.regions().len(), 1, "equal neighbours merge again");
    vm.write(a + PAGE, b"ok").unwrap();
    // Holes: ENOMEM and nothing changes.
    vm.munmap(a + PAGE, PAGE).unwrap();
    assert_eq!(vm.regions().len(), 2);
    assert_eq!(k.phys.used_by(MOUND), 3, "munmap frees the page");
    assert_eq!(vm.mprotect(a, 4 * PAGE, Prot::READ), Err(Errno::ENOMEM));
    assert_eq!(vm.regions()[0].prot, Prot::RW);
    assert_eq!(vm.read(a + PAGE, &mut [0u8; 1]), Err(Errno::EFAULT));
    assert_eq!(vm.handle_fault(a + PAGE, Access::Read), Err(Fault::MapErr));
    // PROT_NONE pages fault for every access.
    vm.mprotect(a, PAGE, Prot::NONE).unwrap();
    assert_eq!(vm.read(a, &mut [0u8; 1]), Err(Errno::EFAULT));
    // Argument checks.
    assert_eq!(vm.mprotect(a + 1, PAGE, Prot::READ), Err(Errno::EINVAL));
    assert_eq!(vm.munmap(a + 1, PAGE), Err(Errno::EINVAL));
    assert_eq!(vm.munmap(a, 0), Err(Errno::EINVAL));
    assert_eq!(
        vm.mmap(0, 0, Prot::RW, MapFlags::private_anon(), None),
        Err(Errno::EINVAL)
    );
    let both = MapFlags {
        shared: true,
        ..MapFlags::private_anon()
    };
    assert_eq!(vm.mmap(0, PAGE, Prot::RW, both, None), Err(Errno::EINVAL));
}

#[test]
fn fixed_mappings_replace_and_noreplace_refuses() {
    let (_k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 3, Prot::RW);
    vm.write_u64(a + PAGE, 7).unwrap();
    let again = vm
        .mmap(
            a + PAGE,
            PAGE,
            Prot::RW,
            MapFlags::private_anon().with_fixed(),
            None,
        )
        .unwrap();
    assert_eq!(again, a + PAGE);
    assert_eq!(
        vm.read_u64(a + PAGE).unwrap(),
        0,
        "MAP_FIXED replaced the page"
    );
    let noreplace = MapFlags {
        fixed_noreplace: true,
        ..MapFlags::private_anon()
    };
    assert_eq!(
        vm.mmap(a, PAGE, Prot::RW, noreplace, None),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        vm.mmap(
            a + 4096,
            PAGE,
            Prot::RW,
            MapFlags::private_anon().with_fixed(),
            None
        ),
        Err(Errno::EINVAL)
    );
    // A hint is honoured when free.
    let hinted = vm
        .mmap(0x3000_0000, PAGE, Prot::RW, MapFlags::private_anon(), None)
        .unwrap();
    assert_eq!(hinted, 0x3000_0000);
}

#[test]
fn mremap_grows_in_place_moves_and_shrinks() {
    let (k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 2, Prot::RW);
    vm.write(a, &pattern(5, 2 * PAGE as usize)).unwrap();
    // In place: the space after is free.
    assert_eq!(vm.mremap(a, 2 * PAGE, 3 * PAGE, false, None), Ok(a));
    assert_eq!(vm.regions().len(), 1);
    vm.write_u64(a + 2 * PAGE, 9).unwrap();
    // Blocked: a mapping right after it.
    let blocker = vm
        .mmap(
            a + 3 * PAGE,
            PAGE,
            Prot::READ,
            MapFlags::private_anon().with_fixed(),
            None,
        )
        .unwrap();
    assert_eq!(blocker, a + 3 * PAGE);
    assert_eq!(
        vm.mremap(a, 3 * PAGE, 5 * PAGE, false, None),
        Err(Errno::ENOMEM)
    );
    let used = k.phys.used_by(MOUND);
    let b = vm.mremap(a, 3 * PAGE, 5 * PAGE, true, None).unwrap();
    assert_ne!(b, a);
    assert_eq!(k.phys.used_by(MOUND), used, "moving copies no frame");
    let mut back = vec![0u8; 2 * PAGE as usize];
    vm.read(b, &mut back).unwrap();
    assert_eq!(back, pattern(5, 2 * PAGE as usize));
    assert_eq!(vm.read_u64(b + 2 * PAGE), Ok(9));
    assert_eq!(
        vm.read_u64(b + 4 * PAGE),
        Ok(0),
        "the grown part is demand zero"
    );
    assert_eq!(
        vm.read(a, &mut [0u8; 1]),
        Err(Errno::EFAULT),
        "the old range is gone"
    );
    // Shrink frees the tail.
    assert_eq!(vm.mremap(b, 5 * PAGE, PAGE, false, None), Ok(b));
    assert_eq!(vm.read(b + PAGE, &mut [0u8; 1]), Err(Errno::EFAULT));
    // Fixed move.
    let dst = 0x4000_0000;
    assert_eq!(vm.mremap(b, PAGE, 2 * PAGE, true, Some(dst)), Ok(dst));
    assert_eq!(read_page(&vm, dst)[..16], pattern(5, 16)[..]);
    // Errors.
    assert_eq!(vm.mremap(b, PAGE, 2 * PAGE, true, None), Err(Errno::EFAULT));
    assert_eq!(
        vm.mremap(dst, PAGE, PAGE, false, Some(0x5000_0000)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        vm.mremap(dst, 4 * PAGE, 8 * PAGE, true, None),
        Err(Errno::EFAULT)
    );
}

#[test]
fn brk_follows_linux_rules() {
    let (k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let base = 0x1_2010_0000;
    vm.set_brk_base(base - 100);
    assert_eq!(vm.brk(0), base, "the heap starts on a page boundary");
    assert_eq!(
        vm.brk(base + 0x123),
        base + 0x123,
        "unaligned values are allowed"
    );
    vm.write(base, b"heap").unwrap();
    assert_eq!(vm.brk(base + 3 * PAGE + 1), base + 3 * PAGE + 1);
    vm.write_u64(base + 3 * PAGE, 5).unwrap();
    let r = vm.regions();
    assert_eq!(
        (r[0].kind, r[0].start, r[0].end),
        (RegionKind::Heap, base, base + 4 * PAGE)
    );
    assert_eq!(
        vm.brk(base - PAGE),
        base + 3 * PAGE + 1,
        "below the start: unchanged"
    );
    // Shrink frees pages; growing again gives zeros.
    assert_eq!(vm.brk(base + PAGE), base + PAGE);
    assert_eq!(k.phys.used_by(MOUND), 1);
    assert_eq!(vm.read(base + 3 * PAGE, &mut [0u8; 1]), Err(Errno::EFAULT));
    assert_eq!(vm.brk(base + 4 * PAGE), base + 4 * PAGE);
    assert_eq!(vm.read_u64(base + 3 * PAGE), Ok(0));
    // A mapping in the way stops it.
    vm.mmap(
        base + 8 * PAGE,
        PAGE,
        Prot::RW,
        MapFlags::private_anon().with_fixed(),
        None,
    )
    .unwrap();
    assert_eq!(vm.brk(base + 9 * PAGE), base + 4 * PAGE);
    let mut s = [0u8; 4];
    vm.read(base, &mut s).unwrap();
    assert_eq!(&s, b"heap");
}

#[test]
fn user_copies_fault_like_the_guest_and_never_panic() {
    let (_k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 2, Prot::RW);
    // A string across a page boundary.
    vm.write(a + PAGE - 3, b"hello\0").unwrap();
    assert_eq!(vm.read_cstr(a + PAGE - 3, 100).unwrap(), b"hello");
    assert_eq!(vm.read_cstr(a + PAGE - 3, 5).unwrap(), b"hello");
    assert_eq!(vm.read_cstr(a + PAGE - 3, 4), Err(Errno::ENAMETOOLONG));
    assert_eq!(vm.read_cstr(a, 0).unwrap(), b"");
    // A string running into an unmapped page.
    vm.write(a + 2 * PAGE - 4, b"abcd").unwrap();
    assert_eq!(vm.read_cstr(a + 2 * PAGE - 4, 100), Err(Errno::EFAULT));
    vm.write_u32(a + 8, 0xdead_beef).unwrap();
    assert_eq!(vm.read_u32(a + 8), Ok(0xdead_beef));
    vm.write_u64(a + PAGE - 4, u64::MAX - 1).unwrap();
    assert_eq!(vm.read_u64(a + PAGE - 4), Ok(u64::MAX - 1));
    // Unmapped, PROT_NONE, read-only, wrap-around, beyond user space.
    assert_eq!(vm.read(0x1000, &mut [0u8; 8]), Err(Errno::EFAULT));
    assert_eq!(vm.write(a + 2 * PAGE - 2, &[1u8; 4]), Err(Errno::EFAULT));
    let none = anon(&vm, 1, Prot::NONE);
    assert_eq!(vm.read(none, &mut [0u8; 1]), Err(Errno::EFAULT));
    let ro = anon(&vm, 1, Prot::READ);
    assert_eq!(vm.write(ro, b"x"), Err(Errno::EFAULT));
    assert_eq!(vm.read(u64::MAX - 2, &mut [0u8; 8]), Err(Errno::EFAULT));
    assert_eq!(vm.write(1 << 60, b"x"), Err(Errno::EFAULT));
    vm.read(a, &mut []).unwrap();
}

#[test]
fn stack_regions_grow_down_to_their_limit() {
    let (_k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let layout = *vm.layout();
    let top = layout.stack_top;
    let flags = MapFlags {
        growsdown: true,
        ..MapFlags::private_anon().with_fixed()
    };
    vm.mmap(top - 2 * PAGE, 2 * PAGE, Prot::RW, flags, None)
        .unwrap();
    vm.write_u64(top - 100 * PAGE, 1).unwrap();
    assert_eq!(vm.regions()[0].start, top - 100 * PAGE);
    assert_eq!(vm.resident(), 1);
    assert_eq!(
        vm.handle_fault(top - layout.stack_limit - PAGE, Access::Write),
        Err(Fault::MapErr)
    );
    vm.handle_fault(top - layout.stack_limit, Access::Write)
        .unwrap();
}

#[test]
fn madvise_dontneed_drops_pages() {
    let (k, mm) = setup(64, None);
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 2, Prot::RW);
    vm.write_u64(a, 77).unwrap();
    vm.write_u64(a + PAGE, 78).unwrap();
    vm.madvise_dontneed(a, PAGE).unwrap();
    assert_eq!(vm.read_u64(a), Ok(0));
    assert_eq!(vm.read_u64(a + PAGE), Ok(78));
    let file = MemFile::new(pattern(9, PAGE as usize));
    let f = vm
        .mmap(
            0,
            PAGE,
            Prot::RW,
            MapFlags::private_file(),
            Some((file.backing(), 0)),
        )
        .unwrap();
    vm.write(f, b"scribble").unwrap();
    vm.madvise_dontneed(f, PAGE).unwrap();
    assert_eq!(
        read_page(&vm, f),
        pattern(9, PAGE as usize),
        "re-read from the file"
    );
    assert_eq!(vm.madvise_dontneed(a, 64 * PAGE), Err(Errno::ENOMEM));
    assert_eq!(
        vm.read_u64(a + PAGE),
        Ok(0),
        "mapped parts were still dropped"
    );
    drop(vm);
    assert_eq!(k.phys.used_by(MOUND), 0);
}

#[test]
fn stats_serialize() {
    let (_k, mm) = setup(16, Some(8));
    let json = serde_json::to_string(&mm.stats()).unwrap();
    assert!(json.contains("\"quota_frames\":8"), "{json}");
}

#[test]
fn translation_fault_events_reach_the_manager() {
    let (k, mm) = setup(64, None);
    mm.install_fault_handlers().unwrap();
    let vm = Vm::new(&mm).unwrap();
    let a = anon(&vm, 1, Prot::RW);
    // What a machine's trap loop does on a page fault.
    assert!(k.translation.fault(vm.space(), a + 8, Access::Write));
    assert!(vm
        .space()
        .examine(a)
        .is_some_and(|m| m.prot.contains(Prot::WRITE)));
    let child = vm.fork().unwrap();
    assert!(
        k.translation.fault(child.space(), a, Access::Write),
        "copy-on-write via ProtectionFault"
    );
    assert!(
        !k.translation.fault(vm.space(), 0x2000, Access::Read),
        "unmapped: the signal case"
    );
    // Another mound's spaces are not ours to resolve.
    let other = spin_unix_mm::MemoryManager::new(&k, spin_kernel::MoundId(9), None);
    let foreign = Vm::new(&other).unwrap();
    foreign
        .mmap(
            a,
            PAGE,
            Prot::RW,
            MapFlags::private_anon().with_fixed(),
            None,
        )
        .unwrap();
    assert!(!k.translation.fault(foreign.space(), a, Access::Read));
}

#[test]
fn brk_without_an_executable_is_refused() {
    let (_k, mm) = setup(16, None);
    let vm = Vm::new(&mm).unwrap();
    assert_eq!(vm.brk(0), 0);
    assert_eq!(vm.brk(0x10_0000), 0);
    assert!(vm.regions().is_empty());
}
