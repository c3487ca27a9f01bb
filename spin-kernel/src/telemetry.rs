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
    /// The frame map in 64 buckets: owner holding most of each (None = mostly free).
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
