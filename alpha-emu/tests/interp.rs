//! Per-class instruction tests with known vectors, run on the real CPU.

mod common;

use alpha_emu::AlphaRegs;
use common::{exec, Vm, CODE, DATA};
use spin_kernel::machine::{Access, Cpu, Trap};
use spin_kernel::mem::Prot;

fn r(regs: &AlphaRegs, n: usize) -> u64 {
    regs.r[n]
}

#[test]
fn integer_arithmetic() {
    let g = exec(
        "addl t0,t1,t2\n addq t0,t1,t3\n subl t0,t1,t4\n s4addq t0,3,t5\n s8subl t0,t1,t6\n mull t0,t1,t7\n\
         mulq t0,t1,s0\n umulh t0,t1,s1\n cmpult t1,t0,s2\n cmplt t1,t0,s3\n cmpbge t0,t1,s4\n halt",
        &[(1, 0x7fff_ffff), (2, 0xffff_ffff_ffff_fffe)],
    );
    assert_eq!(r(&g, 3), 0x7fff_fffd);
    assert_eq!(r(&g, 4), 0x7fff_fffd);
    assert_eq!(r(&g, 5), 0xffff_ffff_8000_0001);
    assert_eq!(r(&g, 6), 0x1_ffff_ffff);
    assert_eq!(r(&g, 7), 0xffff_ffff_ffff_fffa);
    assert_eq!(r(&g, 8) as i64, 2); // sext32(0x7fffffff * -2 low 32 = 0x00000002)
    assert_eq!(r(&g, 9) as i64, -0xffff_fffe);
    assert_eq!(r(&g, 10), 0x7fff_fffe);
    assert_eq!(r(&g, 11), 0);
    assert_eq!(r(&g, 12), 1);
    assert_eq!(r(&g, 13), 0x07);
}

#[test]
fn logic_shifts_cmov() {
    let g = exec(
        "and t0,t1,t2\n andnot t0,t1,t3\n or t0,t1,t4\n ornot zero,t0,t5\n xor t0,t1,t6\n eqv t0,t1,t7\n\
         sll t0,4,s0\n srl t1,60,s1\n sra t1,60,s2\n cmoveq zero,7,s3\n cmovlbs t0,9,s4\n cmovlt t0,9,s5\n halt",
        &[(1, 0x0f0f), (2, 0xf000_0000_0000_ff00)],
    );
    assert_eq!(r(&g, 3), 0x0f00);
    assert_eq!(r(&g, 4), 0x000f);
    assert_eq!(r(&g, 5), 0xf000_0000_0000_ff0f);
    assert_eq!(r(&g, 6), !0x0f0f);
    assert_eq!(r(&g, 7), 0xf000_0000_0000_f00f);
    assert_eq!(r(&g, 8), !0xf000_0000_0000_f00f);
    assert_eq!(r(&g, 9), 0xf0f0);
    assert_eq!(r(&g, 10), 0xf);
    assert_eq!(r(&g, 11), u64::MAX);
    assert_eq!(r(&g, 12), 7);
    assert_eq!(r(&g, 13), 9);
    assert_eq!(r(&g, 14), 0);
}

#[test]
fn byte_manipulation_and_extensions() {
    let g = exec(
        "extbl t0,2,t2\n extwh t0,t1,t3\n insbl t0,3,t4\n mskql t0,t1,t5\n zapnot t0,0x0f,t6\n zap t0,0x0f,t7\n\
         sextb t0,s0\n sextw t0,s1\n ctpop t0,s2\n ctlz t0,s3\n cttz t0,s4\n minub8 t0,t1,s5\n perr t0,zero,a0\n\
         pklb t0,a1\n unpkbw t0,a2\n amask t0,a3\n implver a4\n halt",
        &[(1, 0x0123_4567_89ab_cdef), (2, 5)],
    );
    assert_eq!(r(&g, 3), 0xab);
    assert_eq!(r(&g, 4), 0xcdef_0000_0000 & 0xffff); // extwh by 5 bytes
    assert_eq!(r(&g, 5), 0xef00_0000);
    assert_eq!(r(&g, 6), 0x0000_0067_89ab_cdef);
    assert_eq!(r(&g, 7), 0x89ab_cdef);
    assert_eq!(r(&g, 8), 0x0123_4567_0000_0000);
    assert_eq!(r(&g, 9), 0xffff_ffff_ffff_ffef);
    assert_eq!(r(&g, 10), 0xffff_ffff_ffff_cdef);
    assert_eq!(r(&g, 11), 32);
    assert_eq!(r(&g, 12), 7);
    assert_eq!(r(&g, 13), 0);
    assert_eq!(r(&g, 14), 0x05);
    assert_eq!(
        r(&g, 16),
        0x01 + 0x23 + 0x45 + 0x67 + 0x89 + 0xab + 0xcd + 0xef
    );
    assert_eq!(r(&g, 17), 0x67ef);
    assert_eq!(r(&g, 18), 0x0089_00ab_00cd_00ef);
    assert_eq!(r(&g, 19), 0x0123_4567_89ab_cdef & !0x1307);
    assert_eq!(r(&g, 20), 2);
}

#[test]
fn overflow_traps_are_precise() {
    let mut vm = Vm::new();
    vm.load(CODE, "addq/v t0,t0,t1\n addl/v t0,t0,t2\n halt");
    vm.regs.r[1] = 0x4000_0000;
    let t = vm.run(100);
    assert_eq!(
        t,
        Trap::Arithmetic {
            pc: CODE + 4,
            summary: 1 << 6
        }
    );
    assert_eq!(vm.regs.pc, CODE + 4);
    assert_eq!(vm.regs.r[2], 0x8000_0000);
    assert_eq!(vm.regs.r[3], 0, "no write on overflow");
    for src in [
        "subq/v t0,t1,t2",
        "mulq/v t0,t0,t2",
        "mull/v t0,t0,t2",
        "subl/v t1,t0,t2",
    ] {
        let mut vm = Vm::new();
        vm.load(CODE, &format!("{src}\n halt"));
        vm.regs.r[1] = 0x4000_0000_4000_0000;
        vm.regs.r[2] = 0x8000_0000_8000_0000;
        assert!(matches!(vm.run(10), Trap::Arithmetic { .. }), "{src}");
    }
}

#[test]
fn loads_stores_and_bwx() {
    let mut vm = Vm::new();
    vm.load(
        CODE,
        "ldq t1,0(a0)\n ldl t2,4(a0)\n ldbu t3,7(a0)\n ldwu t4,2(a0)\n ldq_u t5,13(a0)\n\
         stb t0,16(a0)\n stw t0,18(a0)\n stl t0,20(a0)\n stq t0,24(a0)\n lda t6,-8(a0)\n ldah t7,1(a0)\n\
         extqh t5,a1,s0\n halt",
    );
    vm.write_u64(DATA, 0x8899_aabb_ccdd_eeff);
    vm.write_u64(DATA + 8, 0x1122_3344_5566_7788);
    vm.regs.r[16] = DATA;
    vm.regs.r[17] = DATA + 13;
    vm.regs.r[1] = 0x0102_0304_0506_0708;
    let g = vm.run_to_halt().clone();
    assert_eq!(g.r[2], 0x8899_aabb_ccdd_eeff);
    assert_eq!(g.r[3], 0xffff_ffff_8899_aabb);
    assert_eq!(g.r[4], 0x88);
    assert_eq!(g.r[5], 0xccdd);
    assert_eq!(g.r[6], 0x1122_3344_5566_7788);
    assert_eq!(g.r[7], DATA - 8);
    assert_eq!(g.r[8], DATA + 0x10000);
    assert_eq!(vm.read_u64(DATA + 16), 0x0506_0708_0708_0008);
    assert_eq!(vm.read_u64(DATA + 24), 0x0102_0304_0506_0708);
}

#[test]
fn unaligned_accesses_are_fixed_up() {
    let mut vm = Vm::new();
    vm.load(CODE, "ldq t1,1(a0)\n stq t1,8195(a0)\n ldl t2,8195(a0)\n ldwu t3,8201(a0)\n stw t3,8191(a0)\n halt");
    vm.write_u64(DATA, 0x8899_aabb_ccdd_eeff);
    vm.write_u64(DATA + 8, 0x1122_3344_5566_7788);
    vm.regs.r[16] = DATA;
    let g = vm.run_to_halt().clone();
    assert_eq!(g.r[2], 0x8888_99aa_bbcc_ddee);
    assert_eq!(g.r[3], 0xffff_ffff_bbcc_ddee);
    assert_eq!(g.r[4], 0x8888);
    assert_eq!(vm.read_u64(DATA + 8192), 0xaabb_ccdd_ee00_0088);
    assert_eq!(vm.cpu.stats().unaligned_fixups, 5);
}

#[test]
fn ldx_l_stx_c_unaligned_traps() {
    let mut vm = Vm::new();
    vm.load(CODE, "ldq_l t0,4(a0)\n halt");
    vm.regs.r[16] = DATA;
    assert_eq!(
        vm.run(10),
        Trap::Unaligned {
            va: DATA + 4,
            pc: CODE
        }
    );
    assert_eq!(vm.regs.pc, CODE);
}

#[test]
fn ll_sc_succeeds_alone_and_fails_after_remote_store() {
    let mut vm = Vm::new();
    vm.load(
        CODE,
        "ldq_l t0,0(a0)\n addq t0,1,t0\n stq_c t0,0(a0)\n halt",
    );
    vm.regs.r[16] = DATA;
    vm.write_u64(DATA, 41);
    let g = vm.run_to_halt().clone();
    assert_eq!(g.r[1], 1, "stq_c succeeded");
    assert_eq!(vm.read_u64(DATA), 42);

    // Now a second CPU of the same machine stores the *same* value between the
    // ldq_l and the stq_c: the reservation must still be lost.
    use spin_kernel::machine::Machine;
    let mut other = vm.machine.create_cpu(1).unwrap();
    let mut oregs = AlphaRegs::default();
    vm.load(
        CODE + 0x100,
        "ldq_l t0,0(a0)\n addq t0,1,t0\n stq_c t0,0(a0)\n halt",
    );
    vm.write_words(
        CODE + 0x200,
        &alpha_emu::asm::assemble("stq t1,8(a0)\n stq t1,0(a0)\n halt", 0).unwrap(),
    );
    assert_eq!(vm.run(1), Trap::BudgetExpired); // ldq_l done
    oregs.pc = CODE + 0x200;
    oregs.r[16] = DATA;
    oregs.r[2] = 42;
    let space: &spin_kernel::mem::AddressSpace = &vm.space;
    assert!(matches!(
        other.run(&mut oregs, space, 100),
        Trap::Halt { .. }
    ));
    vm.run_to_halt();
    assert_eq!(
        vm.regs.r[1], 0,
        "stq_c must fail after a remote store to the block"
    );
    assert_eq!(vm.read_u64(DATA), 42);
}

#[test]
fn budgets_stop_at_exact_instruction() {
    let src = "loop: addq t0,1,t0\n subq t1,1,t1\n bne t1,loop\n halt";
    for budget in [1u64, 2, 3, 7, 100, 2999] {
        let mut vm = Vm::new();
        vm.load(CODE, src);
        vm.regs.r[2] = 1000;
        assert_eq!(vm.run(budget), Trap::BudgetExpired);
        assert_eq!(vm.cpu.retired(), budget);
        // After n instructions: PC = CODE + 4 * (n mod 3).
        assert_eq!(vm.regs.pc, CODE + 4 * (budget % 3));
        assert_eq!(vm.regs.r[1], budget.div_ceil(3));
    }
    // Same program, same budgets → same stopping points, and resuming completes it.
    let mut vm = Vm::new();
    vm.load(CODE, src);
    vm.regs.r[2] = 1000;
    let mut traps = 0;
    loop {
        match vm.run(97) {
            Trap::BudgetExpired => traps += 1,
            Trap::Halt { .. } => break,
            t => panic!("{t:?}"),
        }
    }
    assert_eq!(traps, 3001 / 97);
    assert_eq!(vm.cpu.retired(), 3001);
}

#[test]
fn page_faults_are_precise() {
    let mut vm = Vm::new();
    vm.load(
        CODE,
        "addq t0,1,t0\n ldq t1,0(a0)\n addq t0,1,t0\n stq t0,0(a1)\n halt",
    );
    vm.regs.r[16] = 0x5_0000_0008;
    vm.regs.r[17] = 0x6_0000_0000;
    let t = vm.run(100);
    assert_eq!(
        t,
        Trap::PageFault {
            va: 0x5_0000_0008,
            access: Access::Read,
            pc: CODE + 4
        }
    );
    assert_eq!(vm.regs.pc, CODE + 4);
    assert_eq!(vm.regs.r[1], 1);
    vm.map(0x5_0000_0000, 8192, Prot::READ);
    vm.map(0x6_0000_0000, 8192, Prot::READ);
    let t = vm.run(100);
    assert_eq!(
        t,
        Trap::PageFault {
            va: 0x6_0000_0000,
            access: Access::Write,
            pc: CODE + 12
        }
    );
    vm.map(0x6_0000_0000, 8192, Prot::RW);
    vm.run_to_halt();
    assert_eq!(vm.read_u64(0x6_0000_0000), 2);
    // Instruction fetch from an unmapped page.
    let mut vm = Vm::new();
    vm.regs.pc = 0x7_0000_0000;
    assert_eq!(
        vm.run(5),
        Trap::PageFault {
            va: 0x7_0000_0000,
            access: Access::Execute,
            pc: 0x7_0000_0000
        }
    );
}

#[test]
fn unmapping_is_seen_at_next_run() {
    let mut vm = Vm::new();
    vm.load(CODE, "ldq t1,0(a0)\n halt");
    vm.regs.r[16] = DATA;
    vm.run_to_halt();
    vm.space.unmap(DATA);
    vm.regs.pc = CODE;
    assert!(matches!(
        vm.run(10),
        Trap::PageFault {
            access: Access::Read,
            ..
        }
    ));
}

#[test]
fn self_modifying_code_and_imb() {
    let mut vm = Vm::new();
    // Patch the instruction at `slot` (initially `lda v0,1(zero)`) into `lda v0,2(zero)`.
    let words = vm.load(
        CODE,
        "lda v0,1\n br slot\n slot: lda v0,1\n ldl t0,0(a0)\n stl t0,0(a1)\n lda v0,3\n halt",
    );
    let _ = words;
    let patch = alpha_emu::asm::assemble("lda t2,2", 0).unwrap()[0];
    vm.write_words(DATA, &[patch]);
    vm.regs.r[16] = DATA;
    vm.regs.r[17] = CODE + 8;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[3], 0, "first pass ran the old instruction");
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(
        vm.regs.r[3], 2,
        "store into a code page invalidated the predecoded slot"
    );

    // imb empties the cache and execution continues after it.
    let mut vm = Vm::new();
    vm.load(CODE, "imb\n lda v0,7\n halt");
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 7);
    assert!(vm.cpu.stats().code_flushes >= 1);
}

#[test]
fn pal_calls() {
    let mut vm = Vm::new();
    vm.load(
        CODE,
        "lda a0,77\n wruniq\n lda a0,0\n rduniq\n callsys\n gentrap\n bpt\n call_pal 0x1\n halt",
    );
    assert_eq!(vm.run(100), Trap::Syscall);
    assert_eq!(vm.regs.pc, CODE + 20);
    assert_eq!(vm.regs.r[0], 77);
    assert_eq!(vm.regs.unique, 77);
    assert_eq!(
        vm.run(100),
        Trap::PalCall {
            pc: CODE + 20,
            code: 0xaa
        }
    );
    assert_eq!(vm.regs.pc, CODE + 24);
    assert_eq!(vm.run(100), Trap::Breakpoint { pc: CODE + 24 });
    assert!(matches!(vm.run(100), Trap::IllegalInstruction { pc, insn: 1 } if pc == CODE + 28));
    vm.regs.pc += 4;
    assert_eq!(vm.run(100), Trap::Halt { pc: CODE + 32 });
}

#[test]
fn branches_and_jumps() {
    let g = exec(
        "lda t0,3\n clr t1\n loop: addq t1,t0,t1\n subq t0,1,t0\n bgt t0,loop\n bsr ra,func\n br done\n\
         func: lda t3,5\n ret\n done: blbs t1,odd\n lda t4,1\n odd: halt",
        &[],
    );
    assert_eq!(g.r[2], 6);
    assert_eq!(g.r[4], 5);
    assert_eq!(g.r[5], 1);
}

#[test]
fn vax_loads_are_illegal() {
    let mut vm = Vm::new();
    vm.load(CODE, "ldg $f1,0(a0)\n halt");
    vm.regs.r[16] = DATA;
    assert!(matches!(
        vm.run(10),
        Trap::IllegalInstruction { pc: CODE, .. }
    ));
}

#[test]
fn long_straight_line_crosses_pages() {
    let mut src = String::new();
    for _ in 0..5000 {
        src.push_str("addq t0,1,t0\n");
    }
    src.push_str("halt\n");
    let g = exec(&src, &[]);
    assert_eq!(g.r[1], 5000);
}

#[test]
fn remapped_frame_runs_its_new_code() {
    let mut vm = Vm::new();
    vm.load(CODE, "lda v0,1\n halt");
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 1);
    // The kernel unmaps the page, rewrites the frame and maps it again.
    let frame = vm.space.examine(CODE).unwrap().frame;
    vm.space.unmap(CODE);
    vm.space.map(CODE, frame, Prot::RWX).unwrap();
    vm.write_words(
        CODE,
        &alpha_emu::asm::assemble("lda v0,2\n halt", CODE).unwrap(),
    );
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[0], 2);
}
