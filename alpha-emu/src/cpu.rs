//! [`AlphaCpu`]: one virtual Alpha CPU implementing [`spin_kernel::machine::Cpu`].

use std::sync::Arc;

use spin_kernel::machine::{Cpu, FastTraps, GuestRam, SyscallFrame, SyscallResult, Trap};
use spin_kernel::mem::PageTable;

use crate::interp::{run, Ctx, Exit, Shared, State};
use crate::mmu::Mmu;
use crate::regs::AlphaRegs;
use crate::spaces::Spaces;

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
    /// Times a predecoded code cache was emptied (`imb`, overflow, making
    /// room for another address space).
    pub code_flushes: u64,
    /// Physical pages holding predecoded code (all kept address spaces).
    pub code_pages: usize,
    /// Live predecoded blocks (all kept address spaces).
    pub code_blocks: usize,
    /// Address spaces whose code this CPU keeps.
    pub code_spaces: usize,
    /// Blocks compiled to host code.
    pub compiled_blocks: u64,
    /// Times compiled code left for the dispatcher: to look a block up, to
    /// let the interpreter run one instruction, or at the end of the budget.
    pub jit_exits: u64,
}

/// One virtual Alpha CPU: interpreter, block compiler, software TLB and
/// the code it keeps per address space.
pub struct AlphaCpu {
    index: usize,
    st: Box<State>,
    mmu: Mmu,
    spaces: Spaces,
    shared: Arc<Shared>,
    imb_seen: u64,
    retired: u64,
    /// Whether to compile blocks to host code (where supported).
    jit_enabled: bool,
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
            spaces: Spaces::default(),
            imb_seen: shared.imb_generation(),
            shared,
            retired: 0,
            jit_enabled: cfg!(all(target_arch = "x86_64", target_os = "linux")),
        }
    }

    /// Chooses whether this CPU compiles hot guest code to host machine
    /// code (on by default; available on x86-64 Linux hosts, elsewhere the
    /// interpreter always runs). Both give the same results instruction for
    /// instruction, budgets included; the interpreter is slower.
    pub fn set_jit(&mut self, enabled: bool) {
        self.jit_enabled = enabled && cfg!(all(target_arch = "x86_64", target_os = "linux"));
        if !self.jit_enabled {
            for s in self.spaces.all_mut() {
                s.jit = None;
            }
        }
    }

    /// Debug aid: blocks compiled, and exits of compiled code by kind
    /// (budget, lookup, interpreter), over all kept address spaces.
    #[doc(hidden)]
    pub fn jit_counts(&self) -> (u64, [u64; 3]) {
        let (mut compiled, mut exits) = (0, [0; 3]);
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        for j in self.spaces.all().filter_map(|s| s.jit.as_ref()) {
            compiled += j.compiled;
            for (e, x) in exits.iter_mut().zip(j.exits) {
                *e += x;
            }
        }
        (compiled, exits)
    }

    /// Whether guest code is being compiled to host code.
    pub fn jit_active(&self) -> bool {
        self.jit_enabled && self.spaces.all().any(|s| s.jit.is_some())
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
            code_flushes: self.spaces.all().map(|s| s.code.flushes).sum::<u64>(),
            code_pages: self.spaces.all().map(|s| s.code.pages()).sum(),
            code_blocks: self.spaces.all().map(|s| s.code.live_blocks()).sum(),
            code_spaces: self.spaces.all().count(),
            compiled_blocks: self.jit_counts().0,
            jit_exits: self.jit_counts().1.iter().sum(),
        }
    }

    /// Forgets the decoded (and compiled) code for the guest *virtual*
    /// range `[va, va + len)` (bytes) of address space `space`.
    ///
    /// The kernel calls this (or [`AlphaCpu::invalidate_code_pa`]) after it
    /// writes guest code from the host side without changing a mapping —
    /// loading a program into pages that stay mapped, patching a breakpoint,
    /// copying into a frame in place. Guest stores, `imb`, and changes of
    /// mapping (a new generation: unmapped, remapped or reprotected pages,
    /// frames reused at the same address) need no call: the CPU sees those
    /// itself. Returns whether any block was dropped.
    pub fn invalidate_code_va(&mut self, space: &dyn PageTable, va: u64, len: u64) -> bool {
        match self.spaces.find(space.asid()) {
            Some(s) => s.code.invalidate_va(va, len),
            None => false,
        }
    }

    /// Forgets the decoded (and compiled) code in the guest *physical* range
    /// `[pa, pa + len)` (bytes), in every address space and at whatever
    /// virtual addresses map it. See [`AlphaCpu::invalidate_code_va`].
    /// Returns whether any block was dropped.
    pub fn invalidate_code_pa(&mut self, pa: u64, len: u64) -> bool {
        let mut killed = false;
        for s in self.spaces.all_mut() {
            killed |= s.code.invalidate_pa(pa, len);
        }
        killed
    }

    /// Empties every decoded-code cache (as another CPU's `imb` does).
    pub fn flush_code(&mut self) {
        for s in self.spaces.all_mut() {
            s.code.clear();
        }
        self.mmu.clear_code_marks();
    }

    /// Drops an `ldx_l` reservation: every exception does (as PALcode's
    /// return does), whether the kernel answers it here or outside.
    fn end_exception(&mut self) {
        if self.st.lock_valid {
            self.st.lock_valid = false;
            self.shared.release(self.index);
        }
    }

    fn run_inner(
        &mut self,
        space: &dyn PageTable,
        budget: u64,
        mut fast: Option<&mut dyn FastTraps>,
    ) -> Trap {
        let mut left = budget;
        let start = self.retired;
        let multi = self.shared.cpus() > 1;
        loop {
            if left == 0 {
                return Trap::BudgetExpired;
            }
            self.mmu.sync(space);
            self.spaces.select(space, &mut self.mmu);
            let g = self.shared.imb_generation();
            if g != self.imb_seen {
                // Another CPU's imb: it may have written any space's code.
                self.imb_seen = g;
                self.flush_code();
            }
            let jit_enabled = self.jit_enabled;
            let active = self.spaces.active();
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            if jit_enabled && active.jit.is_none() {
                active.jit = crate::jit::Jit::new().map(Box::new);
                if active.jit.is_none() {
                    // No executable memory here: the interpreter runs everything.
                    self.jit_enabled = false;
                }
            }
            #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
            let _ = jit_enabled;
            let before = left;
            let mut cx = Ctx {
                st: &mut self.st,
                mmu: &mut self.mmu,
                code: &mut active.code,
                space,
                shared: &self.shared,
                me: self.index,
                multi,
                retired: self.retired,
            };
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            let exit = match active.jit.as_mut() {
                Some(jit) => {
                    let ran = self.retired - start;
                    jit.run(&mut cx, &mut left, JIT_CHUNK, fast.as_deref_mut(), ran)
                }
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
                Exit::Trap(t) => {
                    let Some(f) = fast.as_deref_mut() else {
                        return t;
                    };
                    let ran = budget - left;
                    let answered = match t {
                        Trap::Syscall => f.syscall(&mut LiveFrame(&mut self.st), ran),
                        Trap::PageFault { va, access, .. } => f.page_fault(va, access, ran),
                        _ => false,
                    };
                    if !answered {
                        return t;
                    }
                    // Answered in place: on with the guest (the loop's
                    // top checks the budget and the space's generation).
                    self.end_exception();
                }
                Exit::Imb => {
                    // This process changed its own code: its blocks go.
                    self.imb_seen = self.shared.bump_imb();
                    self.spaces.active().code.clear();
                    self.mmu.clear_code_marks();
                }
            }
        }
    }
}

impl Cpu for AlphaCpu {
    type Regs = AlphaRegs;

    fn run(&mut self, regs: &mut AlphaRegs, space: &dyn PageTable, budget: u64) -> Trap {
        self.st.load(regs);
        let trap = self.run_inner(space, budget, None);
        if trap != Trap::BudgetExpired {
            self.end_exception();
        }
        self.st.save(regs);
        trap
    }

    fn run_fast(
        &mut self,
        regs: &mut AlphaRegs,
        space: &dyn PageTable,
        budget: u64,
        fast: &mut dyn FastTraps,
    ) -> Trap {
        self.st.load(regs);
        let trap = self.run_inner(space, budget, Some(fast));
        if trap != Trap::BudgetExpired {
            self.end_exception();
        }
        self.st.save(regs);
        trap
    }

    fn retired(&self) -> u64 {
        self.retired
    }
}

/// The interpreter's live registers as a fast-trap handler sees them (the
/// Linux/Alpha system-call convention of [`AlphaRegs`]).
pub(crate) struct LiveFrame<'a>(pub(crate) &'a mut State);

impl SyscallFrame for LiveFrame<'_> {
    fn number(&self) -> u64 {
        self.0.r[0]
    }
    fn arg(&self, i: usize) -> u64 {
        if i < 6 {
            self.0.r[16 + i]
        } else {
            0
        }
    }
    fn set_result(&mut self, result: SyscallResult) {
        // v0 = value, a3 = 0; or v0 = errno, a3 = 1.
        let (v, err) = match result {
            Ok(v) => (v, 0),
            Err(e) => (e, 1),
        };
        self.0.r[0] = v;
        self.0.r[19] = err;
    }
    fn set_gpr(&mut self, n: usize, value: u64) {
        if n < 31 {
            self.0.r[n] = value;
        }
    }
}
