//! # spin-dbpager — the database pager mound's pager
//!
//! Databases keep their own buffer caches because the operating system's
//! page replacement fits them badly. In SPIN a database instead brings its
//! own pager as an extension: it handles the faults on its database file,
//! picks its own victims, and answers `PhysAddr.Reclaim` by volunteering
//! the frame it values least (the SPIN white paper's example is such a
//! pager, LRU-clock with simulated reference bits).
//!
//! This crate is that pager's machine-independent core:
//!
//! * [`Pager`] — a fixed frame budget over the pages of one file:
//!   residency, dirtiness, hints ([`PageKind`] by page range, or an
//!   announced access pattern), counters ([`PagerStats`], serde, for the
//!   host's record and the dashboard) and trace recording. It decides; the
//!   mound acts ([`Outcome`]: read this page in, unmap and maybe write back
//!   that one).
//! * [`policy`] — the replaceable policies behind the [`Policy`] trait,
//!   switchable at run time ([`Pager::set_policy`]): `clock` (with
//!   simulated reference bits: [`Pager::take_protect`] lists the pages to
//!   protect so the next access raises `Translation.ProtectionFault`),
//!   `lru`, `mru`, `2q`, `hinted` (acts on the database's hints: a scan
//!   recycles a small ring of frames and cannot push out the hot set) and
//!   `opt` (Belady, replaying a recorded [`Trace`]: the limit).
//! * [`workload`] — deterministic reference strings of the benchmark's
//!   workloads: hot set + repeated scans, Zipfian index lookups, a
//!   TPC-C-like mix.
//! * [`simulate`] — runs a trace through a pager: how the benchmark and the
//!   tests compare policies.
//! * [`extension`] — `spin.db-pager`, the extension that puts a pager in a
//!   UNIX mound ([`DbPagerExt`], listed in `UnixConfig::extensions`): the
//!   program attaches its database file's shared mapping and sends hints
//!   by extension system calls; faults on the file reach the pager and its
//!   victims are written back and unmapped by the mound's memory manager.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod extension;
mod page;
mod pager;
pub mod policy;
mod stats;
pub mod trace;
pub mod workload;

pub use extension::{DbPagerConfig, DbPagerExt};
pub use page::{PageKind, PageNo, Ref};
pub use pager::{Eviction, Outcome, Pager, PagerError, MAX_HINTS, MAX_RECORDING};
pub use policy::{Policy, PolicyKind, PolicySpec};
pub use stats::{PagerStats, PolicyCounters, ResidentByKind};
pub use trace::Trace;

/// The spec of `kind` for replaying `trace` (`opt` gets the trace; the
/// others their defaults).
pub fn spec_for(kind: PolicyKind, trace: &Trace) -> PolicySpec {
    PolicySpec::of(kind).unwrap_or_else(|| PolicySpec::Opt {
        trace: trace.pages(),
        from: 0,
    })
}

/// Runs `trace` through a pager of `budget` frames under `kind` and returns
/// its counters.
pub fn simulate(trace: &Trace, budget: usize, kind: PolicyKind) -> Result<PagerStats, PagerError> {
    let mut pager = Pager::new(budget, &spec_for(kind, trace))?;
    for r in &trace.refs {
        pager.reference_as(*r);
    }
    Ok(pager.stats())
}
