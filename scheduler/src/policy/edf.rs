//! `edf`: earliest deadline first for periodic strands, best effort in the slack.
//!
//! A strand with a [`Reservation`] gets a *job* when it becomes runnable in a
//! new period: release = now, absolute deadline = release + deadline, budget.
//! Ready jobs run earliest deadline first and preempt best-effort strands and
//! later deadlines. A job that has used its budget is throttled until its next
//! release (hard reservation), so a misbehaving periodic strand cannot take
//! more than budget/period of the CPU from the others. Strands without a
//! reservation run round-robin when no job is ready; throttled strands run
//! only when nothing else is runnable (the CPU never idles while any strand is
//! runnable). With total utilisation U ≤ 1 every deadline is met.

use spin_kernel::strand::Reservation;
use spin_kernel::{GlobalScheduler, Nanos, Pick, SchedParams, StrandId};

use crate::queue::SlotFifo;
use crate::slot_heap::SlotHeap;
use crate::slots::Slots;

/// `job_of[slot]` for a strand without a job.
const NO_JOB: u32 = u32::MAX;

/// The current job of a periodic strand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// When the job was released, ns.
    pub release: Nanos,
    /// Absolute deadline, ns.
    pub deadline: Nanos,
    /// Budget left, ns.
    pub remaining: Nanos,
    /// The reservation it was released under.
    pub reservation: Reservation,
}

impl Job {
    fn new(release: Nanos, r: Reservation) -> Job {
        Job {
            release,
            deadline: release.saturating_add(r.deadline),
            remaining: r.budget,
            reservation: r,
        }
    }

    fn next_release(&self) -> Nanos {
        self.release.saturating_add(self.reservation.period.max(1))
    }
}

/// Earliest deadline first with hard reservations.
///
/// Strands have dense slots ([`Slots`]); the ready and throttled sets are
/// [`SlotHeap`]s and best effort a [`SlotFifo`], so nothing on the hot path
/// hashes. Jobs (periodic strands only) sit in a pool indexed per slot.
#[derive(Debug, Default)]
pub struct Edf {
    slots: Slots,
    /// Per slot: its job's index in `jobs`, or [`NO_JOB`].
    job_of: Vec<u32>,
    jobs: Vec<Job>,
    free_jobs: Vec<u32>,
    /// Jobs with budget, by absolute deadline.
    ready: SlotHeap,
    /// Periodic strands out of budget, by next release.
    throttled: SlotHeap,
    best_effort: SlotFifo,
    quantum: Nanos,
}

impl Edf {
    /// EDF with `quantum` (ns) for best-effort strands and the longest
    /// uninterrupted run of a job.
    pub fn new(quantum: Nanos) -> Edf {
        Edf {
            quantum: quantum.max(1),
            ..Edf::default()
        }
    }

    /// The current job of `strand`, if it is periodic.
    pub fn job(&self, strand: StrandId) -> Option<Job> {
        self.slots.get(strand).and_then(|slot| self.job_at(slot))
    }

    fn job_at(&self, slot: usize) -> Option<Job> {
        match self.job_of[slot] {
            NO_JOB => None,
            j => Some(self.jobs[j as usize]),
        }
    }

    fn job_mut(&mut self, slot: usize) -> Option<&mut Job> {
        match self.job_of[slot] {
            NO_JOB => None,
            j => Some(&mut self.jobs[j as usize]),
        }
    }

    fn set_job(&mut self, slot: usize, job: Job) {
        match self.job_of[slot] {
            NO_JOB => {
                let j = match self.free_jobs.pop() {
                    Some(j) => {
                        self.jobs[j as usize] = job;
                        j
                    }
                    None => {
                        self.jobs.push(job);
                        u32::try_from(self.jobs.len() - 1).expect("fewer than 2^32 jobs")
                    }
                };
                self.job_of[slot] = j;
            }
            j => self.jobs[j as usize] = job,
        }
    }

    fn drop_job(&mut self, slot: usize) {
        let j = std::mem::replace(&mut self.job_of[slot], NO_JOB);
        if j != NO_JOB {
            self.free_jobs.push(j);
        }
    }

    #[inline]
    fn slot(&mut self, strand: StrandId) -> usize {
        let (slot, new) = self.slots.get_or_insert(strand);
        if new {
            if slot == self.job_of.len() {
                self.job_of.push(NO_JOB);
            } else {
                self.job_of[slot] = NO_JOB;
            }
        }
        slot
    }

    fn remove_slot(&mut self, slot: usize) -> bool {
        self.ready.remove(slot) || self.throttled.remove(slot) || self.best_effort.remove(slot)
    }

    /// Moves throttled strands whose next period has begun to the ready heap.
    fn release_due(&mut self, now: Nanos) {
        while let Some((slot, release)) = self.throttled.peek() {
            if release > now {
                break;
            }
            self.throttled.pop();
            let Some(job) = self.job_mut(slot) else {
                continue;
            };
            *job = Job::new(release, job.reservation);
            let deadline = job.deadline;
            self.ready.push(slot, deadline);
        }
    }

    /// The deadline of the most urgent job that could run now.
    fn best_waiting_deadline(&self, now: Nanos) -> Option<Nanos> {
        let ready = self.ready.peek().map(|(_, d)| d);
        let released = self.throttled.peek().and_then(|(slot, release)| {
            (release <= now)
                .then(|| self.job_at(slot))
                .flatten()
                .map(|j| release.saturating_add(j.reservation.deadline))
        });
        match (ready, released) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl GlobalScheduler for Edf {
    fn name(&self) -> &'static str {
        "edf"
    }

    fn enqueue(&mut self, strand: StrandId, params: &SchedParams, now: Nanos) {
        let slot = self.slot(strand);
        self.remove_slot(slot);
        let Some(r) = params.reservation else {
            self.drop_job(slot);
            self.best_effort.push_back(slot);
            return;
        };
        let job = match self.job_at(slot) {
            Some(job) if now < job.next_release() && job.reservation == r => job,
            _ => Job::new(now, r),
        };
        self.set_job(slot, job);
        if job.remaining > 0 {
            self.ready.push(slot, job.deadline);
        } else {
            self.throttled.push(slot, job.next_release());
        }
    }

    fn remove(&mut self, strand: StrandId) -> bool {
        match self.slots.get(strand) {
            Some(slot) => self.remove_slot(slot),
            None => false,
        }
    }

    fn pick_next(&mut self, now: Nanos) -> Option<Pick> {
        self.release_due(now);
        if let Some((slot, _)) = self.ready.pop() {
            let remaining = self.job_at(slot).map_or(self.quantum, |j| j.remaining);
            return Some(Pick {
                strand: self.slots.id(slot),
                quantum: remaining.clamp(1, self.quantum),
            });
        }
        if let Some(slot) = self.best_effort.pop_front() {
            return Some(Pick {
                strand: self.slots.id(slot),
                quantum: self.quantum,
            });
        }
        // Slack with nothing else to do: run a throttled strand until its release.
        let (slot, release) = self.throttled.pop()?;
        Some(Pick {
            strand: self.slots.id(slot),
            quantum: release.saturating_sub(now).clamp(1, self.quantum),
        })
    }

    fn charge(&mut self, strand: StrandId, _params: &SchedParams, ran: Nanos, _now: Nanos) {
        if let Some(job) = self.slots.get(strand).and_then(|slot| self.job_mut(slot)) {
            job.remaining = job.remaining.saturating_sub(ran);
        }
    }

    fn should_preempt(&self, running: StrandId, _params: &SchedParams, now: Nanos) -> bool {
        let Some(waiting) = self.best_waiting_deadline(now) else {
            return false;
        };
        match self.job(running) {
            // A job with budget in its own period: only an earlier deadline wins.
            Some(job) if job.remaining > 0 && now < job.next_release() => waiting < job.deadline,
            // Best effort, or a throttled strand running in the slack.
            _ => true,
        }
    }

    fn forget(&mut self, strand: StrandId) {
        if let Some(slot) = self.slots.get(strand) {
            self.remove_slot(slot);
            self.drop_job(slot);
            self.slots.remove(strand);
        }
    }

    fn drain(&mut self) -> Vec<StrandId> {
        let mut out = self.ready.drain_sorted();
        out.extend(self.best_effort.drain());
        out.extend(self.throttled.drain_sorted());
        out.into_iter().map(|slot| self.slots.id(slot)).collect()
    }

    fn len(&self) -> usize {
        self.ready.len() + self.throttled.len() + self.best_effort.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn periodic(period: Nanos, budget: Nanos) -> SchedParams {
        SchedParams {
            reservation: Some(Reservation {
                period,
                deadline: period,
                budget,
            }),
            ..SchedParams::default()
        }
    }

    #[test]
    fn earliest_deadline_first_then_best_effort() {
        let mut e = Edf::new(1_000);
        e.enqueue(StrandId(1), &SchedParams::default(), 0);
        e.enqueue(StrandId(2), &periodic(10_000, 500), 0);
        e.enqueue(StrandId(3), &periodic(5_000, 500), 0);
        assert!(e.should_preempt(StrandId(1), &SchedParams::default(), 0));
        let p = e.pick_next(0).expect("runnable");
        assert_eq!((p.strand, p.quantum), (StrandId(3), 500));
        assert_eq!(e.pick_next(0).map(|p| p.strand), Some(StrandId(2)));
        assert_eq!(e.pick_next(0).map(|p| p.strand), Some(StrandId(1)));
    }

    #[test]
    fn exhausted_budget_throttles_until_release() {
        let mut e = Edf::new(1_000);
        let rt = periodic(10_000, 500);
        e.enqueue(StrandId(2), &rt, 0);
        e.enqueue(StrandId(1), &SchedParams::default(), 0);
        let p = e.pick_next(0).expect("job");
        assert_eq!(p.strand, StrandId(2));
        e.charge(StrandId(2), &rt, 500, 500);
        e.enqueue(StrandId(2), &rt, 500);
        // Out of budget: the best-effort strand runs first.
        assert_eq!(e.pick_next(500).map(|p| p.strand), Some(StrandId(1)));
        // Nothing else: the throttled strand runs in the slack until its release.
        let p = e.pick_next(600).expect("slack");
        assert_eq!((p.strand, p.quantum), (StrandId(2), 1_000));
        e.charge(StrandId(2), &rt, 1_000, 1_600);
        e.enqueue(StrandId(1), &SchedParams::default(), 1_600);
        e.enqueue(StrandId(2), &rt, 10_000);
        // New period: a fresh job preempts best effort.
        assert_eq!(e.job(StrandId(2)).map(|j| j.remaining), Some(500));
        assert_eq!(e.pick_next(10_000).map(|p| p.strand), Some(StrandId(2)));
    }
}
