//! The block cache: deterministic preemption whatever the block split,
//! invalidation by guest stores (also inside the running block), and the
//! kernel's explicit flush after host-side writes.

mod common;

use alpha_emu::AlphaRegs;
use common::{Vm, CODE, DATA};
use spin_kernel::machine::{Cpu, Trap};

/// A program with calls, loops, loads, stores, byte ops and a conditional
/// move: ends in `halt` after a few thousand instructions.
const PROGRAM: &str = "
        lda t0,40
        clr v0
        mov a0,s0
    outer:
        bsr ra,body
        subq t0,1,t0
        bne t0,outer
        stq v0,0(s0)
        halt
    body:
        lda t1,7
    inner:
        ldq_u t2,3(s0)
        extbl t2,3,t3
        addq v0,t3,v0
        s4addq v0,t1,t4
        xor t4,v0,v0
        zapnot v0,0x3f,v0
        insbl t1,3,t5
        stq t5,8(s0)
        ldl t6,8(s0)
        cmovlbs t6,t1,t7
        addq v0,t7,v0
        subq t1,1,t1
        bgt t1,inner
        ret
";

fn fresh() -> Vm {
    let mut vm = Vm::new();
    vm.load(CODE, PROGRAM);
    vm.regs.r[16] = DATA;
    vm
}

/// Runs to `halt` in quanta of `q`; returns the state at every expiry.
fn trace(q: u64) -> (Vec<(u64, u64)>, AlphaRegs) {
    let mut vm = fresh();
    let mut stops = Vec::new();
    loop {
        match vm.run(q) {
            Trap::BudgetExpired => stops.push((vm.regs.pc, vm.regs.r[0])),
            Trap::Halt { .. } => return (stops, vm.regs.clone()),
            t => panic!("unexpected {t:?}"),
        }
    }
}

#[test]
fn preemption_is_deterministic_and_split_independent() {
    let (whole, end) = trace(10_000_000);
    assert!(whole.is_empty());
    for q in [1u64, 2, 3, 5, 7, 13, 64, 97, 1000] {
        let (a, ra) = trace(q);
        let (b, rb) = trace(q);
        assert_eq!(a, b, "quantum {q}: same program, same budget, same stops");
        assert_eq!(ra, end, "quantum {q}: same final state");
        assert_eq!(rb, end);
    }
    // The state after exactly n instructions does not depend on how the
    // budget was cut: one run of n equals n runs of 1.
    for n in [1u64, 4, 9, 10, 17, 30, 123, 456] {
        let mut one = fresh();
        assert_eq!(one.run(n), Trap::BudgetExpired);
        let mut steps = fresh();
        for _ in 0..n {
            assert_eq!(steps.run(1), Trap::BudgetExpired);
        }
        assert_eq!(one.regs, steps.regs, "after {n} instructions");
        assert_eq!(one.cpu.retired(), n);
        assert_eq!(steps.cpu.retired(), n);
    }
}

#[test]
fn store_into_the_running_block_takes_effect() {
    // The stl patches the very next instruction of the same block
    // (`lda v0,1` → `lda v0,2`), as qemu and real self-modifying code expect.
    let mut vm = Vm::new();
    let patch = alpha_emu::asm::assemble("lda v0,2", 0).unwrap()[0];
    vm.load(CODE, "stl t0,8(a1)\n nop\n lda v0,1\n halt");
    vm.regs.r[1] = patch as u64;
    vm.regs.r[17] = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 2);
}

#[test]
fn kernel_flushes_after_host_side_writes() {
    let mut vm = Vm::new();
    vm.load(CODE, "lda v0,1\n halt");
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 1);
    // The kernel rewrites the page from the host side, mapping unchanged.
    let new = alpha_emu::asm::assemble("lda v0,2\n halt", CODE).unwrap();
    vm.write_words(CODE, &new);
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 1, "without a flush the decoded code is kept");
    let space: &spin_kernel::mem::AddressSpace = &vm.space;
    assert!(vm.cpu.invalidate_code_va(space, CODE, 8));
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 2, "virtual-range flush");

    let newer = alpha_emu::asm::assemble("lda v0,3\n halt", CODE).unwrap();
    vm.write_words(CODE, &newer);
    let frame = vm.space.examine(CODE).unwrap().frame;
    assert!(vm.cpu.invalidate_code_pa(frame.0, 8192));
    assert!(!vm.cpu.invalidate_code_pa(frame.0, 8192), "nothing left");
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 3, "physical-range flush");
}

#[test]
fn data_stores_next_to_code_keep_the_code() {
    // Code and data share a page (as a static binary's text tail and data
    // head do): storing to the data half must not throw the code away.
    let mut vm = Vm::new();
    vm.load(
        CODE,
        "lda t0,100\n loop: stq t0,256(a0)\n subq t0,1,t0\n bne t0,loop\n halt",
    );
    vm.regs.r[16] = CODE;
    vm.run_to_halt();
    let s = vm.cpu.stats();
    assert_eq!(s.code_flushes, 0);
    assert!(s.code_blocks >= 2, "{s:?}");
    assert_eq!(vm.read_u64(CODE + 256), 1);
}
