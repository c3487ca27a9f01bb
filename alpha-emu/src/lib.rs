//! DEC Alpha AXP user-mode CPU emulator for the SPIN host.
//!
//! - [`decode`]: instruction words → predecoded [`decode::Op`]s; [`disasm`]
//!   prints objdump's syntax; [`asm`] assembles it back (for tests).
//! - [`AlphaCpu`] implements [`spin_kernel::machine::Cpu`]: guest code is
//!   predecoded into straight-line blocks (`block`), run by an interpreter
//!   (`interp`) and, on x86-64 Linux hosts, compiled to chained host code
//!   (`jit`) that leaves every rare or slow case to the interpreter; a
//!   software TLB filled from the kernel's [`spin_kernel::mem::PageTable`],
//!   PAL calls and faults as [`spin_kernel::machine::Trap`]s, deterministic
//!   instruction budgets (checked per block, exact to the instruction).
//! - [`AlphaMachine`] implements [`spin_kernel::machine::Machine`].
//! - `fp`: IEEE S/T floating point and the FPCR.
//!
//! Unsafe code lives only in `mmu` (host pointers into guest RAM) and `jit`
//! (entering the x86-64 code it generates), each block with its `SAFETY` case.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod asm;
mod block;
mod cpu;
pub mod decode;
pub mod disasm;
pub mod fp;
pub mod interp;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod jit;
mod machine;
mod mmu;
pub mod regs;
mod spaces;

pub use cpu::{AlphaCpu, CpuStats};
pub use machine::AlphaMachine;
pub use mmu::{PAGE_SHIFT, PAGE_SIZE};
pub use regs::AlphaRegs;
