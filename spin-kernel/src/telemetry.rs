//! Telemetry: a serde-serializable snapshot of the kernel, cheap enough to
//! take several times a second. The dashboard draws from snapshots and never
//! holds a kernel lock while drawing.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventTelemetry};
use crate::machine::Arch;
use crate::mem::phys::OwnerTelemetry;
use crate::strand::{MoundId, StrandTelemetry};

/// Something whose dispatch statistics appear in the snapshot (every
/// `Event<A, R>` is one).
pub trait EventSource: Send + Sync {
    /// The event's current statistics.
    fn event_telemetry(&self) -> EventTelemetry;
}

impl<A: 'static, R: 'static> EventSource for Event<A, R> {
    fn event_telemetry(&self) -> EventTelemetry {
        self.telemetry()
    }
}

/// A registered domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainTelemetry {
    /// Name under which the nameserver exports it.
    pub name: String,
    /// Exported interface names.
    pub exports: Vec<String>,
    /// Imports not yet resolved.
    pub unresolved: Vec<String>,
}

/// Physical memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameTelemetry {
    /// Frame size in bytes.
    pub page_size: u64,
    /// Frames of RAM.
    pub total: u64,
    /// Free frames.
    pub free: u64,
    /// Per-owner use.
    pub owners: Vec<OwnerTelemetry>,
    /// The frame map in 128 buckets: the owner holding most allocated frames
    /// of each (None = the bucket is entirely free).
    pub map: Vec<Option<MoundId>>,
}

/// One kernel snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSnapshot {
    /// Kernel id.
    pub kernel: u64,
    /// Machine architecture.
    pub arch: Arch,
    /// Host microseconds since boot when the snapshot was taken.
    pub host_us: u64,
    /// Registered domains.
    pub domains: Vec<DomainTelemetry>,
    /// Events with handler counts and dispatch counts.
    pub events: Vec<EventTelemetry>,
    /// Frames per owner.
    pub frames: FrameTelemetry,
    /// Strands and their states.
    pub strands: Vec<StrandTelemetry>,
}

/// Where a mound is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "detail")]
pub enum MoundState {
    /// Its strands are running (or waiting).
    Running,
    /// Its first program ended with this status (exit code, or 128 + signal).
    Exited(i32),
    /// The operator stopped it.
    Stopped,
    /// It could not start, or died of a fault in its own code.
    Failed(String),
}

/// A mound as its personality describes itself. Generic on purpose: the
/// console shows any mound from this, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoundTelemetry {
    /// The mound's id.
    pub id: MoundId,
    /// Its name (from the manifest).
    pub name: String,
    /// Personality: `unix`, `video-server`, `db-pager`, ...
    pub kind: String,
    /// What it runs (program and arguments, or a description).
    pub program: String,
    /// Its memory manager, in a few words.
    pub memory_manager: String,
    /// Its strand package, in a few words.
    pub strand_package: String,
    /// Life state.
    pub state: MoundState,
    /// Processes (or the personality's unit of work) alive.
    pub tasks: u64,
    /// Frames the mound's memory manager holds.
    pub frames: u64,
    /// Its frame quota, if any.
    pub quota: Option<u64>,
    /// Page faults resolved since start (cumulative).
    pub faults: u64,
    /// Frames given back through `PhysAddr.Reclaim` (cumulative).
    pub reclaimed: u64,
    /// Pages evicted to backing store or dropped (cumulative).
    pub evicted: u64,
    /// System calls (or requests) served (cumulative).
    pub calls: u64,
}

impl MoundTelemetry {
    /// A row with only the identity filled in (personalities fill the rest).
    pub fn new(id: MoundId, name: impl Into<String>, kind: impl Into<String>) -> Self {
        MoundTelemetry {
            id,
            name: name.into(),
            kind: kind.into(),
            program: String::new(),
            memory_manager: String::new(),
            strand_package: String::new(),
            state: MoundState::Running,
            tasks: 0,
            frames: 0,
            quota: None,
            faults: 0,
            reclaimed: 0,
            evicted: 0,
            calls: 0,
        }
    }
}
