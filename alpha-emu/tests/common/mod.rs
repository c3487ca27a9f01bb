//! Test harness: a one-machine VM with an address space the tests map pages into.
#![allow(dead_code)]

pub mod guest;

use std::sync::Arc;

use alpha_emu::{AlphaCpu, AlphaMachine, AlphaRegs, PAGE_SIZE};
use spin_kernel::machine::{new_guest_ram, Cpu, GuestRam, Machine, Trap};
use spin_kernel::mem::{AddressSpace, PhysAddr, Prot, Translation};
use spin_kernel::{Cap, MoundId};

/// Where test code is loaded.
pub const CODE: u64 = 0x1_2000_0000;
/// A data area mapped read-write.
pub const DATA: u64 = 0x2_0000_0000;

pub struct Vm {
    pub machine: AlphaMachine,
    pub tr: Translation,
    pub space: Cap<AddressSpace>,
    pub cpu: AlphaCpu,
    pub regs: AlphaRegs,
    next_frame: u64,
}

impl Vm {
    pub fn new() -> Vm {
        let ram: Arc<GuestRam> = new_guest_ram(64 << 20).unwrap();
        let machine = AlphaMachine::new(ram.clone());
        let tr = Translation::new(ram, 13);
        let space = tr.create(MoundId(1));
        let cpu = machine.create_cpu(0).unwrap();
        let mut vm = Vm {
            machine,
            tr,
            space,
            cpu,
            regs: AlphaRegs::default(),
            next_frame: PAGE_SIZE,
        };
        vm.map(DATA, 4 * PAGE_SIZE, Prot::RW);
        vm
    }

    /// Maps fresh frames over `[va, va+len)`.
    pub fn map(&mut self, va: u64, len: u64, prot: Prot) {
        let mut p = va & !(PAGE_SIZE - 1);
        while p < va + len {
            if self.space.examine(p).is_none() {
                self.space.map(p, PhysAddr(self.next_frame), prot).unwrap();
                self.next_frame += PAGE_SIZE;
            } else {
                self.space.protect(p, prot).unwrap();
            }
            p += PAGE_SIZE;
        }
    }

    /// Assembles `src` at `va` (mapping it RWX) and points the PC there.
    pub fn load(&mut self, va: u64, src: &str) -> Vec<u32> {
        let words = alpha_emu::asm::assemble(src, va).unwrap();
        self.map(va, words.len() as u64 * 4, Prot::RWX);
        self.write_words(va, &words);
        self.regs.pc = va;
        words
    }

    pub fn write_words(&self, va: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.space.write(va, &bytes).unwrap();
    }

    pub fn run(&mut self, budget: u64) -> Trap {
        let space: &AddressSpace = &self.space;
        self.cpu.run(&mut self.regs, space, budget)
    }

    /// Runs to `halt`, panicking on any other trap.
    pub fn run_to_halt(&mut self) -> &AlphaRegs {
        match self.run(10_000_000) {
            Trap::Halt { .. } => &self.regs,
            t => panic!(
                "unexpected trap {t:?} at pc {:#x}\n{:?}",
                self.regs.pc, self.regs
            ),
        }
    }

    pub fn read_u64(&self, va: u64) -> u64 {
        let mut b = [0u8; 8];
        self.space.read(va, &mut b).unwrap();
        u64::from_le_bytes(b)
    }

    pub fn write_u64(&self, va: u64, v: u64) {
        self.space.write(va, &v.to_le_bytes()).unwrap();
    }
}

/// Runs `src` (ending in `halt`) with `init` registers set; returns the final registers.
pub fn exec(src: &str, init: &[(usize, u64)]) -> AlphaRegs {
    let mut vm = Vm::new();
    vm.load(CODE, src);
    for &(r, v) in init {
        vm.regs.r[r] = v;
    }
    vm.run_to_halt().clone()
}
