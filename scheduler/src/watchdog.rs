//! The stall watchdog (after sched_ext's runnable-task-stall exit): if any
//! runnable entity has waited longer than a bound under a non-default policy,
//! the runtime reverts to `rr-priority` and records why.
//!
//! It keeps the runnable entities ordered by the time they became runnable,
//! so the check at each scheduling point is O(1) and bookkeeping O(log n).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use spin_kernel::{Nanos, StrandId};

use crate::ids::IdMap;

/// Default stall bound: 2 s of machine time.
pub const DEFAULT_STALL_BOUND: Nanos = 2_000_000_000;

/// One firing of the watchdog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogFiring {
    /// Machine time of the firing, ns.
    pub at: Nanos,
    /// The policy that was reverted.
    pub policy: String,
    /// The entity that starved (a strand, or a mound's group entity).
    pub strand: StrandId,
    /// How long it had been runnable, ns.
    pub waited: Nanos,
    /// The bound in force, ns.
    pub bound: Nanos,
}

/// The watchdog's state, as telemetry shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogTelemetry {
    /// Whether it is armed.
    pub enabled: bool,
    /// The bound, ns.
    pub bound: Nanos,
    /// Times it fired.
    pub firings: u64,
    /// The last firing.
    pub last: Option<WatchdogFiring>,
    /// How long the longest-waiting runnable entity has waited, ns.
    pub oldest_wait: Nanos,
}

/// Runnable entities by the time they became runnable.
#[derive(Debug, Clone)]
pub struct Watchdog {
    enabled: bool,
    bound: Nanos,
    waiting: BTreeSet<(Nanos, StrandId)>,
    since: IdMap<Nanos>,
    firings: u64,
    last: Option<WatchdogFiring>,
}

impl Watchdog {
    /// A watchdog with `bound` ns, armed or not.
    pub fn new(bound: Nanos, enabled: bool) -> Watchdog {
        Watchdog {
            enabled,
            bound,
            waiting: BTreeSet::new(),
            since: IdMap::default(),
            firings: 0,
            last: None,
        }
    }

    /// `entity` has been runnable since `since`.
    pub fn runnable(&mut self, entity: StrandId, since: Nanos) {
        self.not_runnable(entity);
        self.waiting.insert((since, entity));
        self.since.insert(entity, since);
    }

    /// `entity` is no longer waiting (picked, blocked or gone); returns since when it waited.
    pub fn not_runnable(&mut self, entity: StrandId) -> Option<Nanos> {
        let since = self.since.remove(&entity)?;
        self.waiting.remove(&(since, entity));
        Some(since)
    }

    /// Since when `entity` has been waiting, if it is.
    pub fn since(&self, entity: StrandId) -> Option<Nanos> {
        self.since.get(&entity).copied()
    }

    /// Every waiting entity, longest-waiting first.
    pub fn waiting(&self) -> impl Iterator<Item = (Nanos, StrandId)> + '_ {
        self.waiting.iter().copied()
    }

    /// Number of waiting entities.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The longest-waiting entity and how long it has waited at `now`.
    pub fn oldest(&self, now: Nanos) -> Option<(StrandId, Nanos)> {
        self.waiting
            .first()
            .map(|&(since, id)| (id, now.saturating_sub(since)))
    }

    /// The entity that has waited longer than the bound, if armed and any.
    pub fn stalled(&self, now: Nanos) -> Option<(StrandId, Nanos)> {
        if !self.enabled {
            return None;
        }
        self.oldest(now).filter(|&(_, waited)| waited > self.bound)
    }

    /// Records a firing.
    pub fn fired(&mut self, firing: WatchdogFiring) {
        self.firings += 1;
        self.last = Some(firing);
    }

    /// Arms or disarms it and sets the bound (ns).
    pub fn configure(&mut self, enabled: bool, bound: Nanos) {
        self.enabled = enabled;
        self.bound = bound;
    }

    /// The bound, ns.
    pub fn bound(&self) -> Nanos {
        self.bound
    }

    /// Telemetry at `now`.
    pub fn telemetry(&self, now: Nanos) -> WatchdogTelemetry {
        WatchdogTelemetry {
            enabled: self.enabled,
            bound: self.bound,
            firings: self.firings,
            last: self.last.clone(),
            oldest_wait: self.oldest(now).map_or(0, |(_, w)| w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_first_and_bound() {
        let mut w = Watchdog::new(100, true);
        w.runnable(StrandId(1), 50);
        w.runnable(StrandId(2), 10);
        assert_eq!(w.oldest(60), Some((StrandId(2), 50)));
        assert_eq!(w.stalled(110), None);
        assert_eq!(w.stalled(111), Some((StrandId(2), 101)));
        assert_eq!(w.not_runnable(StrandId(2)), Some(10));
        assert_eq!(w.stalled(111), None);
        w.configure(false, 100);
        assert_eq!(w.stalled(1_000), None);
        assert_eq!(w.len(), 1);
    }
}
