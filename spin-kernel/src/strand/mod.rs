//! Strands: the unit the global scheduler multiplexes.
//!
//! A strand has a name and an id and nothing else required. Its runnability is
//! reported to the scheduler by the `Block`/`Unblock` events; its thread package
//! saves and restores its state on `Checkpoint`/`Resume`.
//!
//! The global scheduling policy interface lives in [`crate::sched`].

use serde::{Deserialize, Serialize};

/// Identifies a strand for the life of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StrandId(pub u32);

/// Identifies a mound (an operating-system personality instance). Mound 0 is
/// the kernel itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MoundId(pub u32);

impl MoundId {
    /// The kernel's own mound.
    pub const KERNEL: MoundId = MoundId(0);
}

impl std::fmt::Display for StrandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s{}", self.0)
    }
}

impl std::fmt::Display for MoundId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// Machine time in nanoseconds. On the Alpha machine it advances with
/// instructions retired (deterministic); under KVM it is host monotonic time.
pub type Nanos = u64;

/// Where a strand is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrandState {
    /// Waiting in the global scheduler's runnable set.
    Runnable,
    /// On a CPU.
    Running,
    /// Waiting for an event (I/O, futex, timer, child).
    Blocked,
    /// Finished; kept only until its accounting is collected.
    Exited,
}

/// A periodic real-time reservation (for `edf`), in nanoseconds of machine time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// Release period.
    pub period: Nanos,
    /// Relative deadline (≤ period).
    pub deadline: Nanos,
    /// CPU time needed per period.
    pub budget: Nanos,
}

/// Scheduling parameters of one strand (or of a mound presenting itself as one
/// schedulable entity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedParams {
    /// Priority, 0 (lowest) ..= 31 (highest).
    pub priority: u8,
    /// Proportional-share weight (tickets for stride and lottery; CFS weight for
    /// fair). Must be ≥ 1.
    pub weight: u32,
    /// Real-time reservation, if the strand is periodic.
    pub reservation: Option<Reservation>,
}

impl Default for SchedParams {
    fn default() -> Self {
        SchedParams {
            priority: 16,
            weight: 100,
            reservation: None,
        }
    }
}

/// A strand as the kernel records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrandInfo {
    /// Its id.
    pub id: StrandId,
    /// Human-readable name (e.g. `unix:42/sqlite`).
    pub name: String,
    /// Owning mound.
    pub mound: MoundId,
    /// Scheduling parameters.
    pub params: SchedParams,
}

mod service;
pub use service::{StrandEvent, StrandTelemetry, Strands};
