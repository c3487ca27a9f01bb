//! The hinted policy: the database says what each access is (a sequential
//! scan, an index probe, its hot set) and the pager acts on it.
//!
//! Victims come from the least valuable pool first: scan pages, then
//! unhinted pages, then index pages, then the hot set; LRU within each pool
//! except scan pages, which go most recent first (a repeated scan is a loop,
//! and MRU keeps a fixed part of the loop resident instead of losing all of
//! it). A scan may take free frames, but once the pool is full it takes at
//! most `ring` frames from other pages and then recycles its own — so a
//! full scan cannot push out the hot set (PostgreSQL's buffer ring).

use std::collections::HashMap;

use super::recency::Recency;
use super::{Policy, PolicyKind, Removal};
use crate::page::{PageKind, PageNo, Ref};

/// The hinted policy.
#[derive(Debug)]
pub struct Hinted {
    ring: usize,
    /// One recency order per kind, indexed by [`PageKind::code`].
    pools: [Recency; 4],
    kind_of: HashMap<PageNo, PageKind>,
}

impl Hinted {
    /// The hinted policy for `budget` frames with a scan ring of `ring`
    /// frames (0: an eighth of the budget, at least 2).
    pub fn new(budget: usize, ring: usize) -> Hinted {
        let ring = if ring == 0 { (budget / 8).max(2) } else { ring };
        Hinted {
            ring,
            pools: Default::default(),
            kind_of: HashMap::new(),
        }
    }

    /// The scan ring's size in frames.
    pub fn ring(&self) -> usize {
        self.ring
    }

    fn pool(&mut self, k: PageKind) -> &mut Recency {
        &mut self.pools[usize::from(k.code())]
    }

    fn place(&mut self, page: PageNo, kind: PageKind) {
        if let Some(old) = self.kind_of.insert(page, kind) {
            if old != kind {
                self.pool(old).remove(page);
            }
        }
        self.pool(kind).touch(page);
    }

    /// The general order: scan (newest), normal, index, hot (oldest each).
    fn cheapest(&self) -> Option<PageNo> {
        let [scan, normal, index, hot] = &self.pools;
        scan.newest()
            .or_else(|| normal.oldest())
            .or_else(|| index.oldest())
            .or_else(|| hot.oldest())
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
        self.place(r.page, kind);
    }
    fn insert(&mut self, r: &Ref) {
        self.place(r.page, r.kind);
    }
    fn victim(&mut self, incoming: Option<&Ref>) -> Option<PageNo> {
        let scan = &self.pools[usize::from(PageKind::Scan.code())];
        let scanning = incoming.is_some_and(|r| r.kind == PageKind::Scan);
        if scanning && scan.len() < self.ring {
            // The scan grows its ring out of the other pools, cheapest
            // first; only when nothing else is left does it recycle.
            let [_, normal, index, hot] = &self.pools;
            return normal
                .oldest()
                .or_else(|| index.oldest())
                .or_else(|| hot.oldest())
                .or_else(|| scan.newest());
        }
        self.cheapest()
    }
    fn remove(&mut self, page: PageNo, _why: Removal) {
        if let Some(k) = self.kind_of.remove(&page) {
            self.pool(k).remove(page);
        }
    }
}
