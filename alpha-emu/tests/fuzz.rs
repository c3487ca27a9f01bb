//! Random instruction words never panic the emulator: each executes or traps.

mod common;

use alpha_emu::PAGE_SIZE;
use common::{Vm, CODE, DATA};
use proptest::prelude::*;
use spin_kernel::machine::Trap;
use spin_kernel::mem::Prot;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_words_execute_or_trap(words in proptest::collection::vec(any::<u32>(), 1..64),
                                    regs in proptest::collection::vec(any::<u64>(), 32),
                                    budget in 1u64..500) {
        let mut vm = Vm::new();
        vm.map(CODE, PAGE_SIZE, Prot::RWX);
        vm.write_words(CODE, &words);
        for (i, v) in regs.iter().enumerate() {
            // Half the registers point into mapped data so memory ops do something.
            vm.regs.r[i] = if i % 2 == 0 { DATA + (v & 0x7fff) } else { *v };
            vm.regs.f[i] = *v;
        }
        vm.regs.pc = CODE;
        for _ in 0..8 {
            match vm.run(budget) {
                Trap::Syscall | Trap::PalCall { .. } | Trap::Breakpoint { .. } | Trap::BudgetExpired => {}
                Trap::Halt { .. } => break,
                _ => {
                    // Skip the faulting instruction and keep going.
                    vm.regs.pc = vm.regs.pc.wrapping_add(4);
                }
            }
        }
    }
}

#[test]
fn decode_and_disasm_total() {
    let mut x: u32 = 0x1234_5678;
    for _ in 0..500_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let _ = alpha_emu::decode::decode(x);
        let _ = alpha_emu::disasm::disasm(x, 0x1_2000_0000);
    }
    for op in 0..64u32 {
        let _ = alpha_emu::disasm::disasm(op << 26, 0);
    }
}
