//! The pager: a fixed frame budget, residency and dirtiness, the policy in
//! charge (switchable at run time), hints, counters and trace recording.
//!
//! It is machine-independent bookkeeping: it decides, the mound acts. A
//! reference the mound observed (a fault on a missing page, a fault on a
//! page protected to simulate its reference bit, or every access in record
//! mode) goes to [`Pager::reference`]; the [`Outcome`] says whether the page
//! must be read in and which page, if any, must be unmapped (and written
//! back first if dirty).

use std::collections::HashMap;
use std::ops::Range;

use crate::page::{PageKind, PageNo, Ref};
use crate::policy::{Policy, PolicyKind, PolicySpec, Removal};
use crate::stats::{PagerStats, PolicyCounters, ResidentByKind};

/// Most range hints a pager keeps (a program cannot grow the list, which
/// every reference searches, without bound).
pub const MAX_HINTS: usize = 256;
/// Most references one recording keeps (16 bytes each); later ones are
/// dropped and the recording marked truncated.
pub const MAX_RECORDING: usize = 1 << 22;

/// Why a pager could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagerError {
    /// A budget of zero frames.
    #[error("the frame budget must be at least one frame")]
    ZeroBudget,
}

/// A page that lost its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eviction {
    /// The page.
    pub page: PageNo,
    /// Whether it must be written back before its frame is reused.
    pub dirty: bool,
    /// Its kind.
    pub kind: PageKind,
}

/// What a reference means for the mound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Resident: nothing to read.
    Hit,
    /// Not resident: read it in, after evicting `evicted` if the budget
    /// is full.
    Miss {
        /// The page that gives up its frame.
        evicted: Option<Eviction>,
    },
}

impl Outcome {
    /// Whether the reference missed.
    pub fn is_miss(&self) -> bool {
        matches!(self, Outcome::Miss { .. })
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    dirty: bool,
    kind: PageKind,
    /// The reference count when it was last referenced.
    last: u64,
    /// Its last reference (what a new policy adopts).
    last_ref: Ref,
}

/// The pager of one database file.
pub struct Pager {
    budget: usize,
    resident: HashMap<PageNo, Frame>,
    policy: Box<dyn Policy>,
    /// References observed.
    refs: u64,
    /// Hints by page range (later hints win where they overlap).
    hints: Vec<(Range<PageNo>, PageKind)>,
    /// The access pattern the database announced for what it does next
    /// (e.g. a scan), overriding range hints except the hot set's.
    mode: Option<PageKind>,
    counters: Vec<(PolicyKind, PolicyCounters)>,
    volunteered: u64,
    fallbacks: u64,
    /// Hits and faults of references to pages hinted hot.
    hot: PolicyCounters,
    recording: Option<Vec<Ref>>,
    /// The recording hit [`MAX_RECORDING`].
    truncated: bool,
}

impl std::fmt::Debug for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("budget", &self.budget)
            .field("resident", &self.resident.len())
            .field("policy", &self.policy.kind())
            .finish()
    }
}

impl Pager {
    /// A pager of `budget` frames run by `spec`.
    pub fn new(budget: usize, spec: &PolicySpec) -> Result<Pager, PagerError> {
        if budget == 0 {
            return Err(PagerError::ZeroBudget);
        }
        Ok(Pager {
            budget,
            resident: HashMap::new(),
            policy: spec.build(budget),
            refs: 0,
            hints: Vec::new(),
            mode: None,
            counters: vec![(spec.kind(), PolicyCounters::default())],
            volunteered: 0,
            fallbacks: 0,
            hot: PolicyCounters::default(),
            recording: None,
            truncated: false,
        })
    }

    /// The frame budget.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The policy in charge.
    pub fn policy(&self) -> PolicyKind {
        self.policy.kind()
    }

    /// Whether the policy in charge needs every reference (the mound then
    /// traps every page transition) or only misses and reference-bit faults.
    pub fn needs_every_reference(&self) -> bool {
        self.policy.needs_every_reference()
    }

    /// References observed so far (what `opt`'s `from` counts).
    pub fn references(&self) -> u64 {
        self.refs
    }

    /// Whether `page` holds a frame.
    pub fn is_resident(&self, page: PageNo) -> bool {
        self.resident.contains_key(&page)
    }

    /// Pages holding frames.
    pub fn resident(&self) -> usize {
        self.resident.len()
    }

    /// The resident pages, in page order.
    pub fn resident_pages(&self) -> Vec<PageNo> {
        let mut v: Vec<PageNo> = self.resident.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Hands the pager to another policy; the resident pages stay, adopted
    /// by the new policy least recently used first.
    pub fn set_policy(&mut self, spec: &PolicySpec) {
        let mut policy = spec.build(self.budget);
        let mut pages: Vec<(u64, Ref)> = self
            .resident
            .values()
            .map(|f| (f.last, f.last_ref))
            .collect();
        pages.sort_unstable_by_key(|&(last, r)| (last, r.page));
        for (_, r) in &pages {
            policy.adopt(r);
        }
        self.policy = policy;
        if !self.counters.iter().any(|(k, _)| *k == spec.kind()) {
            self.counters.push((spec.kind(), PolicyCounters::default()));
        }
    }

    /// Hints that pages `range` are of `kind` (`Normal` clears a hint).
    /// False (and nothing changes) when [`MAX_HINTS`] hints are held and
    /// this one would add another.
    pub fn hint(&mut self, range: Range<PageNo>, kind: PageKind) -> bool {
        if range.is_empty() {
            return true;
        }
        // Drop hints the new one covers entirely, so the list stays short
        // when a database re-hints the same ranges.
        self.hints
            .retain(|(r, _)| !(range.start <= r.start && r.end <= range.end));
        if kind != PageKind::Normal {
            if self.hints.len() >= MAX_HINTS {
                return false;
            }
            self.hints.push((range, kind));
        }
        true
    }

    /// Announces the access pattern of what the database does next (a scan
    /// starts: `Some(Scan)`; it ended: `None`).
    pub fn set_mode(&mut self, mode: Option<PageKind>) {
        self.mode = mode;
    }

    /// The kind of a reference to `page` now, from the hints.
    pub fn kind_of(&self, page: PageNo) -> PageKind {
        let ranged = self
            .hints
            .iter()
            .rev()
            .find(|(r, _)| r.contains(&page))
            .map(|&(_, k)| k);
        match (ranged, self.mode) {
            (Some(PageKind::Hot), _) => PageKind::Hot,
            (_, Some(m)) => m,
            (Some(k), None) => k,
            (None, None) => PageKind::Normal,
        }
    }

    /// The mound observed an access to `page` (its kind from the hints).
    pub fn reference(&mut self, page: PageNo, write: bool) -> Outcome {
        let kind = self.kind_of(page);
        self.reference_as(Ref { page, write, kind })
    }

    /// A reference whose kind is given (a trace being replayed).
    pub fn reference_as(&mut self, r: Ref) -> Outcome {
        self.refs += 1;
        if let Some(rec) = self.recording.as_mut() {
            if rec.len() < MAX_RECORDING {
                rec.push(r);
            } else {
                self.truncated = true;
            }
        }
        let refs = self.refs;
        if let Some(f) = self.resident.get_mut(&r.page) {
            f.dirty |= r.write;
            f.kind = f.kind.after(r.kind);
            f.last = refs;
            f.last_ref = Ref { kind: f.kind, ..r };
            self.policy.hit(&r);
            self.current().hits += 1;
            self.hot.hits += u64::from(r.kind == PageKind::Hot);
            return Outcome::Hit;
        }
        let evicted = if self.resident.len() >= self.budget {
            self.evict_one(Some(&r))
        } else {
            None
        };
        self.resident.insert(
            r.page,
            Frame {
                dirty: r.write,
                kind: r.kind,
                last: refs,
                last_ref: r,
            },
        );
        self.policy.insert(&r);
        self.current().faults += 1;
        self.hot.faults += u64::from(r.kind == PageKind::Hot);
        Outcome::Miss { evicted }
    }

    /// `PhysAddr.Reclaim`: gives up the least valuable frame (the policy's
    /// victim). The caller writes it back if dirty and volunteers the frame.
    pub fn volunteer(&mut self) -> Option<Eviction> {
        let e = self.evict_one(None)?;
        self.volunteered += 1;
        Some(e)
    }

    /// Forgets `page` (unmapped, the file truncated); the caller writes it
    /// back first if the answer says dirty.
    pub fn drop_page(&mut self, page: PageNo) -> Option<Eviction> {
        let f = self.resident.remove(&page)?;
        self.policy.remove(page, Removal::Dropped);
        if f.dirty {
            self.current().writebacks += 1;
        }
        Some(Eviction {
            page,
            dirty: f.dirty,
            kind: f.kind,
        })
    }

    /// Dirty resident pages in `range`, in page order (what `msync` writes).
    pub fn dirty_in(&self, range: Range<PageNo>) -> Vec<PageNo> {
        let mut v: Vec<PageNo> = self
            .resident
            .iter()
            .filter(|(p, f)| f.dirty && range.contains(p))
            .map(|(&p, _)| p)
            .collect();
        v.sort_unstable();
        v
    }

    /// `page` was written back and is clean now.
    pub fn cleaned(&mut self, page: PageNo) {
        if let Some(f) = self.resident.get_mut(&page) {
            if f.dirty {
                f.dirty = false;
                self.current().writebacks += 1;
            }
        }
    }

    /// Pages the mound must protect to simulate their reference bits
    /// (`clock` only; drained).
    pub fn take_protect(&mut self) -> Vec<PageNo> {
        self.policy.take_protect()
    }

    /// Starts recording the reference string (forgetting any earlier one).
    pub fn start_recording(&mut self) {
        self.recording = Some(Vec::new());
        self.truncated = false;
    }

    /// Whether the recording lost references past [`MAX_RECORDING`].
    pub fn recording_truncated(&self) -> bool {
        self.truncated
    }

    /// Whether a recording is on.
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// Stops recording and returns what was recorded.
    pub fn take_recording(&mut self) -> Option<Vec<Ref>> {
        self.recording.take()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PagerStats {
        let mut by_kind = ResidentByKind::default();
        let mut dirty = 0;
        for f in self.resident.values() {
            *by_kind.slot(f.kind) += 1;
            dirty += u64::from(f.dirty);
        }
        let mut total = PolicyCounters::default();
        for (_, c) in &self.counters {
            total.add(c);
        }
        PagerStats {
            policy: self.policy.kind().name().to_string(),
            budget: self.budget as u64,
            resident: self.resident.len() as u64,
            dirty,
            by_kind,
            total,
            per_policy: self
                .counters
                .iter()
                .map(|(k, c)| (k.name().to_string(), c.clone()))
                .collect(),
            volunteered: self.volunteered,
            fallbacks: self.fallbacks,
            hot: self.hot.clone(),
        }
    }

    fn current(&mut self) -> &mut PolicyCounters {
        let k = self.policy.kind();
        let i = match self.counters.iter().position(|(c, _)| *c == k) {
            Some(i) => i,
            None => {
                self.counters.push((k, PolicyCounters::default()));
                self.counters.len() - 1
            }
        };
        &mut self.counters[i].1
    }

    fn evict_one(&mut self, incoming: Option<&Ref>) -> Option<Eviction> {
        let chosen = self
            .policy
            .victim(incoming)
            .filter(|p| self.resident.contains_key(p));
        let page = match chosen {
            Some(p) => p,
            None => {
                // A policy out of step with residency: never exceed the
                // budget anyway; take the least recently referenced page.
                let p = self
                    .resident
                    .iter()
                    .min_by_key(|(&p, f)| (f.last, p))
                    .map(|(&p, _)| p)?;
                self.fallbacks += 1;
                p
            }
        };
        let f = self.resident.remove(&page)?;
        self.policy.remove(page, Removal::Evicted);
        let c = self.current();
        c.evictions += 1;
        if f.dirty {
            c.writebacks += 1;
        }
        Some(Eviction {
            page,
            dirty: f.dirty,
            kind: f.kind,
        })
    }
}
