//! The pager's telemetry: what the host's record and the dashboard show.

use serde::{Deserialize, Serialize};

use crate::page::PageKind;

/// Counters of one policy while it was in charge (pages; counts since the
/// pager was created).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCounters {
    /// References to resident pages the pager observed (for `clock`, only
    /// the reference-bit faults).
    pub hits: u64,
    /// References to pages not resident: each one a frame filled from the
    /// file.
    pub faults: u64,
    /// Pages the policy gave up to make room or to `PhysAddr.Reclaim`.
    pub evictions: u64,
    /// Dirty pages written back to the file (on eviction, `msync`, `fsync`,
    /// unmap).
    pub writebacks: u64,
}

impl PolicyCounters {
    /// Hits over observed references, 0 with none.
    pub fn hit_ratio(&self) -> f64 {
        let refs = self.hits + self.faults;
        if refs == 0 {
            0.0
        } else {
            self.hits as f64 / refs as f64
        }
    }

    pub(crate) fn add(&mut self, o: &PolicyCounters) {
        self.hits += o.hits;
        self.faults += o.faults;
        self.evictions += o.evictions;
        self.writebacks += o.writebacks;
    }
}

/// Resident pages by the kind the database hinted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentByKind {
    /// Pages of the hot set.
    pub hot: u64,
    /// Pages brought in by a scan (its ring).
    pub scan: u64,
    /// Index pages.
    pub index: u64,
    /// Pages with no hint.
    pub normal: u64,
}

impl ResidentByKind {
    pub(crate) fn slot(&mut self, k: PageKind) -> &mut u64 {
        match k {
            PageKind::Hot => &mut self.hot,
            PageKind::Scan => &mut self.scan,
            PageKind::Index => &mut self.index,
            PageKind::Normal => &mut self.normal,
        }
    }
}

/// A snapshot of a pager.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PagerStats {
    /// The policy in charge now (its name).
    pub policy: String,
    /// The frame budget (frames).
    pub budget: u64,
    /// Pages resident now (frames held).
    pub resident: u64,
    /// Resident pages that are dirty.
    pub dirty: u64,
    /// Resident pages by kind.
    pub by_kind: ResidentByKind,
    /// All policies together.
    pub total: PolicyCounters,
    /// Per policy that was ever in charge, by name.
    pub per_policy: Vec<(String, PolicyCounters)>,
    /// Frames volunteered to `PhysAddr.Reclaim`.
    pub volunteered: u64,
    /// Times the policy named no victim and the pager chose one itself (a
    /// policy bug; 0 in every test).
    pub fallbacks: u64,
    /// Hits and faults of the references to pages the database hinted hot
    /// (all policies together; evictions and write-backs stay 0): the hot
    /// set's hit ratio, which a scan should not change under `hinted`.
    #[serde(default)]
    pub hot: PolicyCounters,
}
