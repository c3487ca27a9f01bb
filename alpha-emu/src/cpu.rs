//! [`AlphaCpu`]: one virtual Alpha CPU implementing [`spin_kernel::machine::Cpu`].

use std::sync::Arc;

use spin_kernel::machine::{Cpu, GuestRam, Trap};
use spin_kernel::mem::PageTable;

use crate::block::CodeCache;
use crate::interp::{run, Ctx, Exit, Shared, State};
use crate::mmu::Mmu;
use crate::regs::AlphaRegs;

/// Instructions run between checks of the address space's generation and of
/// other CPUs' `imb`s (about the longest a stale translation can be used;
/// checked at block boundaries).
const CHUNK: u64 = 4096;
/// The same for compiled code, whose exits cost more than a block dispatch.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
const JIT_CHUNK: u64 = 1 << 16;

/// Counters a CPU keeps about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Instructions retired since creation.
    pub retired: u64,
    /// Unaligned loads/stores fixed up transparently.
    pub unaligned_fixups: u64,
    /// Times the predecoded code cache was emptied (`imb`, remapping, overflow).
    pub code_flushes: u64,
    /// Physical pages holding predecoded code.
    pub code_pages: usize,
    /// Live predecoded blocks.
    pub code_blocks: usize,
    /// Blocks compiled to host code.
    pub compiled_blocks: u64,
    /// Times compiled code left for the dispatcher: to look a block up, to
    /// let the interpreter run one instruction, or at the end of the budget.
    pub jit_exits: u64,
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
    /// Whether to compile blocks to host code (where supported).
    jit_enabled: bool,
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    jit: Option<Box<crate::jit::Jit>>,
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
            jit_enabled: true,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            jit: None,
        }
    }

    /// Chooses whether this CPU compiles hot guest code to host machine
    /// code (on by default; available on x86-64 Linux hosts, elsewhere the
    /// interpreter always runs). Both give the same results instruction for
    /// instruction, budgets included; the interpreter is slower.
    pub fn set_jit(&mut self, enabled: bool) {
        self.jit_enabled = enabled;
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if !enabled {
            self.jit = None;
        }
    }

    /// Debug aid: blocks compiled, and exits of compiled code by kind
    /// (budget, lookup, interpreter).
    #[doc(hidden)]
    pub fn jit_counts(&self) -> (u64, [u64; 3]) {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(j) = &self.jit {
            return (j.compiled, j.exits);
        }
        (0, [0; 3])
    }

    /// Whether guest code is being compiled to host code.
    pub fn jit_active(&self) -> bool {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            self.jit.is_some()
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        {
            false
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
            code_pages: self.code.pages(),
            code_blocks: self.code.live_blocks(),
            compiled_blocks: self.jit_counts().0,
            jit_exits: self.jit_counts().1.iter().sum(),
        }
    }

    /// Forgets the decoded code of the guest *virtual* pages overlapping
    /// `[va, va + len)` (bytes) in the address space this CPU last ran.
    ///
    /// The kernel calls this (or [`AlphaCpu::invalidate_code_pa`]) after it
    /// writes guest code from the host side without changing a mapping —
    /// loading a program into pages that stay mapped, patching a breakpoint,
    /// resolving copy-on-write into the same frame. Guest stores, `imb`, and
    /// any change of mapping (a new generation or address space) need no
    /// call: the CPU sees those itself. Returns whether any block was dropped.
    pub fn invalidate_code_va(&mut self, va: u64, len: u64) -> bool {
        self.code.invalidate_va(va, len)
    }

    /// Forgets the decoded code of the guest *physical* pages overlapping
    /// `[pa, pa + len)` (bytes), whichever virtual addresses map them. See
    /// [`AlphaCpu::invalidate_code_va`]. Returns whether any block was dropped.
    pub fn invalidate_code_pa(&mut self, pa: u64, len: u64) -> bool {
        self.code.invalidate_pa(pa, len)
    }

    /// Empties the whole decoded-code cache (as `imb` does).
    pub fn flush_code(&mut self) {
        self.code.clear();
        self.mmu.clear_code_marks();
    }

    fn run_inner(&mut self, space: &dyn PageTable, budget: u64) -> Trap {
        let mut left = budget;
        let multi = self.shared.cpus() > 1;
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if self.jit_enabled && self.jit.is_none() {
            // No executable memory: stay with the interpreter.
            self.jit = crate::jit::Jit::new().map(Box::new);
            self.jit_enabled = self.jit.is_some();
        }
        loop {
            if left == 0 {
                return Trap::BudgetExpired;
            }
            // Blocks are keyed by virtual address: when mappings changed (or
            // another space runs), an address may since name other code, so
            // the blocks go too (they are rebuilt on demand).
            let remapped = self.mmu.sync(space);
            let g = self.shared.imb_generation();
            if remapped && !self.code.is_empty() {
                self.flush_code();
            }
            if g != self.imb_seen {
                self.imb_seen = g;
                self.flush_code();
            }
            let before = left;
            let mut cx = Ctx {
                st: &mut self.st,
                mmu: &mut self.mmu,
                code: &mut self.code,
                space,
                shared: &self.shared,
                me: self.index,
                multi,
                retired: self.retired,
            };
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            let exit = match self.jit.as_mut() {
                Some(jit) => jit.run(&mut cx, &mut left, JIT_CHUNK),
                None => {
                    cx.code.index.killed.clear();
                    run(&mut cx, &mut left, CHUNK)
                }
            };
            #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
            let exit = {
                cx.code.index.killed.clear();
                run(&mut cx, &mut left, CHUNK)
            };
            self.retired += before - left;
            match exit {
                Exit::Continue => {}
                Exit::Budget => return Trap::BudgetExpired,
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
