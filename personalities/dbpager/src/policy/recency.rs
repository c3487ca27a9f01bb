//! A recency order over pages, and the two policies that read it from
//! either end: LRU and MRU.

use std::collections::{BTreeMap, HashMap};

use super::{Policy, PolicyKind, Removal};
use crate::page::{PageNo, Ref};

/// Pages ordered by their last reference: O(log n) touch, remove and
/// either end.
#[derive(Debug, Default, Clone)]
pub(crate) struct Recency {
    stamp: u64,
    by_stamp: BTreeMap<u64, PageNo>,
    of_page: HashMap<PageNo, u64>,
}

impl Recency {
    /// Makes `page` the most recent (adding it if absent).
    pub(crate) fn touch(&mut self, page: PageNo) {
        self.stamp += 1;
        if let Some(old) = self.of_page.insert(page, self.stamp) {
            self.by_stamp.remove(&old);
        }
        self.by_stamp.insert(self.stamp, page);
    }

    /// Forgets `page`; whether it was there.
    pub(crate) fn remove(&mut self, page: PageNo) -> bool {
        match self.of_page.remove(&page) {
            Some(s) => {
                self.by_stamp.remove(&s);
                true
            }
            None => false,
        }
    }

    /// The least recently touched page.
    pub(crate) fn oldest(&self) -> Option<PageNo> {
        self.by_stamp.values().next().copied()
    }

    /// The most recently touched page.
    pub(crate) fn newest(&self) -> Option<PageNo> {
        self.by_stamp.values().next_back().copied()
    }

    /// The most recently touched page other than `not`.
    pub(crate) fn newest_except(&self, not: Option<PageNo>) -> Option<PageNo> {
        self.by_stamp
            .values()
            .rev()
            .find(|&&p| Some(p) != not)
            .copied()
    }

    /// Whether `page` is in the order.
    pub(crate) fn contains(&self, page: PageNo) -> bool {
        self.of_page.contains_key(&page)
    }

    /// Pages in the order.
    pub(crate) fn len(&self) -> usize {
        self.of_page.len()
    }
}

/// Least recently used.
#[derive(Debug, Default)]
pub struct Lru {
    order: Recency,
}

impl Lru {
    /// An empty LRU list.
    pub fn new() -> Lru {
        Lru::default()
    }
}

impl Policy for Lru {
    fn kind(&self) -> PolicyKind {
        PolicyKind::Lru
    }
    fn hit(&mut self, r: &Ref) {
        self.order.touch(r.page);
    }
    fn insert(&mut self, r: &Ref) {
        self.order.touch(r.page);
    }
    fn victim(&mut self, _incoming: Option<&Ref>) -> Option<PageNo> {
        self.order.oldest()
    }
    fn remove(&mut self, page: PageNo, _why: Removal) {
        self.order.remove(page);
    }
}

/// Most recently used: the right choice for a loop over more pages than
/// there are frames (each page evicted is the one needed furthest ahead).
#[derive(Debug, Default)]
pub struct Mru {
    order: Recency,
}

impl Mru {
    /// An empty MRU list.
    pub fn new() -> Mru {
        Mru::default()
    }
}

impl Policy for Mru {
    fn kind(&self) -> PolicyKind {
        PolicyKind::Mru
    }
    fn hit(&mut self, r: &Ref) {
        self.order.touch(r.page);
    }
    fn insert(&mut self, r: &Ref) {
        self.order.touch(r.page);
    }
    fn victim(&mut self, _incoming: Option<&Ref>) -> Option<PageNo> {
        self.order.newest()
    }
    fn remove(&mut self, page: PageNo, _why: Removal) {
        self.order.remove(page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recency_orders_by_last_touch() {
        let mut r = Recency::default();
        for p in [1, 2, 3] {
            r.touch(p);
        }
        r.touch(1);
        assert_eq!(r.oldest(), Some(2));
        assert_eq!(r.newest(), Some(1));
        assert!(r.remove(2) && !r.remove(2));
        assert_eq!(r.oldest(), Some(3));
        assert_eq!(r.len(), 2);
        assert!(r.contains(1) && !r.contains(2));
    }
}
