//! Compiled code against the interpreter: random programs built from the
//! instruction classes the block compiler handles itself (integer operate,
//! byte manipulation, loads and stores, branches, jumps) must leave the same
//! registers, memory, traps and retired counts under both, budget for budget.

mod common;

use alpha_emu::PAGE_SIZE;
use common::{Vm, CODE, DATA};
use proptest::prelude::*;
use spin_kernel::machine::{Cpu, Trap};
use spin_kernel::mem::Prot;

/// Registers that hold pointers into the data area.
const PTRS: [u32; 4] = [16, 17, 18, 30];

fn operate(opcode: u32, func: u32, ra: u32, rb: u32, rc: u32, lit: Option<u32>) -> u32 {
    let b = match lit {
        Some(l) => (l & 0xff) << 13 | 1 << 12,
        None => rb << 16,
    };
    opcode << 26 | ra << 21 | b | func << 5 | rc
}

/// One random instruction word from the compiled classes.
fn insn() -> impl Strategy<Value = u32> {
    let reg = 0u32..32;
    let ops = prop_oneof![
        // Integer operate, every function of the four integer opcodes (and
        // the 0x1c extensions); invalid ones become illegal traps.
        (
            prop_oneof![
                Just(0x10u32),
                Just(0x11),
                Just(0x12),
                Just(0x13),
                Just(0x1c)
            ],
            0u32..0x80,
            reg.clone(),
            reg.clone(),
            reg.clone(),
            prop::option::of(0u32..256)
        )
            .prop_map(|(o, f, a, b, c, l)| operate(o, f, a, b, c, l)),
        // The byte-manipulation functions, more often.
        (
            prop::sample::select(vec![
                0x02u32, 0x06, 0x0b, 0x12, 0x16, 0x1b, 0x22, 0x26, 0x2b, 0x30, 0x31, 0x32, 0x34,
                0x36, 0x39, 0x3b, 0x3c, 0x52, 0x57, 0x5a, 0x62, 0x67, 0x6a, 0x72, 0x77, 0x7a,
            ]),
            reg.clone(),
            reg.clone(),
            reg.clone(),
            prop::option::of(0u32..256)
        )
            .prop_map(|(f, a, b, c, l)| operate(0x12, f, a, b, c, l)),
        // lda / ldah.
        (
            prop_oneof![Just(0x08u32), Just(0x09)],
            reg.clone(),
            reg.clone(),
            any::<u16>()
        )
            .prop_map(|(o, a, b, d)| o << 26 | a << 21 | b << 16 | d as u32),
        // Loads and stores through a data pointer, some unaligned or out of range.
        (
            prop::sample::select(vec![
                0x0au32, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x23, 0x27, 0x28, 0x29, 0x2c, 0x2d,
            ]),
            reg.clone(),
            prop::sample::select(PTRS.to_vec()),
            prop_oneof![8 => 0u32..256, 1 => any::<u16>().prop_map(u32::from)]
        )
            .prop_map(|(o, a, b, d)| o << 26 | a << 21 | b << 16 | d),
        // Forward branches of every kind (integer and FP).
        (0x30u32..0x40, reg.clone(), 0u32..6).prop_map(|(o, a, d)| o << 26 | a << 21 | d),
        // A backward branch now and then (loops; the budget ends them).
        (
            prop::sample::select(vec![0x39u32, 0x3d, 0x3e, 0x3f]),
            reg.clone(),
            1u32..8
        )
            .prop_map(|(o, a, d)| o << 26 | a << 21 | (0x20_0000 - d)),
        // FP operate: the common T/S arithmetic, compares, conversions and
        // sign copies with assorted qualifiers, and random functions.
        (
            prop_oneof![
                3 => prop::sample::select(vec![
                    0x5a0u32, 0x5a1, 0x5a2, 0x5a3, 0x0a0, 0x0a2, 0x0a3, 0x5a5, 0x5a6, 0x5a7,
                    0x0be, 0x0af, 0x7af, 0x2ac, 0x580, 0x582, 0x020, 0x021, 0x022, 0x02a,
                    0x02b, 0x024, 0x025, 0x52f, 0x12f, 0x42f, 0x5e0, 0x5e2, 0x5e3, 0x7a0,
                    0x03e, 0x7be,
                ]),
                1 => 0u32..0x800,
            ],
            prop_oneof![Just(0x16u32), Just(0x17), Just(0x14)],
            reg.clone(),
            reg.clone(),
            reg.clone()
        )
            .prop_map(|(f, o, a, b, c)| {
                let o = if o == 0x17 && f > 0x30 { 0x16 } else { o };
                o << 26 | a << 21 | b << 16 | f << 5 | c
            }),
        // lds / sts / ldt / stt through a data pointer.
        (
            prop::sample::select(vec![0x22u32, 0x26, 0x23, 0x27]),
            reg.clone(),
            prop::sample::select(PTRS.to_vec()),
            0u32..64
        )
            .prop_map(|(o, a, b, d)| o << 26 | a << 21 | b << 16 | (d * 4)),
        // rduniq, wruniq, rpcc, mb, trapb.
        prop::sample::select(vec![
            0x9eu32,
            0x9f,
            0x6000_c000 | 1 << 21,
            0x6000_4000,
            0x6000_0000
        ]),
    ];
    ops
}

fn setup(words: &[u32], regs: &[u64], jit: bool) -> Vm {
    let mut vm = Vm::new();
    vm.cpu.set_jit(jit);
    vm.map(CODE, PAGE_SIZE, Prot::RWX);
    let mut all = words.to_vec();
    // A jump through a register and a return land inside the program.
    all.push(0x6bfa_8001); // ret zero,(ra)
    all.push(0x0000_0000); // halt
    vm.write_words(CODE, &all);
    for (i, v) in regs.iter().enumerate() {
        vm.regs.r[i] = if PTRS.contains(&(i as u32)) {
            DATA + 0x1000 + (v & 0xfff)
        } else {
            *v
        };
        // FP registers: raw bits, small integers (for cvtqt), ordinary
        // doubles (the fast paths' range) and doubles near the range's ends.
        vm.regs.f[i] = match v % 4 {
            0 => *v,
            1 => ((*v as i64) >> 40) as u64,
            2 => ((*v >> 16) as i64 as f64 / 1024.0).to_bits(),
            _ => (v & 0x800f_ffff_ffff_ffff) | (((v >> 2) % 2048) << 52),
        };
    }
    vm.regs.r[31] = 0;
    vm.regs.f[31] = 0;
    // ra points at the trailing halt (and sometimes into the program).
    vm.regs.r[26] = CODE + 4 * (all.len() as u64 - 1);
    vm.regs.pc = CODE;
    vm
}

fn data(vm: &Vm) -> Vec<u8> {
    let mut b = vec![0u8; 4 * PAGE_SIZE as usize];
    vm.space.read(DATA, &mut b).unwrap();
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn compiled_code_matches_the_interpreter(
        words in proptest::collection::vec(insn(), 1..48),
        regs in proptest::collection::vec(any::<u64>(), 32),
        budget in 1u64..300,
    ) {
        let mut j = setup(&words, &regs, true);
        let mut i = setup(&words, &regs, false);
        for round in 0..6 {
            let tj = j.run(budget);
            let ti = i.run(budget);
            prop_assert_eq!(tj, ti, "round {}", round);
            prop_assert_eq!(&j.regs, &i.regs, "round {}", round);
            prop_assert_eq!(j.regs.f, i.regs.f, "round {}", round);
            prop_assert_eq!(j.regs.fpcr, i.regs.fpcr, "round {}", round);
            prop_assert_eq!(j.cpu.retired(), i.cpu.retired());
            prop_assert_eq!(data(&j), data(&i));
            match tj {
                Trap::BudgetExpired | Trap::Syscall | Trap::PalCall { .. } => {}
                Trap::Halt { .. } => break,
                _ => {
                    j.regs.pc = j.regs.pc.wrapping_add(4);
                    i.regs.pc = i.regs.pc.wrapping_add(4);
                }
            }
        }
    }
}

#[test]
fn compiled_code_is_used() {
    let mut vm = Vm::new();
    vm.load(
        CODE,
        "lda t0,1000\n loop: subq t0,1,t0\n bne t0,loop\n halt",
    );
    vm.run_to_halt();
    assert_eq!(vm.regs.r[1], 0);
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        assert!(vm.cpu.jit_active());
    }
    vm.cpu.set_jit(false);
    assert!(!vm.cpu.jit_active());
    vm.regs.pc = CODE;
    vm.run_to_halt();
    assert_eq!(vm.regs.r[1], 0);
}

/// Random loops: a body of compiled-class instructions (no branches), a
/// pointer that strides through memory (eventually unaligned or off the
/// mapped area, so a mid-body exit comes in a later iteration) and a counter.
fn looping(body: &[u32], stride: u16, count: u64) -> Vec<u32> {
    let mut w = body.to_vec();
    // lda a0,stride(a0) ; subq t12,1,t12 ; bne t12,top
    w.push(0x08 << 26 | 16 << 21 | 16 << 16 | stride as u32);
    w.push(operate(0x10, 0x29, 27, 0, 27, Some(1)));
    let back = (0x20_0000 - (w.len() as u32 + 1)) & 0x1f_ffff;
    w.push(0x3d << 26 | 27 << 21 | back);
    let _ = count;
    w
}

fn straight() -> impl Strategy<Value = u32> {
    insn().prop_filter("no branches", |w| !(0x30..0x40).contains(&(w >> 26)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 800, ..ProptestConfig::default() })]

    #[test]
    fn compiled_loops_match_the_interpreter(
        body in proptest::collection::vec(straight(), 1..12),
        regs in proptest::collection::vec(any::<u64>(), 32),
        stride in prop_oneof![Just(8u16), Just(0x400), Just(0x1001), Just(0x7ff8)],
        count in 1u64..40,
        budget in prop_oneof![Just(10_000u64), 1u64..200],
    ) {
        let words = looping(&body, stride, count);
        let mut regs = regs;
        regs[27] = count;
        let mut j = setup(&words, &regs, true);
        let mut i = setup(&words, &regs, false);
        for round in 0..8 {
            let tj = j.run(budget);
            let ti = i.run(budget);
            prop_assert_eq!(tj, ti, "round {}", round);
            prop_assert_eq!(&j.regs, &i.regs, "round {}", round);
            prop_assert_eq!(j.cpu.retired(), i.cpu.retired());
            prop_assert_eq!(data(&j), data(&i));
            match tj {
                Trap::BudgetExpired | Trap::Syscall | Trap::PalCall { .. } => {}
                Trap::Halt { .. } => break,
                _ => {
                    j.regs.pc = j.regs.pc.wrapping_add(4);
                    i.regs.pc = i.regs.pc.wrapping_add(4);
                }
            }
        }
    }
}

#[test]
fn loop_registers_survive_a_late_exit() {
    // The load runs off the mapped area in the third iteration, after t0
    // was incremented in the first two (the first ends in the interpreter
    // on the TLB miss, the second is compiled code): the increments must
    // not be lost on the way out.
    let src =
        "loop: ldq t2,0(a0)\n addq t0,1,t0\n lda a0,8(a0)\n subq t1,1,t1\n bne t1,loop\n halt";
    let mut retired = Vec::new();
    for jit in [true, false] {
        let mut vm = Vm::new();
        vm.cpu.set_jit(jit);
        vm.load(CODE, src);
        vm.regs.r[16] = DATA + 4 * PAGE_SIZE - 16;
        vm.regs.r[2] = 100;
        let t = vm.run(1000);
        assert!(
            matches!(t, Trap::PageFault { pc, .. } if pc == CODE),
            "{t:?}"
        );
        assert_eq!(vm.regs.r[1], 2, "jit {jit}");
        assert_eq!(vm.regs.r[2], 98, "jit {jit}");
        assert_eq!(vm.regs.r[16], DATA + 4 * PAGE_SIZE, "jit {jit}");
        retired.push(vm.cpu.retired());
    }
    assert_eq!(retired, [10, 10]);
    // The same with an overflow trap in a later iteration.
    let src = "loop: addq/v t3,t4,t3\n addq t0,1,t0\n subq t1,1,t1\n bne t1,loop\n halt";
    let mut retired = Vec::new();
    for jit in [true, false] {
        let mut vm = Vm::new();
        vm.cpu.set_jit(jit);
        vm.load(CODE, src);
        vm.regs.r[4] = i64::MAX as u64 - 25;
        vm.regs.r[5] = 10;
        vm.regs.r[2] = 100;
        let t = vm.run(1000);
        assert!(
            matches!(t, Trap::Arithmetic { pc, .. } if pc == CODE),
            "{t:?}"
        );
        assert_eq!(vm.regs.r[1], 2, "jit {jit}");
        assert_eq!(vm.regs.r[4], i64::MAX as u64 - 5, "jit {jit}");
        retired.push(vm.cpu.retired());
    }
    assert_eq!(retired, [8, 8]);
}

#[test]
fn two_cpus_share_a_counter_through_ll_sc() {
    // Each CPU adds 1 to a shared counter 300 times with an ldq_l/stq_c
    // retry loop, and stores its own progress to a private word; the two
    // run in alternating quanta, so reservations are regularly broken by
    // the other CPU's stores. Plain stores must stay fast (compiled) while
    // nobody holds a reservation.
    use spin_kernel::machine::Machine;
    let src = "
        lda t2,300
    again:
        ldq_l t0,0(a0)
        addq t0,1,t0
        stq_c t0,0(a0)
        beq t0,again
        subq t2,1,t2
        stq t2,0(a1)
        bne t2,again
        halt";
    for jit in [true, false] {
        let mut vm = Vm::new();
        vm.cpu.set_jit(jit);
        vm.load(CODE, src);
        let mut other = vm.machine.create_cpu(1).unwrap();
        other.set_jit(jit);
        let mut oregs = vm.regs.clone();
        vm.regs.r[16] = DATA;
        vm.regs.r[17] = DATA + 64;
        oregs.r[16] = DATA;
        oregs.r[17] = DATA + 128;
        let (mut done0, mut done1) = (false, false);
        for q in (0..100_000u64).map(|i| 3 + i % 17) {
            if !done0 {
                done0 = matches!(vm.run(q), Trap::Halt { .. });
            }
            if !done1 {
                let space: &spin_kernel::mem::AddressSpace = &vm.space;
                done1 = matches!(other.run(&mut oregs, space, q + 5), Trap::Halt { .. });
            }
            if done0 && done1 {
                break;
            }
        }
        assert!(done0 && done1, "jit {jit}");
        assert_eq!(vm.read_u64(DATA), 600, "jit {jit}: no increment lost");
        assert_eq!(vm.read_u64(DATA + 64), 0);
        assert_eq!(vm.read_u64(DATA + 128), 0);
    }
}

#[test]
fn inline_fp_paths_match_the_interpreter_at_their_edges() {
    let p = |e: u64, m: u64| e << 52 | m;
    let mut vals: Vec<u64> = vec![
        0,
        1 << 63,
        1,
        (1 << 53) - 1,
        1 << 53,
        (1u64 << 53).wrapping_neg(),
        (1u64 << 53).wrapping_neg() + 1,
        i64::MAX as u64,
        i64::MIN as u64,
        p(0x7ff, 0),
        p(0xfff, 0),
        p(0x7ff, 1),
        p(0x7ff, 1 << 51),
        p(0, 5),
        p(127, 3),
        p(128, 0),
        p(128, 7),
        p(1920, 0xf_ffff_ffff_ffff),
        p(1921, 0),
        p(1023, 0),
        p(1023 + 52, 1),
        p(1023 + 62, 0xf_ffff_ffff_ffff),
        p(1023 + 63, 0),
        p(1023 + 64, 0),
        p(1023 + 70, 3),
        p(0x800 + 1023 + 62, 0xf_ffff_ffff_ffff),
        p(0x800 + 1023 + 63, 0),
        p(0x800 + 1023 + 63, 1),
        1.5f64.to_bits(),
        (-2.75f64).to_bits(),
        1e300f64.to_bits(),
        1e-300f64.to_bits(),
    ];
    vals.sort();
    // addt, subt, mult, divt with /su, /sud, /sui, plain; cvtqt; cvttq/svc,
    // /sc, /c; cpys, cpysn, cpyse.
    let ops: &[(u32, u32)] = &[
        (0x16, 0x5a0),
        (0x16, 0x5a1),
        (0x16, 0x5a2),
        (0x16, 0x5a3),
        (0x16, 0x5e0),
        (0x16, 0x7a0),
        (0x16, 0x0a2),
        (0x16, 0x0be),
        (0x16, 0x7be),
        (0x16, 0x52f),
        (0x16, 0x42f),
        (0x16, 0x02f),
        (0x17, 0x020),
        (0x17, 0x021),
        (0x17, 0x022),
    ];
    for &(opc, func) in ops {
        // f3 = f1 op f2 ; halt
        let w = opc << 26 | 1 << 21 | 2 << 16 | func << 5 | 3;
        for &a in &vals {
            for &b in &vals {
                let mut out = Vec::new();
                for jit in [true, false] {
                    let mut vm = Vm::new();
                    vm.cpu.set_jit(jit);
                    vm.map(CODE, PAGE_SIZE, Prot::RWX);
                    vm.write_words(CODE, &[w, 0]);
                    vm.regs.pc = CODE;
                    vm.regs.f[1] = a;
                    vm.regs.f[2] = b;
                    // Dynamic rounding: nearest, traps as Linux sets them.
                    let t = vm.run(10);
                    out.push((t, vm.regs.f[3], vm.regs.fpcr, vm.regs.pc));
                }
                assert_eq!(out[0], out[1], "{opc:x}/{func:03x} a={a:#x} b={b:#x}");
            }
        }
    }
}

#[test]
fn running_out_of_code_space_starts_over_cleanly() {
    // 6000 blocks of 99 loads and a `br` to the next block (~2.4 MB of
    // guest code): their compiled code overflows the per-space buffer, so
    // it is reset (and the block cache emptied) mid-run, twice over.
    let blocks = 6000u64;
    let ldq = 0x29u32 << 26 | 2 << 21 | 16 << 16; // ldq t1,0(a0)
    let addq = operate(0x10, 0x20, 1, 0, 1, Some(1)); // addq t0,1,t0
    let br = 0x30u32 << 26 | 31 << 21; // br zero,.+4
    let mut words = Vec::new();
    for _ in 0..blocks {
        words.extend(std::iter::repeat_n(ldq, 98));
        words.push(addq);
        words.push(br);
    }
    words.push(0); // halt
    let mut vm = Vm::new();
    vm.map(CODE, words.len() as u64 * 4, Prot::RWX);
    vm.write_words(CODE, &words);
    for pass in 0..2 {
        vm.regs.pc = CODE;
        vm.regs.r[1] = 0;
        vm.regs.r[16] = DATA;
        let before = vm.cpu.retired();
        assert!(matches!(vm.run(1 << 30), Trap::Halt { .. }), "pass {pass}");
        assert_eq!(vm.regs.r[1], blocks);
        assert_eq!(vm.cpu.retired() - before, blocks * 100 + 1);
    }
}

#[test]
fn running_out_of_block_slots_starts_over_cleanly() {
    // 70 000 one-instruction blocks (`br` to the next) exceed the block
    // cache's 65 536 slots: it is emptied mid-run, compiled code with it.
    for jit in [true, false] {
        let n = 70_000u64;
        let mut words = vec![0x30u32 << 26 | 1 << 21; n as usize]; // br t0,.+4
        words.push(0);
        let mut vm = Vm::new();
        vm.cpu.set_jit(jit);
        vm.map(CODE, words.len() as u64 * 4, Prot::RWX);
        vm.write_words(CODE, &words);
        vm.regs.pc = CODE;
        assert!(matches!(vm.run(1 << 30), Trap::Halt { .. }));
        assert_eq!(vm.regs.r[1], CODE + 4 * n, "jit {jit}");
        assert_eq!(vm.cpu.retired(), n + 1);
        assert!(vm.cpu.stats().code_flushes >= 1);
    }
}
