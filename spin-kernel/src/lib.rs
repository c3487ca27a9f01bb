//! # spin-kernel — SPIN's core services
//!
//! The trusted core of the SPIN host: capabilities and externalized
//! references ([`cap`]), logical protection domains and the nameserver
//! ([`domain`]), the event dispatcher ([`event`]), memory services
//! ([`mem`]: `PhysAddr`, `VirtAddr`, `Translation`), strands and the global
//! scheduler hook ([`strand`], [`sched`]), the machine interface ([`machine`]) and
//! telemetry snapshots ([`telemetry`]).
//!
//! The kernel never names a mound and never names a machine backend: mounds
//! reach it through capabilities and events, machines plug in through
//! [`machine::Cpu`] and [`mem::PageTable`].

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![forbid(unsafe_code)]

pub mod cap;
pub mod domain;
pub mod event;
pub mod hash;
pub mod kernel;
pub mod machine;
pub mod mem;
pub mod mound;
pub mod rng;
pub mod sched;
pub mod strand;
pub mod telemetry;

pub use cap::{Authority, Cap};
pub use kernel::{Kernel, KernelConfig, KernelId};
pub use machine::{
    Access, Arch, Cpu, FastTraps, GuestRam, Machine, RegisterFile, SyscallFrame, Trap,
};
pub use mem::{PageTable, PhysAddr, Prot, Pte, VirtAddr, WalkFault};
pub use mound::{GuestMound, Resume, SpawnError, StrandFastPath, StrandHost, TrapOutcome};
pub use sched::{GlobalScheduler, Pick};
pub use strand::{MoundId, Nanos, SchedParams, StrandId, StrandState};
