//! Code kept per address space: switching between processes keeps their
//! compiled code; mapping changes revalidate instead of flushing; stores
//! into another kept space's code are seen when it runs again.

mod common;

use alpha_emu::{AlphaRegs, PAGE_SIZE};
use common::{Vm, CODE, DATA};
use spin_kernel::machine::{Cpu, Trap};
use spin_kernel::mem::{AddressSpace, PhysAddr, Prot};
use spin_kernel::{Cap, MoundId};

/// Physical frames for the extra spaces, far above what `Vm` hands out.
const FRAMES: u64 = 32 << 20;

/// A second address space with `src` assembled at CODE in a fresh frame
/// (`frame` is its index above FRAMES) and a data page at DATA.
fn other_space(vm: &Vm, mound: u32, frame: u64, src: &str) -> Cap<AddressSpace> {
    let space = vm.tr.create(MoundId(mound));
    let code = PhysAddr(FRAMES + frame * 2 * PAGE_SIZE);
    space.map(CODE, code, Prot::RWX).unwrap();
    space
        .map(DATA, PhysAddr(code.0 + PAGE_SIZE), Prot::RW)
        .unwrap();
    let words = alpha_emu::asm::assemble(src, CODE).unwrap();
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    space.write(CODE, &bytes).unwrap();
    space
}

fn run_in(vm: &mut Vm, space: &Cap<AddressSpace>, regs: &mut AlphaRegs, budget: u64) -> Trap {
    let s: &AddressSpace = space;
    vm.cpu.run(regs, s, budget)
}

const LOOP: &str =
    "lda t0,0\n lda t1,2000\n loop: addq t0,3,t0\n subq t1,1,t1\n bne t1,loop\n halt";

#[test]
fn switching_spaces_keeps_their_code() {
    let mut vm = Vm::new();
    vm.load(CODE, LOOP);
    let b = other_space(&vm, 2, 0, &LOOP.replace("addq t0,3,t0", "addq t0,5,t0"));
    let mut rb = AlphaRegs {
        pc: CODE,
        ..AlphaRegs::default()
    };
    // Alternate in small quanta: each space runs its own code at the same address.
    let (mut da, mut db) = (false, false);
    while !(da && db) {
        if !da {
            da = matches!(vm.run(101), Trap::Halt { .. });
        }
        if !db {
            db = matches!(run_in(&mut vm, &b, &mut rb, 97), Trap::Halt { .. });
        }
    }
    assert_eq!(vm.regs.r[1], 6000);
    assert_eq!(rb.r[1], 10000);
    let s = vm.cpu.stats();
    assert_eq!(s.code_flushes, 0, "{s:?}");
    assert_eq!(s.code_spaces, 2);
    // Running both again compiles nothing new.
    let compiled = vm.cpu.jit_counts().0;
    vm.regs.pc = CODE;
    rb.pc = CODE;
    vm.run_to_halt();
    assert!(matches!(
        run_in(&mut vm, &b, &mut rb, 1 << 20),
        Trap::Halt { .. }
    ));
    assert_eq!(vm.cpu.jit_counts().0, compiled);
}

#[test]
fn a_new_generation_revalidates_instead_of_flushing() {
    let mut vm = Vm::new();
    vm.load(CODE, LOOP);
    vm.map(0x3_0000_0000, PAGE_SIZE, Prot::RW);
    vm.run_to_halt();
    let compiled = vm.cpu.jit_counts().0;
    let blocks = vm.cpu.stats().code_blocks;
    // Unmapping an unrelated page bumps the generation: the code stays.
    vm.space.unmap(0x3_0000_0000).unwrap();
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[1], 6000);
    assert_eq!(vm.cpu.stats().code_blocks, blocks);
    assert_eq!(vm.cpu.jit_counts().0, compiled, "nothing recompiled");

    // Moving the code page to another frame holding other code is seen.
    let frame = PhysAddr(FRAMES);
    let words = alpha_emu::asm::assemble("lda t0,77\n halt", CODE).unwrap();
    vm.space.unmap(CODE).unwrap();
    vm.space.map(CODE, frame, Prot::RWX).unwrap();
    vm.write_words(CODE, &words);
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[1], 77);

    // Taking execute permission away faults.
    vm.space.protect(CODE, Prot::RW).unwrap();
    vm.regs.pc = CODE;
    assert!(matches!(vm.run(10), Trap::PageFault { pc: CODE, .. }));
}

#[test]
fn stores_into_another_spaces_code_are_seen() {
    // Space B maps A's code frame as data and patches A's first
    // instruction while A is switched out.
    let mut vm = Vm::new();
    vm.load(CODE, "lda t0,1\n halt");
    vm.run_to_halt();
    assert_eq!(vm.regs.r[1], 1);
    let a_frame = vm.space.examine(CODE).unwrap().frame;
    let patch = alpha_emu::asm::assemble("lda t0,2", 0).unwrap()[0];
    let b = other_space(&vm, 2, 1, "stl t1,0(a0)\n halt");
    b.map(0x4_0000_0000, a_frame, Prot::RW).unwrap();
    let mut rb = AlphaRegs {
        pc: CODE,
        ..AlphaRegs::default()
    };
    rb.r[2] = patch as u64;
    rb.r[16] = 0x4_0000_0000;
    assert!(matches!(
        run_in(&mut vm, &b, &mut rb, 100),
        Trap::Halt { .. }
    ));
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[1], 2, "A runs the patched instruction");
}

#[test]
fn many_spaces_take_turns() {
    let mut vm = Vm::new();
    let spaces: Vec<Cap<AddressSpace>> = (0..12)
        .map(|i| {
            other_space(
                &vm,
                10 + i,
                2 + i as u64,
                &format!(
                    "lda t0,{}\n lda t1,50\n l: addq t0,1,t0\n subq t1,1,t1\n bne t1,l\n halt",
                    i
                ),
            )
        })
        .collect();
    for round in 0..3 {
        for (i, s) in spaces.iter().enumerate() {
            let mut r = AlphaRegs {
                pc: CODE,
                ..AlphaRegs::default()
            };
            assert!(matches!(
                run_in(&mut vm, s, &mut r, 1000),
                Trap::Halt { .. }
            ));
            assert_eq!(r.r[1], i as u64 + 50, "round {round} space {i}");
        }
    }
    assert!(vm.cpu.stats().code_spaces <= 8);
}
