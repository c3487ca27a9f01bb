//! Belady's OPT: evict the page whose next reference is furthest ahead.
//! Offline — it replays a recorded reference string — so it is the limit
//! the other policies are measured against, not something to run a
//! database on.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::{Policy, PolicyKind, Removal};
use crate::page::{PageNo, Ref};

/// "Never referenced again".
const NEVER: usize = usize::MAX;

/// OPT over a recorded trace.
#[derive(Debug)]
pub struct Opt {
    trace: Arc<[PageNo]>,
    /// `next[i]`: the position of the next reference to `trace[i]` after `i`.
    next: Vec<usize>,
    /// The position of the reference the pager will report next.
    cursor: usize,
    /// The first reference of each page at or after the starting position
    /// (for pages adopted at a switch).
    first: HashMap<PageNo, usize>,
    /// Resident pages by next use.
    by_next: BTreeSet<(usize, PageNo)>,
    next_of: HashMap<PageNo, usize>,
    /// References that did not match the trace (the run diverged from the
    /// recording); such pages are treated as never referenced again.
    diverged: u64,
}

impl Opt {
    /// OPT replaying `trace` from position `from`.
    pub fn new(trace: Arc<[PageNo]>, from: usize) -> Opt {
        let mut next = vec![NEVER; trace.len()];
        let mut seen: HashMap<PageNo, usize> = HashMap::new();
        let mut first = HashMap::new();
        for (i, &p) in trace.iter().enumerate().rev() {
            if let Some(&j) = seen.get(&p) {
                next[i] = j;
            }
            seen.insert(p, i);
            if i == from {
                first = seen.clone();
            }
        }
        Opt {
            trace,
            next,
            cursor: from,
            first,
            by_next: BTreeSet::new(),
            next_of: HashMap::new(),
            diverged: 0,
        }
    }

    /// References that did not match the recorded trace.
    pub fn diverged(&self) -> u64 {
        self.diverged
    }

    /// The next use of the page referenced now, advancing the cursor.
    fn advance(&mut self, page: PageNo) -> usize {
        let at = self.cursor;
        self.cursor = self.cursor.saturating_add(1);
        match self.trace.get(at) {
            Some(&p) if p == page => self.next[at],
            _ => {
                self.diverged += 1;
                // Look the page up from here on would be O(n); a diverged
                // run is a broken recording, so the page is simply assumed
                // dead.
                NEVER
            }
        }
    }

    fn set_next(&mut self, page: PageNo, next: usize) {
        if let Some(old) = self.next_of.insert(page, next) {
            self.by_next.remove(&(old, page));
        }
        self.by_next.insert((next, page));
    }
}

impl Policy for Opt {
    fn kind(&self) -> PolicyKind {
        PolicyKind::Opt
    }
    fn hit(&mut self, r: &Ref) {
        let n = self.advance(r.page);
        self.set_next(r.page, n);
    }
    fn insert(&mut self, r: &Ref) {
        self.hit(r);
    }
    fn adopt(&mut self, r: &Ref) {
        let n = self.first.get(&r.page).copied().unwrap_or(NEVER);
        self.set_next(r.page, n);
    }
    fn victim(&mut self, _incoming: Option<&Ref>) -> Option<PageNo> {
        self.by_next.last().map(|&(_, p)| p)
    }
    fn remove(&mut self, page: PageNo, _why: Removal) {
        if let Some(n) = self.next_of.remove(&page) {
            self.by_next.remove(&(n, page));
        }
    }
}
