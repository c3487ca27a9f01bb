//! The machine interface: what the kernel needs from a CPU, whichever backend
//! provides it (the bundled Alpha emulator, or KVM on x86-64).
//!
//! `Cpu::run(regs, space, budget) -> Trap` runs guest code until it traps. The
//! kernel turns each [`Trap`] into an event. Guest physical memory is one
//! `vm-memory` region per machine ([`GuestRam`]); guest virtual memory is reached
//! through a [`PageTable`] that the kernel's Translation service implements.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::mem::{PageTable, PhysAddr};

/// Guest physical memory of one machine: a single `vm-memory` mmap region.
pub type GuestRam = vm_memory::GuestMemoryMmap<()>;

/// Creates guest RAM of `bytes` bytes starting at guest physical address 0.
pub fn new_guest_ram(bytes: u64) -> Result<Arc<GuestRam>, MachineError> {
    let size = usize::try_from(bytes).map_err(|_| MachineError::RamTooLarge(bytes))?;
    GuestRam::from_ranges(&[(vm_memory::GuestAddress(0), size)])
        .map(Arc::new)
        .map_err(|e| MachineError::Ram(e.to_string()))
}

/// Instruction-set architecture of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// DEC Alpha AXP, 64-bit little endian, 8 KiB pages.
    Alpha,
    /// x86-64 under KVM, 4 KiB pages.
    X86_64,
}

impl Arch {
    /// The page size of this architecture, in bytes.
    pub const fn page_size(self) -> u64 {
        match self {
            Arch::Alpha => 8192,
            Arch::X86_64 => 4096,
        }
    }

    /// log2 of [`Arch::page_size`].
    pub const fn page_shift(self) -> u32 {
        match self {
            Arch::Alpha => 13,
            Arch::X86_64 => 12,
        }
    }
}

/// The kind of memory access that faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// A data load.
    Read,
    /// A data store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// Why a CPU stopped running guest code.
///
/// Resume convention: after `Syscall`, `PalCall` and `Breakpoint` the register
/// file's PC already points past the trapping instruction (as Alpha PALcode saves
/// it); after `PageFault`, `Unaligned`, `IllegalInstruction` and `Arithmetic` the
/// PC still points *at* the instruction named by `pc`, so resolving the fault and
/// resuming retries it. `BudgetExpired` stops between two instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Trap {
    /// The guest asked for a system call (Alpha `call_pal callsys`, x86 `syscall`).
    /// Number and arguments are in the register file ([`RegisterFile::syscall_number`]).
    Syscall,
    /// A missing or under-privileged mapping for `va`.
    PageFault {
        /// Faulting virtual address.
        va: u64,
        /// What the instruction tried to do.
        access: Access,
        /// PC of the faulting instruction.
        pc: u64,
    },
    /// An unaligned access the machine could not fix up (e.g. `ldq_l`).
    Unaligned {
        /// The unaligned virtual address.
        va: u64,
        /// PC of the instruction.
        pc: u64,
    },
    /// An undefined or unimplemented instruction word.
    IllegalInstruction {
        /// PC of the instruction.
        pc: u64,
        /// The instruction bits (Alpha: one 32-bit word; x86: the first bytes).
        insn: u64,
    },
    /// A breakpoint instruction (Alpha `call_pal bpt`, x86 `int3`).
    Breakpoint {
        /// PC of the breakpoint instruction.
        pc: u64,
    },
    /// An arithmetic trap: integer overflow (`/V`), IEEE exceptions with traps
    /// enabled, divide error. `summary` is the architecture's exception summary
    /// (Alpha: the EXC_SUM bits; x86: the vector).
    Arithmetic {
        /// PC of the trapping instruction.
        pc: u64,
        /// Architecture-defined exception summary.
        summary: u64,
    },
    /// Any other PAL call (`gentrap`, `bugchk`, ...) or hypercall.
    PalCall {
        /// PC of the call instruction.
        pc: u64,
        /// The PAL function code (Alpha: e.g. 0xaa for `gentrap`).
        code: u32,
    },
    /// The instruction budget (or time slice) given to [`Cpu::run`] ran out.
    BudgetExpired,
    /// The guest executed a halt.
    Halt {
        /// PC of the halt instruction.
        pc: u64,
    },
}

/// Result of a system call, as the guest ABI will see it.
pub type SyscallResult = Result<u64, u64>;

/// Architecture-neutral access to a saved register file.
///
/// A strand's thread package saves one of these on `Checkpoint` and restores it
/// on `Resume`; the UNIX personality reads system-call arguments through it.
pub trait RegisterFile: Clone + Default + Send + std::fmt::Debug + 'static {
    /// The architecture this register file belongs to.
    const ARCH: Arch;
    /// Program counter.
    fn pc(&self) -> u64;
    /// Sets the program counter.
    fn set_pc(&mut self, pc: u64);
    /// Stack pointer.
    fn sp(&self) -> u64;
    /// Sets the stack pointer.
    fn set_sp(&mut self, sp: u64);
    /// General-purpose register `n` (architecture numbering).
    fn gpr(&self, n: usize) -> u64;
    /// Sets general-purpose register `n` (writes to a hardwired zero register are ignored).
    fn set_gpr(&mut self, n: usize, value: u64);
    /// The thread pointer (Alpha `unique`, x86 FS base).
    fn thread_pointer(&self) -> u64;
    /// Sets the thread pointer.
    fn set_thread_pointer(&mut self, tp: u64);
    /// System call number.
    fn syscall_number(&self) -> u64;
    /// System call argument `i` (0-based, at most 6).
    fn syscall_arg(&self, i: usize) -> u64;
    /// Stores a system call's result: `Ok(value)` or `Err(errno)` (the
    /// architecture's own errno number).
    fn set_syscall_result(&mut self, result: SyscallResult);
    /// Floating-point register `n` as its raw 64-bit image (signal frames
    /// save and restore them).
    fn fpr(&self, _n: usize) -> u64 {
        0
    }
    /// Sets floating-point register `n`.
    fn set_fpr(&mut self, _n: usize, _value: u64) {}
    /// The architectural FP control register (Alpha: the `mf_fpcr` value).
    fn fp_control(&self) -> u64 {
        0
    }
    /// Writes the architectural FP control register (Alpha: `mt_fpcr`).
    fn set_fp_control(&mut self, _value: u64) {}
    /// The operating system's software FP control word (Alpha: the SWCR that
    /// `osf_getsysinfo(GSI_IEEE_FP_CONTROL)` reports).
    fn sw_fp_control(&self) -> u64 {
        0
    }
    /// Sets the software FP control word and the hardware bits that follow
    /// from it (Alpha: `osf_setsysinfo(SSI_IEEE_FP_CONTROL)`).
    fn set_sw_fp_control(&mut self, _value: u64) {}
    /// The flags register (x86-64: RFLAGS, which signal frames save and
    /// `rt_sigreturn` restores; Alpha: none, 0).
    fn flags_register(&self) -> u64 {
        0
    }
    /// Sets the flags register (the machine sanitizes it for user mode).
    fn set_flags_register(&mut self, _value: u64) {}
    /// The whole FP/vector state as the architecture's signal frame stores it
    /// (x86-64: the 512-byte FXSAVE image). Empty when the register file has
    /// nothing beyond [`RegisterFile::fpr`] and [`RegisterFile::fp_control`].
    fn fp_state(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Loads an image as [`RegisterFile::fp_state`] returns it (the caller
    /// has validated it: x86-64 MXCSR reserved bits clear).
    fn set_fp_state(&mut self, _image: &[u8]) {}
}

/// The live registers of a CPU stopped at a system call, as a fast-trap
/// handler ([`FastTraps`]) sees them: the call's number and arguments, and
/// where its results go. A CPU may hand out a view of its internal state
/// rather than a saved [`RegisterFile`], so answering costs no copy.
pub trait SyscallFrame {
    /// System call number.
    fn number(&self) -> u64;
    /// Argument `i` (0-based, at most 6).
    fn arg(&self, i: usize) -> u64;
    /// Stores the call's result as the ABI returns it (see
    /// [`RegisterFile::set_syscall_result`]).
    fn set_result(&mut self, result: SyscallResult);
    /// Sets general-purpose register `n` (a second result: Alpha's `getxpid`
    /// returns the parent's pid in a4).
    fn set_gpr(&mut self, n: usize, value: u64);
}

/// Any [`RegisterFile`] is a [`SyscallFrame`].
impl<R: RegisterFile> SyscallFrame for R {
    fn number(&self) -> u64 {
        self.syscall_number()
    }
    fn arg(&self, i: usize) -> u64 {
        self.syscall_arg(i)
    }
    fn set_result(&mut self, result: SyscallResult) {
        self.set_syscall_result(result)
    }
    fn set_gpr(&mut self, n: usize, value: u64) {
        RegisterFile::set_gpr(self, n, value)
    }
}

/// Traps answered without the CPU leaving its run loop: no register-file
/// copy, no scheduler, no mound lock. The scheduling loop builds one per
/// stretch of a strand on a CPU (from its mound's per-strand fast path); a
/// handler that declines (returns `false`) lets the trap leave
/// [`Cpu::run_fast`] as usual, so the slow path sees exactly what it would
/// have seen without the fast one.
pub trait FastTraps {
    /// A system call. `ran` is what this `run_fast` call retired so far (in
    /// the machine's unit). `true`: answered, the guest continues after the
    /// call.
    fn syscall(&mut self, frame: &mut dyn SyscallFrame, ran: u64) -> bool;
    /// A page fault at `va`. `true`: resolved, the access is retried.
    fn page_fault(&mut self, _va: u64, _access: Access, _ran: u64) -> bool {
        false
    }
}

/// One virtual CPU.
pub trait Cpu: Send {
    /// The register file this CPU runs.
    type Regs: RegisterFile;

    /// Runs guest code from `regs` in address space `space` until it traps or
    /// `budget` runs out. The budget is in the machine's unit of preemption
    /// (Alpha: instructions retired — deterministic; KVM: nanoseconds).
    fn run(&mut self, regs: &mut Self::Regs, space: &dyn PageTable, budget: u64) -> Trap;

    /// [`Cpu::run`], but system calls and page faults are first offered to
    /// `fast`; those it answers never leave this call. The budget covers the
    /// whole call. The default runs the CPU again after each answered trap;
    /// a backend may answer them inside its inner loop instead.
    fn run_fast(
        &mut self,
        regs: &mut Self::Regs,
        space: &dyn PageTable,
        budget: u64,
        fast: &mut dyn FastTraps,
    ) -> Trap {
        let start = self.retired();
        loop {
            let ran = self.retired() - start;
            let trap = self.run(regs, space, budget.saturating_sub(ran));
            let ran = self.retired() - start;
            let answered = match trap {
                Trap::Syscall => fast.syscall(regs, ran),
                Trap::PageFault { va, access, .. } => fast.page_fault(va, access, ran),
                _ => false,
            };
            if !answered {
                return trap;
            }
            if ran >= budget {
                return Trap::BudgetExpired;
            }
        }
    }

    /// Instructions (or, for KVM, nanoseconds) retired by this CPU since creation.
    fn retired(&self) -> u64;
}

/// A machine: guest RAM plus a way to make CPUs for it.
pub trait Machine: Send + Sync {
    /// The CPU type.
    type Cpu: Cpu;

    /// Architecture of the machine.
    fn arch(&self) -> Arch;
    /// Page size in bytes (8 KiB on Alpha, 4 KiB on x86-64).
    fn page_size(&self) -> u64 {
        self.arch().page_size()
    }
    /// Guest physical memory.
    fn ram(&self) -> &Arc<GuestRam>;
    /// Creates virtual CPU number `index`.
    fn create_cpu(&self, index: usize) -> Result<Self::Cpu, MachineError>;
    /// Nanoseconds of machine time per unit of [`Cpu::retired`] (Alpha: the
    /// nominal time per instruction; KVM: 1).
    fn ns_per_unit(&self) -> u64 {
        1
    }
    /// Units of [`Cpu::retired`] a trap the mound handles is charged to the
    /// strand that took it: the kernel path's cost in machine time. A
    /// machine whose units are instructions (Alpha) would otherwise charge
    /// a fault-heavy strand nothing for the host time its faults take, and
    /// the scheduler would give it far more than its share of the host.
    /// Default 0 (KVM: its units are real time).
    fn trap_cost(&self) -> u64 {
        0
    }
}

/// Reasons a machine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// The requested RAM does not fit the host's address space.
    #[error("guest RAM of {0} bytes is too large for this host")]
    RamTooLarge(u64),
    /// vm-memory refused to create the RAM region.
    #[error("cannot create guest RAM: {0}")]
    Ram(String),
    /// The backend is not available on this host (e.g. no `/dev/kvm`).
    #[error("machine backend unavailable: {0}")]
    Unavailable(String),
    /// A CPU could not be created.
    #[error("cannot create CPU {index}: {reason}")]
    Cpu {
        /// CPU index.
        index: usize,
        /// What went wrong.
        reason: String,
    },
}

/// Resolves a guest physical address to a host pointer inside `ram`, for
/// `len` bytes. Returns `None` when the range is not wholly inside RAM.
///
/// Emulators cache the result per page in their software TLB; the pointer
/// stays valid as long as the `Arc<GuestRam>` is alive (the mmap region is never
/// remapped).
pub fn host_ptr(ram: &GuestRam, pa: PhysAddr, len: usize) -> Option<*mut u8> {
    use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryRegion};
    let region = ram.find_region(GuestAddress(pa.0))?;
    let offset = pa.0.checked_sub(region.start_addr().0)?;
    let end = offset.checked_add(len as u64)?;
    if end > region.len() {
        return None;
    }
    ram.get_host_address(GuestAddress(pa.0)).ok()
}
