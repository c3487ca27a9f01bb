//! 2Q (Johnson & Shasha, VLDB 1994), the full version: a page referenced
//! once waits in a FIFO (`A1in`); evicted from there, its number is
//! remembered in a ghost FIFO (`A1out`); referenced again while a ghost, it
//! joins the LRU list of pages that earned their frame (`Am`). A one-time
//! scan therefore passes through `A1in` without touching `Am`.

use std::collections::{HashSet, VecDeque};

use super::recency::Recency;
use super::{Policy, PolicyKind, Removal};
use crate::page::{PageNo, Ref};

/// 2Q.
#[derive(Debug)]
pub struct TwoQ {
    /// `A1in`'s target size in frames (a quarter of the budget).
    kin: usize,
    /// `A1out`'s size in page numbers (half the budget).
    kout: usize,
    a1in: Recency,
    am: Recency,
    a1out: VecDeque<PageNo>,
    ghost: HashSet<PageNo>,
}

impl TwoQ {
    /// 2Q for `budget` frames.
    pub fn new(budget: usize) -> TwoQ {
        TwoQ {
            kin: (budget / 4).max(1),
            kout: (budget / 2).max(1),
            a1in: Recency::default(),
            am: Recency::default(),
            a1out: VecDeque::new(),
            ghost: HashSet::new(),
        }
    }

    fn remember(&mut self, page: PageNo) {
        if self.ghost.insert(page) {
            self.a1out.push_back(page);
        }
        while self.a1out.len() > self.kout {
            if let Some(old) = self.a1out.pop_front() {
                self.ghost.remove(&old);
            }
        }
    }
}

impl Policy for TwoQ {
    fn kind(&self) -> PolicyKind {
        PolicyKind::TwoQ
    }
    fn hit(&mut self, r: &Ref) {
        // In A1in: nothing (correlated references do not promote).
        if self.am.contains(r.page) {
            self.am.touch(r.page);
        }
    }
    fn insert(&mut self, r: &Ref) {
        if self.ghost.remove(&r.page) {
            self.a1out.retain(|&p| p != r.page);
            self.am.touch(r.page);
        } else {
            self.a1in.touch(r.page);
        }
    }
    fn victim(&mut self, _incoming: Option<&Ref>) -> Option<PageNo> {
        if self.a1in.len() > self.kin || self.am.len() == 0 {
            self.a1in.oldest().or_else(|| self.am.oldest())
        } else {
            self.am.oldest()
        }
    }
    fn remove(&mut self, page: PageNo, why: Removal) {
        if self.a1in.remove(page) {
            if why == Removal::Evicted {
                self.remember(page);
            }
        } else {
            self.am.remove(page);
        }
    }
}
