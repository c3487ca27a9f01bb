//! [`AlphaMachine`]: guest RAM plus CPUs that share LL/SC and `imb` state.

use std::sync::Arc;

use spin_kernel::machine::{Arch, GuestRam, Machine, MachineError};

use crate::cpu::AlphaCpu;
use crate::interp::shared::MAX_CPUS;
use crate::interp::Shared;

/// An Alpha machine: one guest RAM region and the multiprocessor state its CPUs share.
pub struct AlphaMachine {
    ram: Arc<GuestRam>,
    shared: Arc<Shared>,
    ns_per_insn: u64,
}

impl std::fmt::Debug for AlphaMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlphaMachine")
            .field("ns_per_insn", &self.ns_per_insn)
            .finish()
    }
}

impl AlphaMachine {
    /// A machine over `ram`, with the default nominal 1 ns per instruction.
    pub fn new(ram: Arc<GuestRam>) -> AlphaMachine {
        AlphaMachine {
            ram,
            shared: Arc::new(Shared::new()),
            ns_per_insn: 1,
        }
    }

    /// Sets the nominal machine time per instruction, in nanoseconds (≥ 1).
    pub fn with_ns_per_insn(mut self, ns: u64) -> AlphaMachine {
        self.ns_per_insn = ns.max(1);
        self
    }
}

impl Machine for AlphaMachine {
    type Cpu = AlphaCpu;

    fn arch(&self) -> Arch {
        Arch::Alpha
    }

    fn ram(&self) -> &Arc<GuestRam> {
        &self.ram
    }

    fn create_cpu(&self, index: usize) -> Result<AlphaCpu, MachineError> {
        if index >= MAX_CPUS {
            return Err(MachineError::Cpu {
                index,
                reason: format!("an Alpha machine has at most {MAX_CPUS} CPUs"),
            });
        }
        Ok(AlphaCpu::new(index, self.ram.clone(), self.shared.clone()))
    }

    fn ns_per_unit(&self) -> u64 {
        self.ns_per_insn
    }

    /// A trap through the kernel costs the host about what the emulator
    /// takes for this many instructions (a page fault through a pager
    /// extension: a few µs); charging it keeps fault-heavy mounds to their
    /// share. Deterministic, like the rest of the machine's time.
    fn trap_cost(&self) -> u64 {
        TRAP_COST_INSNS
    }
}

/// Instructions a trap handled by the kernel is charged (see
/// [`Machine::trap_cost`]).
pub const TRAP_COST_INSNS: u64 = 3000;
