//! Counters of one memory manager, for telemetry and tests.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of a memory manager's counters (pages are the machine's page
/// size; counts are events since the manager was created).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MmStats {
    /// Page size in bytes.
    pub page_size: u64,
    /// Frames the mound holds now (mapped, cached or being evicted).
    pub resident_frames: u64,
    /// The mound's frame quota, if any.
    pub quota_frames: Option<u64>,
    /// Address spaces alive.
    pub spaces: u64,
    /// Faults resolved without I/O (zero fill, copy-on-write, remap).
    pub minor_faults: u64,
    /// Faults that read a file or the swap store.
    pub major_faults: u64,
    /// Private pages copied on a write to a shared frame.
    pub cow_copies: u64,
    /// Copy-on-write faults that found the frame no longer shared and simply
    /// made it writable.
    pub cow_reuses: u64,
    /// Frames filled with zeros.
    pub zero_fills: u64,
    /// Pages mapped around a demand-zero fault ([`crate::Layout::fault_around`]),
    /// also counted in `minor_faults`.
    pub fault_around: u64,
    /// Pages read from files.
    pub file_reads: u64,
    /// Frames given back through `PhysAddr.Reclaim`.
    pub reclaimed: u64,
    /// Evicted pages dropped without I/O (clean file pages, untouched zero pages).
    pub dropped_clean: u64,
    /// Pages written to the swap store.
    pub swapped_out: u64,
    /// Pages read back from the swap store.
    pub swapped_in: u64,
    /// Swap slots in use now.
    pub swap_slots_used: u64,
    /// Shared file pages written back to their file.
    pub writebacks: u64,
    /// Frames now mapped by more than one address space or held by a shared
    /// object (`MAP_SHARED`).
    pub shared_pages: u64,
}

/// The live counters behind [`MmStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub minor_faults: AtomicU64,
    pub major_faults: AtomicU64,
    pub cow_copies: AtomicU64,
    pub cow_reuses: AtomicU64,
    pub zero_fills: AtomicU64,
    pub fault_around: AtomicU64,
    pub file_reads: AtomicU64,
    pub reclaimed: AtomicU64,
    pub dropped_clean: AtomicU64,
    pub swapped_out: AtomicU64,
    pub swapped_in: AtomicU64,
    pub writebacks: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Copies the counters into `out`.
    pub fn fill(&self, out: &mut MmStats) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.minor_faults = get(&self.minor_faults);
        out.major_faults = get(&self.major_faults);
        out.cow_copies = get(&self.cow_copies);
        out.cow_reuses = get(&self.cow_reuses);
        out.zero_fills = get(&self.zero_fills);
        out.fault_around = get(&self.fault_around);
        out.file_reads = get(&self.file_reads);
        out.reclaimed = get(&self.reclaimed);
        out.dropped_clean = get(&self.dropped_clean);
        out.swapped_out = get(&self.swapped_out);
        out.swapped_in = get(&self.swapped_in);
        out.writebacks = get(&self.writebacks);
    }
}
