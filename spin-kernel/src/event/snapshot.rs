//! An immutable view of an event's handlers, built at install time and read
//! without locks at raise time.

use std::sync::Arc;

use super::index::IntIndex;
use super::{Call, Entry, Key, ResultProc};

/// The handler list of an event as of one install/uninstall.
pub struct Snapshot<A, R> {
    entries: Vec<Arc<Entry<A, R>>>,
    /// The single unguarded synchronous handler, when that is all there is.
    pub(super) direct: Option<Arc<Entry<A, R>>>,
    /// Ordinals (positions in `entries`) of handlers without an equality guard.
    unindexed: Vec<u32>,
    /// Per declared key that has indexed handlers: its extractor and index.
    indexes: Vec<(KeyFn<A>, IntIndex)>,
    /// Every declared key's extractor (for equality guards beyond the first).
    pub(super) keys: Vec<KeyFn<A>>,
    pub(super) result: Option<ResultProc<R>>,
}

/// Extracts an indexable field from an event's arguments.
type KeyFn<A> = fn(&A) -> u64;

/// At most this many lists are merged at raise time: the unindexed handlers
/// plus one list per declared key (an event declares at most 8 keys).
const MAX_LISTS: usize = 9;

impl<A, R> Snapshot<A, R> {
    pub(super) fn empty() -> Self {
        Snapshot {
            entries: Vec::new(),
            direct: None,
            unindexed: Vec::new(),
            indexes: Vec::new(),
            keys: Vec::new(),
            result: None,
        }
    }

    pub(super) fn build(
        entries: &[Arc<Entry<A, R>>],
        keys: &[Key<A>],
        result: Option<ResultProc<R>>,
    ) -> Self {
        let direct = match entries {
            [only]
                if only.guards.is_empty()
                    && only.indexed.is_none()
                    && matches!(only.call, Call::Sync(_)) =>
            {
                Some(only.clone())
            }
            _ => None,
        };
        let mut unindexed = Vec::new();
        let mut per_key: Vec<Vec<(u64, u32)>> = vec![Vec::new(); keys.len()];
        for (ord, e) in entries.iter().enumerate() {
            match e.indexed {
                Some((k, v)) => per_key[usize::from(k.0)].push((v, ord as u32)),
                None => unindexed.push(ord as u32),
            }
        }
        let indexes = per_key
            .into_iter()
            .enumerate()
            .filter(|(_, pairs)| !pairs.is_empty())
            .map(|(k, pairs)| (keys[k].extract, IntIndex::build(&pairs)))
            .collect();
        Snapshot {
            entries: entries.to_vec(),
            direct,
            unindexed,
            indexes,
            keys: keys.iter().map(|k| k.extract).collect(),
            result,
        }
    }

    /// Calls `f` on every handler that may run for `args` (its indexed guard,
    /// if any, already matched), in the event's handler order.
    #[inline]
    pub(super) fn for_each_candidate(&self, args: &A, mut f: impl FnMut(&Entry<A, R>)) {
        if self.indexes.is_empty() {
            for e in &self.entries {
                f(e);
            }
            return;
        }
        if self.unindexed.is_empty() && self.indexes.len() == 1 {
            let (extract, index) = &self.indexes[0];
            for &ord in index.get(extract(args)) {
                f(&self.entries[ord as usize]);
            }
            return;
        }
        // Merge the sorted ordinal lists so handler order is kept.
        let mut lists: [&[u32]; MAX_LISTS] = [&[]; MAX_LISTS];
        lists[0] = &self.unindexed;
        let mut n = 1;
        for (extract, index) in &self.indexes {
            lists[n] = index.get(extract(args));
            n += 1;
        }
        loop {
            let mut best: Option<(usize, u32)> = None;
            for (i, l) in lists[..n].iter().enumerate() {
                if let Some(&ord) = l.first() {
                    if best.is_none_or(|(_, b)| ord < b) {
                        best = Some((i, ord));
                    }
                }
            }
            let Some((i, ord)) = best else { break };
            lists[i] = &lists[i][1..];
            f(&self.entries[ord as usize]);
        }
    }
}
