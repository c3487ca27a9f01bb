//! The KVM machine: x86-64 guest code in ring 3 of a KVM virtual machine,
//! above a tiny ring-0 shim the project assembles itself (iced-x86), every
//! system call, fault and exception reflected to the SPIN kernel as a
//! [`spin_kernel::Trap`].
//!
//! - Guest physical memory is the kernel's own [`GuestRam`] (memslot 0, so
//!   the frames PhysAddr hands out are the VM's memory) plus a private
//!   region for the shim, descriptor tables, per-vCPU stacks and page tables
//!   (memslot 1), mapped supervisor-only at [`layout::KBASE`]. The host
//!   pages behind both are made real lazily, before the guest can reach
//!   them (`backing`).
//! - Each vCPU enters long mode directly (`KVM_SET_CPUID2`, then special
//!   registers); one vCPU per host thread, several per machine.
//! - `syscall` → shim → one PIO exit → [`Trap::Syscall`] → back with
//!   `iretq` after a full restore, or `sysretq` when the call came through
//!   the native entry (on PVM, whose `syscall` stays in ring 3, it arrives as
//!   a #PF at the entry and is recognised there — reference/kvm.md quirk 1).
//! - Page tables are mirrored from the kernel's translations ([`paging`]).
//! - Preemption: a per-vCPU timer kicks the thread (signal +
//!   `immediate_exit`); the host then injects the kick interrupt, which
//!   enters the shim like any trap, and `run` returns
//!   [`Trap::BudgetExpired`]. The budget and [`Cpu::retired`] are host
//!   nanoseconds of `run` ([`Machine::ns_per_unit`] = 1).
//!
//! [`Trap::Syscall`]: spin_kernel::Trap::Syscall
//! [`Trap::BudgetExpired`]: spin_kernel::Trap::BudgetExpired
//! [`Cpu::retired`]: spin_kernel::Cpu::retired
//! [`Machine::ns_per_unit`]: spin_kernel::Machine::ns_per_unit
//! [`GuestRam`]: spin_kernel::machine::GuestRam

#![deny(clippy::undocumented_unsafe_blocks)]

use serde::{Deserialize, Serialize};

#[cfg(target_arch = "x86_64")]
mod backing;
#[cfg(target_arch = "x86_64")]
pub mod bench;
mod kick;
#[cfg(target_arch = "x86_64")]
pub mod layout;
#[cfg(target_arch = "x86_64")]
mod machine;
#[cfg(target_arch = "x86_64")]
pub mod paging;
#[cfg(target_arch = "x86_64")]
pub mod regs;
#[cfg(target_arch = "x86_64")]
pub mod shim;
#[cfg(target_arch = "x86_64")]
mod tables;
#[cfg(target_arch = "x86_64")]
mod vcpu;

#[cfg(target_arch = "x86_64")]
pub use machine::{KvmConfig, KvmMachine};
#[cfg(target_arch = "x86_64")]
pub use regs::{FxArea, X86Regs};
#[cfg(target_arch = "x86_64")]
pub use vcpu::{KvmCpu, X86_EXCEPTION};

/// Whether this host can run the KVM machine: `/dev/kvm` opens, the API
/// version is 12 and the capabilities the machine relies on are present.
/// The error is a sentence for the operator (`--machine kvm` prints it;
/// tests print `SKIP: /dev/kvm …` with it).
pub fn available() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    {
        machine::probe()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Err("/dev/kvm: the KVM machine runs x86-64 guests and needs an x86-64 host".into())
    }
}

/// One vCPU's exit statistics, as kvm_stat shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VcpuTelemetry {
    /// vCPU index.
    pub index: usize,
    /// `KVM_RUN` returns of any kind.
    pub exits: u64,
    /// Exits per reason, in a fixed order (`syscall`, `page-fault`,
    /// `demand-fill`, `exception`, `kick`, `queue`, `intr`, `irq-window`,
    /// `other`).
    pub reasons: Vec<(String, u64)>,
    /// Nanoseconds spent inside `run`.
    pub run_ns: u64,
    /// PTE stores the shim performed for the host.
    pub pte_ops: u64,
}

/// Exit reasons counted per vCPU, in [`VcpuTelemetry::reasons`] order.
pub const EXIT_REASONS: [&str; 9] = [
    "syscall",
    "page-fault",
    "demand-fill",
    "exception",
    "kick",
    "queue",
    "intr",
    "irq-window",
    "other",
];
