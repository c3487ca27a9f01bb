//! The hinted policy: the database says what each access is (a sequential
//! scan, an index probe, its hot set) and the pager acts on it.
//!
//! Pages fall in three groups. Scan pages are the least valuable and go
//! most recent first (a repeated scan is a loop, and MRU keeps a fixed part
//! of the loop resident instead of losing all of it) — but a scan page
//! referenced again while resident goes after those referenced once: a
//! B-tree cursor returns to the interior page above the leaves it walks
//! (SQLite's table scans), and MRU alone would evict that page at every
//! leaf and fault it straight back; the part of a loop kept from the last
//! pass is re-referenced too, and stays. A scan may take free
//! frames, but once the pool is full it takes at most `ring` frames from
//! other pages and then recycles its own — so a full scan cannot push out
//! the hot set (PostgreSQL's buffer ring). The hot set goes last, LRU.
//! Everything else (unhinted and index pages) is run by 2Q, whose
//! frequency filter suits point lookups better than plain LRU.

use std::collections::HashMap;

use super::recency::Recency;
use super::twoq::TwoQ;
use super::{Policy, PolicyKind, Removal};
use crate::page::{PageKind, PageNo, Ref};

/// Which group a page is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Scan,
    Rest,
    Hot,
}

fn group(k: PageKind) -> Group {
    match k {
        PageKind::Scan => Group::Scan,
        PageKind::Normal | PageKind::Index => Group::Rest,
        PageKind::Hot => Group::Hot,
    }
}

/// The scan group: pages referenced once since they came in (victims
/// first, most recent first) and pages referenced again (then, most recent
/// first — but never the scan page referenced last: where the cursor
/// stands).
#[derive(Debug, Default)]
struct ScanGroup {
    once: Recency,
    again: Recency,
    last: Option<PageNo>,
}

impl ScanGroup {
    fn insert(&mut self, page: PageNo) {
        self.again.remove(page);
        self.once.touch(page);
        self.last = Some(page);
    }

    fn hit(&mut self, page: PageNo) {
        self.once.remove(page);
        self.again.touch(page);
        self.last = Some(page);
    }

    fn remove(&mut self, page: PageNo) -> bool {
        if self.last == Some(page) {
            self.last = None;
        }
        self.once.remove(page) | self.again.remove(page)
    }

    fn len(&self) -> usize {
        self.once.len() + self.again.len()
    }

    fn victim(&self) -> Option<PageNo> {
        self.once
            .newest_except(self.last)
            .or_else(|| self.again.newest_except(self.last))
            .or(self.last)
    }
}

/// The hinted policy.
#[derive(Debug)]
pub struct Hinted {
    ring: usize,
    scan: ScanGroup,
    hot: Recency,
    rest: TwoQ,
    kind_of: HashMap<PageNo, PageKind>,
}

impl Hinted {
    /// The hinted policy for `budget` frames with a scan ring of `ring`
    /// frames (0: an eighth of the budget, at least 2).
    pub fn new(budget: usize, ring: usize) -> Hinted {
        let ring = if ring == 0 { (budget / 8).max(2) } else { ring };
        Hinted {
            ring,
            scan: ScanGroup::default(),
            hot: Recency::default(),
            rest: TwoQ::new(budget),
            kind_of: HashMap::new(),
        }
    }

    /// The scan ring's size in frames.
    pub fn ring(&self) -> usize {
        self.ring
    }

    /// Puts `r.page` in the group of `kind`, as a reference.
    fn place(&mut self, r: &Ref, kind: PageKind, resident: bool) {
        let old = self.kind_of.insert(r.page, kind);
        let moved = old.map(group) != Some(group(kind));
        if let (Some(o), true) = (old, moved) {
            match group(o) {
                Group::Scan => {
                    self.scan.remove(r.page);
                }
                Group::Hot => {
                    self.hot.remove(r.page);
                }
                Group::Rest => self.rest.remove(r.page, Removal::Dropped),
            }
        }
        match group(kind) {
            Group::Scan if resident && !moved => self.scan.hit(r.page),
            Group::Scan => self.scan.insert(r.page),
            Group::Hot => self.hot.touch(r.page),
            Group::Rest if resident && !moved => self.rest.hit(r),
            Group::Rest => self.rest.insert(r),
        }
    }
}

impl Policy for Hinted {
    fn kind(&self) -> PolicyKind {
        PolicyKind::Hinted
    }
    fn hit(&mut self, r: &Ref) {
        let kind = match self.kind_of.get(&r.page) {
            Some(&old) => old.after(r.kind),
            None => r.kind,
        };
        self.place(r, kind, true);
    }
    fn insert(&mut self, r: &Ref) {
        self.place(r, r.kind, false);
    }
    fn victim(&mut self, incoming: Option<&Ref>) -> Option<PageNo> {
        let scanning = incoming.is_some_and(|r| r.kind == PageKind::Scan);
        if scanning && self.scan.len() < self.ring {
            // The scan grows its ring out of the other groups, cheapest
            // first; only when nothing else is left does it recycle.
            return self
                .rest
                .victim(incoming)
                .or_else(|| self.hot.oldest())
                .or_else(|| self.scan.victim());
        }
        self.scan
            .victim()
            .or_else(|| self.rest.victim(incoming))
            .or_else(|| self.hot.oldest())
    }
    fn remove(&mut self, page: PageNo, why: Removal) {
        match self.kind_of.remove(&page).map(group) {
            Some(Group::Scan) => {
                self.scan.remove(page);
            }
            Some(Group::Hot) => {
                self.hot.remove(page);
            }
            Some(Group::Rest) => self.rest.remove(page, why),
            None => {}
        }
    }
}
