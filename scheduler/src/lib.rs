//! # spin-scheduler — SPIN's global scheduling policies and their runtime
//!
//! * [`policy`]: the policies behind [`spin_kernel::GlobalScheduler`]
//!   (`rr-priority`, `stride`, `lottery`, `edf`, `fair`) and a registry.
//! * [`runtime`]: [`Scheduler`], the object the kernel's CPU loops call: the
//!   strand table, block/unblock/exit, pick and stop, policy swap under a
//!   [`spin_kernel::cap::SwapSchedulerCap`].
//! * [`watchdog`]: reverts to `rr-priority` when a runnable strand stalls.
//! * [`group`]: two-level scheduling, a mound's [`LocalScheduler`] stacked on
//!   the global policy.
//! * [`accounting`], [`histogram`], [`telemetry`]: CPU, wait, wake-up latency,
//!   deadline misses, fairness; [`SchedTelemetry`] for the kernel snapshot.
//! * [`slots`], [`slot_heap`], [`ticket_tree`]: the policies' hot-path
//!   structures, indexed by a dense per-strand slot instead of a hash.
//! * [`sim`]: a deterministic virtual-time simulator comparing the policies.
//!
//! Everything here is deterministic: decisions depend only on the sequence of
//! calls and their machine-time arguments (no wall clock, no hash-map
//! iteration order, seeded randomness).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod accounting;
mod consistency;
pub mod group;
pub mod histogram;
pub mod ids;
pub mod policy;
pub mod queue;
pub mod rng;
pub mod runtime;
pub mod sim;
pub mod slot_heap;
pub mod slots;
mod strand_table;
pub mod telemetry;
pub mod ticket_tree;
pub mod watchdog;

pub use group::{LocalRoundRobin, LocalScheduler, PolicyAsLocal, GROUP_ID_BASE};
pub use policy::{policy_by_name, PolicyError, PolicyParams, DEFAULT_POLICY, POLICY_NAMES};
pub use runtime::{SchedError, Scheduler, SchedulerConfig, Stop};
pub use sim::{run_comparison, SimReport};
pub use telemetry::{SchedTelemetry, SwapRecord};
