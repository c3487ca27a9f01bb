//! The global scheduler hook: the policy interface the `spin-scheduler` crate
//! implements. Replacing the running policy needs a
//! [`crate::cap::SwapSchedulerCap`].

use crate::strand::{Nanos, SchedParams, StrandId};

/// What the global policy decided to run next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    /// The strand to run; it is no longer in the runnable set.
    pub strand: StrandId,
    /// How long it may run before it is preempted, in nanoseconds of machine time.
    pub quantum: Nanos,
}

/// A global scheduling policy.
///
/// The runnable set lives in the policy. The kernel tells it when strands
/// become runnable (`enqueue`), when they stop being runnable without having
/// been picked (`remove`), and how long a picked strand ran (`charge`, before
/// it is enqueued again or blocks). Every method is expected to be O(log n) or
/// better in the number of runnable strands, except `drain`.
///
/// A policy must accept `charge` and `enqueue` for a strand it has never seen:
/// after a swap, the strands that were running under the old policy are
/// charged to and requeued in the new one when they next stop. The ids it sees
/// may also stand for a whole mound's thread package (two-level scheduling);
/// the policy need not know the difference.
pub trait GlobalScheduler: Send {
    /// The policy's name (`rr-priority`, `stride`, `lottery`, `edf`, `fair`, ...).
    fn name(&self) -> &'static str;

    /// `strand` became runnable at `now`.
    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, now: Nanos);

    /// `strand` left the runnable set without being picked (blocked or killed
    /// while queued). Returns whether it was queued.
    fn remove(&mut self, strand: StrandId) -> bool;

    /// Chooses the next strand to run and removes it from the runnable set.
    fn pick_next(&mut self, now: Nanos) -> Option<Pick>;

    /// `strand`, picked earlier, ran for `ran` nanoseconds and stopped at `now`.
    fn charge(&mut self, strand: StrandId, params: &SchedParams, ran: Nanos, now: Nanos);

    /// Whether a runnable strand should preempt `running` right now (e.g. a
    /// higher priority woke). Default: never before the quantum ends.
    fn should_preempt(&self, _running: StrandId, _params: &SchedParams, _now: Nanos) -> bool {
        false
    }

    /// `strand` exited: drop any per-strand state the policy keeps beyond the
    /// runnable set (virtual time, pass, job). It is neither queued nor running.
    fn forget(&mut self, _strand: StrandId) {}

    /// Removes and returns the whole runnable set, in the order the policy
    /// would have run it, for a policy swap.
    fn drain(&mut self) -> Vec<StrandId>;

    /// Number of runnable strands.
    fn len(&self) -> usize;

    /// Whether no strand is runnable.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
