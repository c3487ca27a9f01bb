//! [`AlphaCpu`]: one virtual Alpha CPU implementing [`spin_kernel::machine::Cpu`].

use std::sync::Arc;

use spin_kernel::machine::{Access, Cpu, GuestRam, Trap};
use spin_kernel::mem::PageTable;

use crate::block::CodeCache;
use crate::interp::{run_page, Ctx, Exit, Shared, State};
use crate::mmu::Mmu;
use crate::regs::AlphaRegs;

/// Instructions run between checks of the address space's generation and of
/// other CPUs' `imb`s (the longest a stale translation can be used).
const CHUNK: u64 = 4096;

/// Counters a CPU keeps about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Instructions retired since creation.
    pub retired: u64,
    /// Unaligned loads/stores fixed up transparently.
    pub unaligned_fixups: u64,
    /// Times the predecoded code cache was emptied (`imb`, overflow).
    pub code_flushes: u64,
    /// Predecoded pages currently cached.
    pub code_pages: usize,
}

/// One virtual Alpha CPU: interpreter, software TLB and code cache.
pub struct AlphaCpu {
    index: usize,
    st: Box<State>,
    mmu: Mmu,
    code: CodeCache,
    shared: Arc<Shared>,
    imb_seen: u64,
    retired: u64,
}

impl std::fmt::Debug for AlphaCpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlphaCpu")
            .field("index", &self.index)
            .field("retired", &self.retired)
            .finish()
    }
}

impl AlphaCpu {
    pub(crate) fn new(index: usize, ram: Arc<GuestRam>, shared: Arc<Shared>) -> AlphaCpu {
        shared.add_cpu(index);
        AlphaCpu {
            index,
            st: State::new(),
            mmu: Mmu::new(ram),
            code: CodeCache::default(),
            imb_seen: shared.imb_generation(),
            shared,
            retired: 0,
        }
    }

    /// This CPU's index in its machine.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Counters for telemetry and tests.
    pub fn stats(&self) -> CpuStats {
        CpuStats {
            retired: self.retired,
            unaligned_fixups: self.mmu.unaligned_fixups,
            code_flushes: self.code.flushes,
            code_pages: self.code.len(),
        }
    }

    fn flush_code(&mut self) {
        self.code.clear();
        self.code.take_flushed();
        self.mmu.flush_exec();
    }

    fn run_inner(&mut self, space: &dyn PageTable, budget: u64) -> Trap {
        let mut left = budget;
        let multi = self.shared.cpus() > 1;
        loop {
            if left == 0 {
                return Trap::BudgetExpired;
            }
            // The code cache is keyed by physical page: when mappings changed
            // (or another space runs), a frame may since hold other code, so
            // the predecoded slots go too (they re-decode lazily).
            let remapped = self.mmu.sync(space);
            let g = self.shared.imb_generation();
            if remapped && self.code.len() > 0 {
                self.flush_code();
            }
            if g != self.imb_seen {
                self.imb_seen = g;
                self.flush_code();
            }
            // Instruction addresses ignore their low two bits, as on hardware.
            let pc = self.st.pc & !3;
            let page = match self.mmu.exec_page(space, &mut self.code, pc) {
                Ok(p) => p,
                Err(f) => {
                    self.st.pc = pc;
                    return Trap::PageFault {
                        va: f.va,
                        access: Access::Execute,
                        pc,
                    };
                }
            };
            let Some(cp) = self.code.page(page) else {
                // Unreachable by construction (exec_page returns a live index);
                // recover by starting over with an empty cache.
                self.flush_code();
                continue;
            };
            let chunk = left.min(CHUNK);
            let mut lim = chunk;
            let mut cx = Ctx {
                st: &mut self.st,
                mmu: &mut self.mmu,
                code: &self.code,
                space,
                shared: &self.shared,
                me: self.index,
                multi,
                retired: self.retired,
            };
            let exit = run_page(&mut cx, cp, pc, &mut lim);
            let done = chunk - lim;
            left -= done;
            self.retired += done;
            match exit {
                Exit::Continue => {}
                Exit::Trap(t) => return t,
                Exit::Imb => {
                    self.imb_seen = self.shared.bump_imb();
                    self.flush_code();
                }
            }
        }
    }
}

impl Cpu for AlphaCpu {
    type Regs = AlphaRegs;

    fn run(&mut self, regs: &mut AlphaRegs, space: &dyn PageTable, budget: u64) -> Trap {
        self.st.load(regs);
        let trap = self.run_inner(space, budget);
        if trap != Trap::BudgetExpired && self.st.lock_valid {
            // Any exception clears the lock flag (as PALcode's return does).
            self.st.lock_valid = false;
            self.shared.release(self.index);
        }
        self.st.save(regs);
        trap
    }

    fn retired(&self) -> u64 {
        self.retired
    }
}
