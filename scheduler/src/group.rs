//! Two-level scheduling: a mound's own scheduler stacked on the global one.
//!
//! A mound that brings a thread package registers a [`LocalScheduler`] for
//! itself; the runtime then presents the whole mound to the global policy as
//! one schedulable entity (a *group entity*, with the mound's priority, weight
//! and reservation). The entity is runnable while any of the mound's strands
//! is; when the global policy picks it, the local scheduler picks which of its
//! strands runs (SPIN's "picks among its own strands on `Resume`"). Block and
//! unblock of those strands are routed to the local scheduler.
//!
//! A group entity is one virtual processor: at most one of its strands runs at
//! a time, whatever the number of CPUs.

use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::queue::LazyFifo;

/// Strand ids at or above this are group entities, handed out by the runtime;
/// the kernel never gives a strand one of them.
pub const GROUP_ID_BASE: u32 = 0x8000_0000;

/// A mound's own scheduler: picks among the mound's runnable strands.
///
/// Same contract as [`GlobalScheduler`] restricted to one mound: the runtime
/// calls `enqueue` when one of its strands becomes runnable, `remove` when a
/// queued one blocks or exits, `pick_next` when the group entity was picked
/// (the returned quantum is capped by the global one), and `charge` after it ran.
pub trait LocalScheduler: Send {
    /// The package's scheduler name, for telemetry.
    fn name(&self) -> &'static str;
    /// `strand` became runnable at `now`.
    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, now: Nanos);
    /// `strand` stopped being runnable while queued; whether it was queued.
    fn remove(&mut self, strand: StrandId) -> bool;
    /// The next strand to run, removed from the local runnable set.
    fn pick_next(&mut self, now: Nanos) -> Option<Pick>;
    /// `strand` ran `ran` ns and stopped at `now`.
    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, now: Nanos);
    /// `strand` exited; drop its state.
    fn forget(&mut self, _strand: StrandId) {}
    /// Number of queued strands.
    fn len(&self) -> usize;
    /// Whether no strand is queued.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Round-robin among the mound's strands, in wake-up order, with a fixed quantum.
#[derive(Debug)]
pub struct LocalRoundRobin {
    queue: LazyFifo,
    quantum: Nanos,
}

impl LocalRoundRobin {
    /// Round-robin with `quantum` ns (use `Nanos::MAX` to let the global
    /// quantum decide alone: then it is plain FIFO per dispatch).
    pub fn new(quantum: Nanos) -> LocalRoundRobin {
        LocalRoundRobin {
            queue: LazyFifo::new(),
            quantum: quantum.max(1),
        }
    }
}

impl LocalScheduler for LocalRoundRobin {
    fn name(&self) -> &'static str {
        "local-rr"
    }

    fn enqueue(&mut self, strand: StrandId, _params: &SchedParams, _now: Nanos) {
        self.queue.push_back(strand);
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        self.queue.remove(strand)
    }

    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        self.queue.pop_front().map(|strand| Pick {
            strand,
            quantum: self.quantum,
        })
    }

    fn charge(&mut self, _strand: StrandId, _params: &SchedParams, _ran: Nanos, _now: Nanos) {}

    fn len(&self) -> usize {
        self.queue.len()
    }
}

/// Any global policy used as a mound's local scheduler (e.g. `stride` among a
/// mound's strands while the mound itself is scheduled by `rr-priority`).
pub struct PolicyAsLocal(pub Box<dyn GlobalScheduler>);

impl std::fmt::Debug for PolicyAsLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PolicyAsLocal")
            .field(&self.0.name())
            .finish()
    }
}

impl LocalScheduler for PolicyAsLocal {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, now: Nanos) {
        self.0.enqueue(strand, params, now);
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        self.0.remove(strand)
    }

    fn pick_next(&mut self, now: Nanos) -> Option<Pick> {
        self.0.pick_next(now)
    }

    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, now: Nanos) {
        self.0.charge(strand, params, ran, now);
    }

    fn forget(&mut self, strand: StrandId) {
        self.0.forget(strand);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{policy_by_name, PolicyParams};

    #[test]
    fn round_robin_in_wakeup_order() {
        let mut rr = LocalRoundRobin::new(500);
        let p = SchedParams::default();
        for i in [3, 1, 2] {
            rr.enqueue(StrandId(i), &p, 0);
        }
        assert!(rr.remove(StrandId(1)));
        let first = rr.pick_next(0).expect("queued");
        assert_eq!((first.strand, first.quantum), (StrandId(3), 500));
        rr.enqueue(StrandId(3), &p, 0);
        assert_eq!(rr.pick_next(0).map(|p| p.strand), Some(StrandId(2)));
        assert_eq!(rr.pick_next(0).map(|p| p.strand), Some(StrandId(3)));
        assert!(rr.is_empty());
    }

    #[test]
    fn a_global_policy_can_serve_locally() {
        let policy = policy_by_name("stride", &PolicyParams::default()).expect("stride");
        let mut local = PolicyAsLocal(policy);
        local.enqueue(StrandId(1), &SchedParams::default(), 0);
        assert_eq!(local.name(), "stride");
        assert_eq!(local.pick_next(0).map(|p| p.strand), Some(StrandId(1)));
    }
}
