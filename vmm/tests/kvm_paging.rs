//! The KVM machine's page tables on a real KVM VM: a page touched once
//! costs one exit, dirty bits, leaves replaced, shared, recycled, downgraded
//! and unlinked by the host reach ring 3 exactly, host pages are made real
//! before the guest reaches them. Every test prints `SKIP: /dev/kvm …` and
//! passes where KVM is unusable.

#![cfg(target_arch = "x86_64")]

mod support;

use support::*;

#[test]
fn a_page_touched_once_costs_exactly_one_exit() {
    let Some(w) = world() else { return };
    const FRESH: u64 = 0x2000_0000;
    const PAGES: u64 = 8;
    // Writes one quadword into each of PAGES unmapped pages, then calls.
    let code = asm(|a| {
        a.mov(rbx, FRESH)?;
        a.mov(ecx, PAGES as u32)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.mov(qword_ptr(rbx), rcx)?;
        a.add(rbx, 4096)?;
        a.dec(rcx)?;
        a.jnz(top)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.ud2()
    });
    let space = w.space(&code);
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    let mut faults = 0;
    loop {
        match cpu.run(&mut regs, &*space, BUDGET) {
            Trap::PageFault {
                va,
                access: Access::Write,
                ..
            } => {
                // The kernel resolves it, as a mound's MM would.
                space.map(va & !0xfff, w.frame(), Prot::RW).unwrap();
                faults += 1;
            }
            Trap::Syscall => break,
            t => panic!("{t:?}"),
        }
    }
    assert_eq!(faults, PAGES);
    let t = exits(&w);
    // Code, stack… are filled on demand once; the fresh pages each took
    // their page fault and nothing else: the resolved leaf was installed
    // before the retry.
    assert_eq!(t.exits_for("page-fault"), PAGES);
    assert!(
        t.exits_for("demand-fill") <= 1,
        "fresh pages took demand fills after their fault: {t:?}"
    );
    for i in 0..PAGES {
        let m = space.examine(FRESH + 4096 * i).unwrap();
        assert!(m.accessed && m.dirty, "page {i}: {m:?}");
    }
}

#[test]
fn a_write_after_a_read_sets_the_dirty_bit_and_a_dirty_page_needs_no_second_fill() {
    let Some(w) = world() else { return };
    // Read DATA, call; write DATA, call; read DATA+0x1000 (mapped, already
    // dirty), write it, call.
    let code = asm(|a| {
        a.mov(rbx, DATA)?;
        a.mov(rax, qword_ptr(rbx))?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.mov(qword_ptr(rbx + 8), rbx)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.mov(rax, qword_ptr(rbx + 0x1000))?;
        a.mov(qword_ptr(rbx + 0x1008), rbx)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.ud2()
    });
    let space = w.space(&code);
    let second = w.frame();
    space.map(DATA + 0x1000, second, Prot::RW).unwrap();
    space.walk(DATA + 0x1000, Access::Write).unwrap();
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    let m = space.examine(DATA).unwrap();
    assert!(
        m.accessed && !m.dirty,
        "a read leaves the page clean: {m:?}"
    );
    let before = exits(&w).exits_for("demand-fill");
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert!(space.examine(DATA).unwrap().dirty, "the write set it");
    let t = exits(&w);
    assert_eq!(t.exits_for("demand-fill"), before + 1, "one upgrade: {t:?}");
    assert_eq!(t.exits_for("queue"), 0);
    let mut back = 0u64;
    back = w
        .ram
        .read_obj(GuestAddress(
            space.walk(DATA, Access::Read).unwrap().frame.0 + 8,
        ))
        .unwrap_or(back);
    assert_eq!(back, DATA, "the write landed");
    // The already-dirty page: filled writable around DATA's first fill
    // (its neighbour), so neither its read nor its write exits.
    let before = exits(&w).exits_for("demand-fill");
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(exits(&w).exits_for("demand-fill"), before);
    let back: u64 = w.ram.read_obj(GuestAddress(second.0 + 8)).unwrap();
    assert_eq!(back, DATA);
    // Cleaning the page takes write permission away again: the next write
    // faults and sets the bit anew.
    assert!(space.clear_dirty(DATA));
    regs.rip = CODE; // read, call (the mirror drops the leaf first)
    regs.gpr[3] = DATA;
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert!(!space.examine(DATA).unwrap().dirty);
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert!(space.examine(DATA).unwrap().dirty);
}

/// A page the guest may be using through a present mirror entry is
/// replaced by the host (frame X → frame Y, same VA, same rights — a
/// copy-on-write break, a swap-in elsewhere): the next read must see Y.
#[test]
fn a_present_leaf_replaced_by_the_host_shows_the_new_frame() {
    let Some(w) = world() else { return };
    let space = w.space(&reader_code());
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    let x = space.examine(DATA).unwrap().frame;
    w.ram.write_obj(0x1111u64, GuestAddress(x.0)).unwrap();
    for _ in 0..2 {
        assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), 0x1111);
    }
    for (n, prot) in [
        (0x2222u64, Prot::RW),
        (0x3333, Prot::READ),
        (0x4444, Prot::RW),
    ] {
        let y = w.frame();
        w.ram.write_obj(n, GuestAddress(y.0)).unwrap();
        space.map(DATA, y, prot).unwrap();
        for _ in 0..2 {
            assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
            assert_eq!(regs.syscall_arg(0), n, "stale frame after a replace");
        }
    }
}

/// fork by hand: the parent's writable page is shared read-only with a
/// child, the parent's write breaks the sharing (a copy), both keep
/// reading their own frame — on two vCPUs, each space on both.
#[test]
fn a_fork_like_share_and_copy_keeps_each_side_on_its_frame() {
    let Some(w) = world() else { return };
    let code = reader_code();
    let parent = w.space(&code);
    let mut cpus = [
        w.machine.create_cpu(0).unwrap(),
        w.machine.create_cpu(1).unwrap(),
    ];
    let x = parent.examine(DATA).unwrap().frame;
    w.ram.write_obj(0xaaaau64, GuestAddress(x.0)).unwrap();
    for round in 0..20u64 {
        let mut pregs = w.regs();
        assert_eq!(cpus[0].run(&mut pregs, &*parent, BUDGET), Trap::Syscall);
        let px = parent.examine(DATA).unwrap().frame;
        let before: u64 = w.ram.read_obj(GuestAddress(px.0)).unwrap();
        assert_eq!(pregs.syscall_arg(0), before);
        // fork: downgrade the parent, share the frame with the child.
        let child = w.space(&code);
        child.map(DATA, px, Prot::READ).unwrap();
        parent.protect(DATA, Prot::READ).unwrap();
        let mut cregs = w.regs();
        let c = (round % 2) as usize;
        assert_eq!(cpus[c].run(&mut cregs, &*child, BUDGET), Trap::Syscall);
        assert_eq!(cregs.syscall_arg(0), before);
        // The parent writes: copy-on-write gives it a new frame.
        let y = w.frame();
        w.ram.write_obj(before + 1, GuestAddress(y.0)).unwrap();
        parent.map(DATA, y, Prot::RW).unwrap();
        assert_eq!(cpus[1 - c].run(&mut pregs, &*parent, BUDGET), Trap::Syscall);
        assert_eq!(pregs.syscall_arg(0), before + 1, "parent: stale frame");
        assert_eq!(cpus[c].run(&mut cregs, &*child, BUDGET), Trap::Syscall);
        assert_eq!(cregs.syscall_arg(0), before, "child: lost its frame");
        assert_eq!(cpus[1 - c].run(&mut cregs, &*child, BUDGET), Trap::Syscall);
        assert_eq!(cregs.syscall_arg(0), before, "child on the other vCPU");
    }
}

/// More address spaces than the machine keeps mirrors for, all mapping the
/// same virtual page to different frames: a recycled mirror's tables (the
/// same VA present for its previous space) must never show the previous
/// space's frame — on one vCPU and alternating between two.
#[test]
fn recycled_mirrors_never_show_the_previous_space_frames() {
    let Some(w) = world() else { return };
    let code = reader_code();
    let mut cpus = [
        w.machine.create_cpu(0).unwrap(),
        w.machine.create_cpu(1).unwrap(),
    ];
    let mut spaces = Vec::new();
    for i in 0..600u64 {
        let s = w.space(&code);
        let f = s.examine(DATA).unwrap().frame;
        w.ram.write_obj(0x5000 + i, GuestAddress(f.0)).unwrap();
        let mut regs = w.regs();
        let c = if i < 300 { 0 } else { (i % 2) as usize };
        assert_eq!(cpus[c].run(&mut regs, &*s, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), 0x5000 + i, "space {i} on vCPU {c}");
        spaces.push((s, regs));
    }
    // The oldest spaces come back (their mirrors were recycled meanwhile).
    for (i, (s, regs)) in spaces.iter_mut().enumerate().take(20) {
        assert_eq!(cpus[i % 2].run(regs, &**s, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), 0x5000 + i as u64, "old space {i}");
    }
}

/// fork by hand on one vCPU, the way a scheduler interleaves it: the
/// parent's page is writable (and written) through its mirror; the parent
/// is switched out, downgraded and shared with a child that runs next;
/// when the parent comes back (a CR3 switch, its removals queued before
/// the switch) its write must fault, and after the copy it must write only
/// its new frame.
#[test]
fn a_writable_leaf_downgraded_while_its_space_is_switched_out_faults() {
    let Some(w) = world() else { return };
    let code = asm(|a| {
        a.mov(rbx, DATA)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.add(qword_ptr(rbx), 1)?; // CODE + 10
        a.mov(rdi, qword_ptr(rbx))?;
        a.mov(eax, 7)?;
        a.syscall()?;
        a.jmp(top)
    });
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let other = w.space(&code);
    let mut oregs = w.regs();
    for round in 0..50u64 {
        let parent = w.space(&code);
        let mut pregs = w.regs();
        for i in 1..=3 {
            assert_eq!(cpu.run(&mut pregs, &*parent, BUDGET), Trap::Syscall);
            assert_eq!(pregs.syscall_arg(0), i);
        }
        // Switched out.
        assert_eq!(cpu.run(&mut oregs, &*other, BUDGET), Trap::Syscall);
        // fork: the parent's page goes read-only and is shared.
        let x = parent.examine(DATA).unwrap().frame;
        parent.protect(DATA, Prot::READ).unwrap();
        let child = w.space(&code);
        child.map(DATA, x, Prot::READ).unwrap();
        if round % 2 == 1 {
            // The child runs first (its write faults: it is read-only).
            let mut cregs = w.regs();
            let t = cpu.run(&mut cregs, &*child, BUDGET);
            assert!(matches!(t, Trap::PageFault { va: DATA, .. }), "{t:?}");
        }
        let t = cpu.run(&mut pregs, &*parent, BUDGET);
        assert_eq!(
            t,
            Trap::PageFault {
                va: DATA,
                access: Access::Write,
                pc: CODE + 10
            },
            "round {round}: the parent wrote through a stale writable leaf"
        );
        let seen: u64 = w.ram.read_obj(GuestAddress(x.0)).unwrap();
        assert_eq!(seen, 3, "the shared frame changed");
        // Copy-on-write: the parent gets a copy.
        let y = w.frame();
        w.ram.write_obj(seen, GuestAddress(y.0)).unwrap();
        parent.map(DATA, y, Prot::RW).unwrap();
        assert_eq!(cpu.run(&mut pregs, &*parent, BUDGET), Trap::Syscall);
        assert_eq!(pregs.syscall_arg(0), 4);
        assert_eq!(cpu.run(&mut oregs, &*other, BUDGET), Trap::Syscall);
        assert_eq!(cpu.run(&mut pregs, &*parent, BUDGET), Trap::Syscall);
        assert_eq!(pregs.syscall_arg(0), 5);
        let seen: u64 = w.ram.read_obj(GuestAddress(x.0)).unwrap();
        assert_eq!(seen, 3, "the parent wrote the shared frame");
    }
}

/// An entry that fails after the machine chose the mirror (a refused
/// `KVM_SET_FPU`, injected) must not leave the vCPU believing it loaded
/// that mirror, nor lose the stores recycling it queued: a new space that
/// does not map DATA, entered right after every mirror slot was taken by a
/// space that did, must fault at DATA — not read another space's page.
#[test]
fn a_failed_fp_load_loses_neither_the_cr3_nor_a_recycled_mirrors_clears() {
    let Some(w) = world() else { return };
    let code = reader_code();
    let mut cpu = w.machine.create_cpu(0).unwrap();
    // More spaces than the machine keeps mirrors for (256), each with its
    // own frame at DATA, each run once.
    let mut spaces = Vec::new();
    for i in 0..300u64 {
        let s = w.space(&code);
        let f = s.examine(DATA).unwrap().frame;
        w.ram.write_obj(0x7000 + i, GuestAddress(f.0)).unwrap();
        let mut regs = w.regs();
        assert_eq!(cpu.run(&mut regs, &*s, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), 0x7000 + i);
        spaces.push(s);
    }
    let mut bare_spaces = Vec::new();
    for round in 0..4 {
        let bare = w.space(&code);
        bare.unmap(DATA);
        let mut regs = w.regs();
        cpu.fail_next_fp_load();
        assert!(
            matches!(cpu.run(&mut regs, &*bare, BUDGET), Trap::Halt { .. }),
            "round {round}: the injected failure ends the entry"
        );
        match cpu.run(&mut regs, &*bare, BUDGET) {
            Trap::PageFault { va, access, .. } => {
                assert_eq!((va, access), (DATA, Access::Read), "round {round}");
            }
            t => panic!(
                "round {round}: {t:?} (rdi {:#x}): DATA read through another space's tables",
                regs.syscall_arg(0)
            ),
        }
        // The last space still reads its own page on the same vCPU.
        let last = spaces.last().unwrap();
        let mut regs = w.regs();
        assert_eq!(cpu.run(&mut regs, &**last, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), 0x7000 + 299, "round {round}");
        bare_spaces.push(bare);
    }
}

/// Host memory behind guest RAM is made real lazily but always before the
/// guest can reach it: a frame is backed once a leaf names it, while RAM
/// no leaf has named stays unpopulated (a VM no longer pays for all of its
/// RAM at start).
#[test]
fn a_frame_is_backed_before_the_guest_reaches_it_and_unused_ram_is_not() {
    let Some(w) = world() else { return };
    let space = w.space(&reader_code());
    let far = PhysAddr(48 << 20);
    assert!(!w.machine.backed(far.0), "nothing named it yet");
    w.ram.write_obj(0x4242u64, GuestAddress(far.0)).unwrap();
    space.map(DATA, far, Prot::RW).unwrap();
    assert!(!w.machine.backed(far.0), "mapped, not yet mirrored");
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    assert_eq!(regs.syscall_arg(0), 0x4242, "the host's write is kept");
    assert!(w.machine.backed(far.0));
    assert!(!w.machine.backed(32 << 20), "RAM no leaf named");
    assert!(
        w.machine.backed_chunks() < 8,
        "{} chunks for a few pages",
        w.machine.backed_chunks()
    );
}

/// The machine installs the neighbours of a filled page that the kernel
/// maps young (an aligned block): a walk through 16 pages the kernel
/// mapped and marked written takes one exit, not 16; a young clean
/// neighbour is installed read-only, so its first write still reaches the
/// kernel's dirty bit; a page not young is not installed ahead — its
/// accessed bit is set by its own first access only.
#[test]
fn neighbours_the_kernel_maps_are_filled_with_the_faulting_page() {
    let Some(w) = world() else { return };
    const BLOCK: u64 = 0x3000_0000;
    const CLEAN: u64 = 0x3001_0000;
    let code = asm(|a| {
        a.mov(rbx, BLOCK)?;
        a.mov(ecx, 16)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.mov(qword_ptr(rbx), rcx)?;
        a.add(rbx, 4096)?;
        a.dec(rcx)?;
        a.jnz(top)?;
        a.mov(rbx, CLEAN)?;
        a.mov(rdi, qword_ptr(rbx))?; // read page 0
        a.mov(qword_ptr(rbx + 4096), rdi)?; // write page 1
        a.mov(eax, 39)?;
        a.syscall()?;
        a.ud2()
    });
    let space = w.space(&code);
    for i in 0..16 {
        space.map(BLOCK + 4096 * i, w.frame(), Prot::RW).unwrap();
        space.walk(BLOCK + 4096 * i, Access::Write).unwrap();
        space.map(CLEAN + 4096 * i, w.frame(), Prot::RW).unwrap();
        if i < 8 {
            // Young, clean.
            space.walk(CLEAN + 4096 * i, Access::Read).unwrap();
        }
    }
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let mut regs = w.regs();
    let before = exits(&w).exits_for("demand-fill");
    assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
    let t = exits(&w);
    // Code and stack (one each), the dirty block (one), the clean block's
    // read (one) and the write upgrade of its page 1 (one).
    let fills = t.exits_for("demand-fill") - before;
    assert!(fills <= 5, "{fills} demand fills: {t:?}");
    assert_eq!(t.exits_for("page-fault"), 0, "{t:?}");
    for i in 0..16 {
        let v: u64 = w
            .ram
            .read_obj(GuestAddress(
                space.examine(BLOCK + 4096 * i).unwrap().frame.0,
            ))
            .unwrap();
        assert_eq!(v, 16 - i, "page {i} of the block");
    }
    let m1 = space.examine(CLEAN + 4096).unwrap();
    assert!(m1.dirty, "the write reached the kernel's dirty bit");
    let m2 = space.examine(CLEAN + 2 * 4096).unwrap();
    assert!(!m2.dirty, "an untouched neighbour stays clean");
    let m9 = space.examine(CLEAN + 9 * 4096).unwrap();
    assert!(
        !m9.accessed,
        "a page not young is not made young by its neighbour"
    );
}

/// Removing every leaf of a page table's 2 MiB range unlinks the table
/// (one queued PDE store and a CR3 reload instead of 512 leaf stores) —
/// whether the kernel names the change (one `protect_range`) or the mirror
/// must drop everything (512 unmaps, more than the kernel's change log
/// holds); the range faults afterwards and maps again through a fresh
/// table. A range that keeps one page is cleared leaf by leaf and keeps it.
#[test]
fn removing_a_whole_table_unlinks_it_and_a_partial_removal_keeps_the_rest() {
    let Some(w) = world() else { return };
    const BIG: u64 = 0x4000_0000;
    const KEEP: u64 = BIG + 100 * 4096;
    let code = asm(|a| {
        a.mov(rbx, BIG)?;
        a.mov(ecx, 512)?;
        a.xor(edi, edi)?;
        let mut top = a.create_label();
        a.set_label(&mut top)?;
        a.add(rdi, qword_ptr(rbx))?;
        a.add(rbx, 4096)?;
        a.dec(rcx)?;
        a.jnz(top)?;
        a.mov(eax, 39)?;
        a.syscall()?;
        // CODE + 0x26: read KEEP.
        a.mov(rbx, KEEP)?;
        a.mov(rdi, qword_ptr(rbx))?;
        a.mov(eax, 39)?;
        a.syscall()?;
        a.ud2()
    });
    let space = w.space(&code);
    let map_all = |base: u64| {
        for i in 0..512u64 {
            let va = BIG + 4096 * i;
            let f = w.frame();
            w.ram.write_obj(base + i, GuestAddress(f.0)).unwrap();
            space.map(va, f, Prot::RW).unwrap();
        }
    };
    let sum = |base: u64| (0..512u64).map(|i| base + i).sum::<u64>();
    let mut cpu = w.machine.create_cpu(0).unwrap();
    let stores = |before: u64| exits(&w).pte_ops - before;
    // Three rounds: unmapped page by page, protected in one range, and
    // all but KEEP protected.
    for round in 0..3 {
        let base = 1000 * (round + 1);
        map_all(base);
        let mut regs = w.regs();
        assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), sum(base), "round {round}");
        let before = exits(&w).pte_ops;
        match round {
            0 => {
                for i in 0..512u64 {
                    space.unmap(BIG + 4096 * i).unwrap();
                }
            }
            1 => {
                space.protect_range(BIG, 512 * 4096, Prot::NONE);
            }
            _ => {
                space.protect_range(BIG, 100 * 4096, Prot::NONE);
                space.protect_range(KEEP + 4096, 411 * 4096, Prot::NONE);
                assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
                assert_eq!(regs.syscall_arg(0), base + 100, "the kept page");
                assert_eq!(stores(before), 511, "leaf by leaf");
                let mut regs = w.regs();
                match cpu.run(&mut regs, &*space, BUDGET) {
                    Trap::PageFault { va, .. } => assert_eq!(va, BIG),
                    t => panic!("{t:?}: a cleared leaf was still readable"),
                }
                continue;
            }
        }
        match cpu.run(&mut regs, &*space, BUDGET) {
            Trap::PageFault { va, .. } => assert_eq!(va, KEEP, "round {round}"),
            t => panic!("round {round}: {t:?}: a removed page was still readable"),
        }
        let n = stores(before);
        // Round 0 drops every leaf of the mirror (code, stack too).
        assert!(n <= 4, "round {round}: {n} PTE stores");
        let f = w.frame();
        w.ram.write_obj(0x9999u64, GuestAddress(f.0)).unwrap();
        space.map(KEEP, f, Prot::RW).unwrap();
        assert_eq!(cpu.run(&mut regs, &*space, BUDGET), Trap::Syscall);
        assert_eq!(regs.syscall_arg(0), 0x9999, "round {round}: mapped again");
    }
}
