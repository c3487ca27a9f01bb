//! Replacement policies behind one trait, so the pager can switch them at
//! run time.
//!
//! The pager owns residency (which pages hold frames, which are dirty); a
//! policy only orders them. The pager tells it every reference it observes
//! ([`Policy::hit`] for a resident page, [`Policy::insert`] after a miss was
//! filled) and every page that left ([`Policy::remove`]); when a frame is
//! needed it asks [`Policy::victim`] for a resident page to give up.

mod clock;
mod hinted;
mod opt;
mod recency;
mod twoq;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use clock::Clock;
pub use hinted::Hinted;
pub use opt::Opt;
pub use recency::{Lru, Mru};
pub use twoq::TwoQ;

use crate::page::{PageNo, Ref};

/// Why a page left the policy's care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The policy chose it as the victim.
    Evicted,
    /// The pager dropped it for another reason (unmapped, truncated,
    /// volunteered to `PhysAddr.Reclaim` — which also goes through
    /// [`Policy::victim`], so that one is `Evicted`).
    Dropped,
}

/// A replacement policy over the pager's resident pages.
pub trait Policy: Send {
    /// The policy's name.
    fn kind(&self) -> PolicyKind;
    /// Resident page `r.page` was referenced.
    fn hit(&mut self, r: &Ref);
    /// `r.page` was missing and now holds a frame (the reference that
    /// faulted it in is this one).
    fn insert(&mut self, r: &Ref);
    /// `r.page` was already resident when this policy took over from
    /// another (a run-time switch); `r` is its last reference. Not a
    /// reference now. Pages are adopted least recently used first.
    fn adopt(&mut self, r: &Ref) {
        self.insert(r);
    }
    /// A resident page to give up so that `incoming` can have its frame
    /// (`None` only when nothing is resident). Does not forget the page: the
    /// pager calls [`Policy::remove`] once it is gone.
    fn victim(&mut self, incoming: Option<&Ref>) -> Option<PageNo>;
    /// `page` no longer holds a frame.
    fn remove(&mut self, page: PageNo, why: Removal);
    /// Pages whose simulated reference bit was just cleared: the mound
    /// protects them so that the next access raises
    /// `Translation.ProtectionFault`, which the pager turns into a
    /// [`Policy::hit`]. Only `clock` has any.
    fn take_protect(&mut self) -> Vec<PageNo> {
        Vec::new()
    }
    /// Whether this policy needs every reference (so the mound must trap
    /// them all) rather than only misses and reference-bit faults.
    fn needs_every_reference(&self) -> bool {
        true
    }
}

/// The policies, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// Second chance over a circular list with (simulated) reference bits.
    Clock,
    /// Least recently used.
    Lru,
    /// Most recently used (right for loops larger than memory).
    Mru,
    /// Johnson & Shasha's 2Q: a FIFO for first references, LRU for pages
    /// referenced again, a ghost list to tell them apart.
    TwoQ,
    /// Acts on the database's hints: scan pages evicted first (most
    /// recent first) and limited to a ring once the pool is full; then
    /// the other pages under 2Q; the hot set last (LRU).
    Hinted,
    /// Belady's optimal replacement, replaying a recorded trace.
    Opt,
}

impl PolicyKind {
    /// Every policy, in the order tables list them.
    pub const ALL: [PolicyKind; 6] = [
        PolicyKind::Clock,
        PolicyKind::Lru,
        PolicyKind::Mru,
        PolicyKind::TwoQ,
        PolicyKind::Hinted,
        PolicyKind::Opt,
    ];

    /// The name used on the command line, in manifests and in telemetry.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Clock => "clock",
            PolicyKind::Lru => "lru",
            PolicyKind::Mru => "mru",
            PolicyKind::TwoQ => "2q",
            PolicyKind::Hinted => "hinted",
            PolicyKind::Opt => "opt",
        }
    }

    /// The policy called `name`.
    pub fn parse(name: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The policy's number in the extension call (its index in [`Self::ALL`]).
    pub fn code(self) -> u64 {
        PolicyKind::ALL
            .iter()
            .position(|&k| k == self)
            .unwrap_or_default() as u64
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy and what it needs to be built.
#[derive(Debug, Clone)]
pub enum PolicySpec {
    /// `clock`.
    Clock,
    /// `lru`.
    Lru,
    /// `mru`.
    Mru,
    /// `2q`.
    TwoQ,
    /// `hinted`, with the scan ring's size in frames (0: an eighth of the
    /// budget, at least 2).
    Hinted {
        /// Frames a scan may take from other pages once the pool is full.
        ring: usize,
    },
    /// `opt`, replaying `trace` (the pages referenced, in order) from
    /// reference number `from`.
    Opt {
        /// The recorded reference string.
        trace: Arc<[PageNo]>,
        /// Where in it the pager is now.
        from: usize,
    },
}

impl PolicySpec {
    /// The policy's name.
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicySpec::Clock => PolicyKind::Clock,
            PolicySpec::Lru => PolicyKind::Lru,
            PolicySpec::Mru => PolicyKind::Mru,
            PolicySpec::TwoQ => PolicyKind::TwoQ,
            PolicySpec::Hinted { .. } => PolicyKind::Hinted,
            PolicySpec::Opt { .. } => PolicyKind::Opt,
        }
    }

    /// The spec of `kind` with default parameters; `None` for `opt`, which
    /// needs a trace.
    pub fn of(kind: PolicyKind) -> Option<PolicySpec> {
        Some(match kind {
            PolicyKind::Clock => PolicySpec::Clock,
            PolicyKind::Lru => PolicySpec::Lru,
            PolicyKind::Mru => PolicySpec::Mru,
            PolicyKind::TwoQ => PolicySpec::TwoQ,
            PolicyKind::Hinted => PolicySpec::Hinted { ring: 0 },
            PolicyKind::Opt => return None,
        })
    }

    /// Builds the policy for a pager of `budget` frames.
    pub fn build(&self, budget: usize) -> Box<dyn Policy> {
        match self {
            PolicySpec::Clock => Box::new(Clock::new()),
            PolicySpec::Lru => Box::new(Lru::new()),
            PolicySpec::Mru => Box::new(Mru::new()),
            PolicySpec::TwoQ => Box::new(TwoQ::new(budget)),
            PolicySpec::Hinted { ring } => Box::new(Hinted::new(budget, *ring)),
            PolicySpec::Opt { trace, from } => Box::new(Opt::new(trace.clone(), *from)),
        }
    }
}
