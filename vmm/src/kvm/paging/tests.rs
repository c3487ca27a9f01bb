use super::*;
use spin_kernel::machine::new_guest_ram;
use spin_kernel::mem::{PhysAddr, Translation};
use spin_kernel::MoundId;

fn private() -> Private {
    let size = private::POOL + 64 * 4096;
    let mem = GuestRam::from_ranges(&[(GuestAddress(1 << 30), size as usize)]).unwrap();
    Private {
        mem,
        gpa: 1 << 30,
        size,
    }
}

#[test]
fn fill_then_remove_goes_through_the_queue() {
    let ram = new_guest_ram(1 << 20).unwrap();
    let t = Translation::new(ram, 12);
    let space = t.create(MoundId(1));
    let mem = private();
    let mut tables = Tables::new(mem.size, 1 << 20);
    tables.init_kernel_half(&mem);
    let mut loaded = Loaded::default();
    let mut ops = Vec::new();
    let e = tables.enter(&mem, &*space, &mut loaded, &mut ops).unwrap();
    assert_eq!(e.cr3, mem.phys(private::POOL));
    space.map(0x40_0000, PhysAddr(0x3000), Prot::RW).unwrap();
    let pte = space.walk(0x40_0010, Access::Read).unwrap();
    let f = tables
        .fill(&mem, &*space, 0x40_0010, pte, Access::Read, &mut ops)
        .unwrap();
    assert_eq!(f, Fill::Direct);
    assert!(ops.is_empty());
    // A write after a read: the present entry only gains write
    // permission, which the host stores directly.
    let pte = space.walk(0x40_0010, Access::Write).unwrap();
    let f = tables
        .fill(&mem, &*space, 0x40_0010, pte, Access::Write, &mut ops)
        .unwrap();
    assert_eq!(f, Fill::Direct);
    assert!(ops.is_empty());
    let leaf = tables.mirrors[&space.asid()].leaves[&0x40_0000];
    assert_eq!(mem.load(leaf) & (W | D), W | D);
    // A fill of the same value (a stale translation elsewhere) goes
    // through the shim, which also invalidates.
    let f = tables
        .fill(&mem, &*space, 0x40_0010, pte, Access::Write, &mut ops)
        .unwrap();
    assert_eq!(f, Fill::Queued);
    ops.clear();
    tables.leave(space.asid());
    space.unmap(0x40_0000);
    let e = tables.enter(&mem, &*space, &mut loaded, &mut ops).unwrap();
    assert_eq!(e.cr3, 0, "same mirror, no CR3 reload");
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].value, 0);
    assert_eq!(ops[0].va, 0x40_0000);
}

#[test]
fn a_read_fill_is_writable_only_when_the_page_is_already_dirty() {
    let ram = new_guest_ram(1 << 20).unwrap();
    let t = Translation::new(ram, 12);
    let space = t.create(MoundId(1));
    let mem = private();
    let mut tables = Tables::new(mem.size, 1 << 20);
    tables.init_kernel_half(&mem);
    let (mut loaded, mut ops) = (Loaded::default(), Vec::new());
    tables.enter(&mem, &*space, &mut loaded, &mut ops).unwrap();
    space.map(0x40_0000, PhysAddr(0x3000), Prot::RW).unwrap();
    space.map(0x40_1000, PhysAddr(0x4000), Prot::RW).unwrap();
    space.walk(0x40_1000, Access::Write).unwrap();
    for va in [0x40_0000, 0x40_1000] {
        let pte = space.walk(va, Access::Read).unwrap();
        tables
            .fill(&mem, &*space, va, pte, Access::Read, &mut ops)
            .unwrap();
    }
    let leaf = |va| mem.load(tables.mirrors[&space.asid()].leaves[&va]);
    assert_eq!(
        leaf(0x40_0000) & (W | D),
        0,
        "clean: the first write faults"
    );
    assert_eq!(leaf(0x40_1000) & (W | D), W | D, "already dirty");
    assert!(!space.examine(0x40_0000).unwrap().dirty);
}

#[test]
fn fill_around_takes_the_whole_table_only_after_a_whole_block() {
    let ram = new_guest_ram(4 << 20).unwrap();
    let t = Translation::new(ram, 12);
    let space = t.create(MoundId(1));
    let mem = private();
    let mut tables = Tables::new(mem.size, 4 << 20);
    tables.init_kernel_half(&mem);
    let (mut loaded, mut ops) = (Loaded::default(), Vec::new());
    tables.enter(&mem, &*space, &mut loaded, &mut ops).unwrap();
    let base = 0x4000_0000u64;
    // Young pages: the first block but one page, and the next block.
    for i in 0..2 * FILL_AROUND {
        if i == 5 {
            continue;
        }
        let va = base + i * 4096;
        space.map(va, PhysAddr(i * 4096), Prot::RW).unwrap();
        space.walk(va, Access::Read).unwrap();
    }
    let pte = space.walk(base, Access::Read).unwrap();
    tables
        .fill(&mem, &*space, base, pte, Access::Read, &mut ops)
        .unwrap();
    let n = tables.fill_around(&mem, &*space, base, &mut ops);
    assert_eq!(
        n as u64,
        FILL_AROUND - 2,
        "a block with a hole: that block only"
    );
    // Fill the hole: now the whole block is there, and the next block
    // of the same table comes with it.
    space
        .map(base + 5 * 4096, PhysAddr(5 * 4096), Prot::RW)
        .unwrap();
    let pte = space.walk(base + 5 * 4096, Access::Read).unwrap();
    tables
        .fill(&mem, &*space, base + 5 * 4096, pte, Access::Read, &mut ops)
        .unwrap();
    let n = tables.fill_around(&mem, &*space, base + 5 * 4096, &mut ops);
    assert_eq!(n as u64, FILL_AROUND);
    assert_eq!(
        tables.mirrors[&space.asid()].leaves.len() as u64,
        2 * FILL_AROUND
    );
    assert!(ops.is_empty(), "all not-present to present: direct stores");
}
