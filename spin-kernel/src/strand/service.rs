//! The Strand service: the kernel's table of strands and the four strand
//! events. `Block`/`Unblock` go to the global scheduler (its primary
//! handler); `Checkpoint`/`Resume` go to the strand's thread package, whose
//! handler is guarded on the strand's mound (an indexed guard).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{MoundId, Nanos, SchedParams, StrandId, StrandInfo, StrandState};
use crate::event::{Decision, Event, Guard, KeyId, Primary, Principal};

/// Arguments of the strand events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrandEvent {
    /// The strand.
    pub strand: StrandId,
    /// Its mound.
    pub mound: MoundId,
    /// Machine time of the event.
    pub now: Nanos,
}

/// A strand as telemetry reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrandTelemetry {
    /// Identity and parameters.
    #[serde(flatten)]
    pub info: StrandInfo,
    /// Current state.
    pub state: StrandState,
}

struct Record {
    info: StrandInfo,
    state: StrandState,
}

/// Errors are plain: an unknown strand id is `None`/`false`, never a panic.
pub struct Strands {
    next: AtomicU32,
    table: Mutex<BTreeMap<StrandId, Record>>,
    /// The strand can no longer run (raised by whoever blocks it).
    pub block: Event<StrandEvent, ()>,
    /// The strand can run again.
    pub unblock: Event<StrandEvent, ()>,
    /// Save the strand's state (its thread package handles this).
    pub checkpoint: Event<StrandEvent, ()>,
    /// Restore the strand's state before it runs.
    pub resume: Event<StrandEvent, ()>,
    scheduler_primaries: (Primary<StrandEvent, ()>, Primary<StrandEvent, ()>),
    package_primaries: (Primary<StrandEvent, ()>, Primary<StrandEvent, ()>),
    mound_key: KeyId,
}

impl std::fmt::Debug for Strands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strands")
            .field("count", &self.lock().len())
            .finish()
    }
}

fn mound_of(e: &StrandEvent) -> u64 {
    u64::from(e.mound.0)
}

fn strand_of(e: &StrandEvent) -> u64 {
    u64::from(e.strand.0)
}

impl Default for Strands {
    fn default() -> Self {
        Self::new()
    }
}

impl Strands {
    /// An empty strand table with its four events. A thread package may only
    /// install `Checkpoint`/`Resume` handlers for its own mound: the primary
    /// module imposes the guard.
    pub fn new() -> Strands {
        let (block, block_p) = Event::define("Strand.Block");
        let (unblock, unblock_p) = Event::define("Strand.Unblock");
        let (checkpoint, checkpoint_p) = Event::define("Strand.Checkpoint");
        let (resume, resume_p) = Event::define("Strand.Resume");
        let mut mound_key = None;
        for p in [&block_p, &unblock_p, &checkpoint_p, &resume_p] {
            mound_key = Some(p.declare_key("mound", mound_of));
            p.declare_key("strand", strand_of);
        }
        let mound_key = mound_key.expect("four events were defined");
        for p in [&checkpoint_p, &resume_p] {
            p.set_install_policy(move |who: &Principal| match who.mound {
                Some(m) => Decision::AllowWithGuard(Guard::eq(mound_key, u64::from(m.0))),
                None => Decision::Refuse("a thread package acts for a mound".into()),
            });
        }
        Strands {
            next: AtomicU32::new(1),
            table: Mutex::new(BTreeMap::new()),
            block,
            unblock,
            checkpoint,
            resume,
            scheduler_primaries: (block_p, unblock_p),
            package_primaries: (checkpoint_p, resume_p),
            mound_key,
        }
    }

    /// The key `Checkpoint`/`Resume` handlers are guarded on.
    pub fn mound_key(&self) -> KeyId {
        self.mound_key
    }

    /// Authority over `Block` and `Unblock` (given to the global scheduler).
    pub fn scheduler_primaries(&self) -> (&Primary<StrandEvent, ()>, &Primary<StrandEvent, ()>) {
        (&self.scheduler_primaries.0, &self.scheduler_primaries.1)
    }

    /// Authority over `Checkpoint` and `Resume`.
    pub fn package_primaries(&self) -> (&Primary<StrandEvent, ()>, &Primary<StrandEvent, ()>) {
        (&self.package_primaries.0, &self.package_primaries.1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<StrandId, Record>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a strand (initially blocked: unblock it to make it runnable).
    pub fn create(&self, name: impl Into<String>, mound: MoundId, params: SchedParams) -> StrandId {
        let id = StrandId(self.next.fetch_add(1, Ordering::Relaxed));
        let info = StrandInfo {
            id,
            name: name.into(),
            mound,
            params,
        };
        self.lock().insert(
            id,
            Record {
                info,
                state: StrandState::Blocked,
            },
        );
        id
    }

    /// A strand's identity and parameters.
    pub fn info(&self, id: StrandId) -> Option<StrandInfo> {
        self.lock().get(&id).map(|r| r.info.clone())
    }

    /// A strand's state.
    pub fn state(&self, id: StrandId) -> Option<StrandState> {
        self.lock().get(&id).map(|r| r.state)
    }

    /// Changes a strand's scheduling parameters.
    pub fn set_params(&self, id: StrandId, params: SchedParams) -> bool {
        self.lock()
            .get_mut(&id)
            .map(|r| r.info.params = params)
            .is_some()
    }

    fn transition(
        &self,
        id: StrandId,
        to: StrandState,
        allowed: &[StrandState],
    ) -> Option<StrandEvent> {
        let mut t = self.lock();
        let r = t.get_mut(&id)?;
        if !allowed.contains(&r.state) {
            return None;
        }
        r.state = to;
        Some(StrandEvent {
            strand: id,
            mound: r.info.mound,
            now: 0,
        })
    }

    /// Marks the strand blocked and raises `Block`. Returns false if it was not
    /// runnable or running.
    pub fn block(&self, id: StrandId, now: Nanos) -> bool {
        match self.transition(
            id,
            StrandState::Blocked,
            &[StrandState::Runnable, StrandState::Running],
        ) {
            Some(ev) => {
                self.block.raise(&StrandEvent { now, ..ev });
                true
            }
            None => false,
        }
    }

    /// Marks the strand runnable and raises `Unblock`. Returns false if it was
    /// not blocked.
    pub fn unblock(&self, id: StrandId, now: Nanos) -> bool {
        match self.transition(id, StrandState::Runnable, &[StrandState::Blocked]) {
            Some(ev) => {
                self.unblock.raise(&StrandEvent { now, ..ev });
                true
            }
            None => false,
        }
    }

    /// The strand was picked: raises `Resume` for its thread package and marks
    /// it running.
    pub fn resume(&self, id: StrandId, now: Nanos) -> bool {
        match self.transition(id, StrandState::Running, &[StrandState::Runnable]) {
            Some(ev) => {
                self.resume.raise(&StrandEvent { now, ..ev });
                true
            }
            None => false,
        }
    }

    /// The strand stopped running but stays runnable: raises `Checkpoint`.
    pub fn checkpoint(&self, id: StrandId, now: Nanos) -> bool {
        match self.transition(id, StrandState::Runnable, &[StrandState::Running]) {
            Some(ev) => {
                self.checkpoint.raise(&StrandEvent { now, ..ev });
                true
            }
            None => false,
        }
    }

    /// The strand finished; it stays listed as exited until `reap`.
    pub fn exit(&self, id: StrandId, now: Nanos) -> bool {
        let was_queued = matches!(
            self.state(id),
            Some(StrandState::Runnable | StrandState::Running)
        );
        let any = [
            StrandState::Runnable,
            StrandState::Running,
            StrandState::Blocked,
        ];
        match self.transition(id, StrandState::Exited, &any) {
            Some(ev) => {
                if was_queued {
                    // Tell the scheduler it can no longer run.
                    self.block.raise(&StrandEvent { now, ..ev });
                }
                true
            }
            None => false,
        }
    }

    /// Forgets an exited strand.
    pub fn reap(&self, id: StrandId) -> bool {
        let mut t = self.lock();
        if t.get(&id).is_some_and(|r| r.state == StrandState::Exited) {
            t.remove(&id);
            true
        } else {
            false
        }
    }

    /// Every strand, by id.
    pub fn telemetry(&self) -> Vec<StrandTelemetry> {
        self.lock()
            .values()
            .map(|r| StrandTelemetry {
                info: r.info.clone(),
                state: r.state,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Handler;
    use std::sync::{Arc, Mutex as StdMutex};

    #[test]
    fn lifecycle_raises_events_in_order() {
        let s = Strands::new();
        let log = Arc::new(StdMutex::new(Vec::new()));
        for (ev, tag) in [(&s.block, "block"), (&s.unblock, "unblock")] {
            let log = log.clone();
            ev.install(
                &Principal::kernel("sched"),
                Handler::new(move |e: &StrandEvent| log.lock().unwrap().push((tag, e.strand))),
            )
            .unwrap();
        }
        for (ev, tag) in [(&s.checkpoint, "checkpoint"), (&s.resume, "resume")] {
            let log = log.clone();
            ev.install(
                &Principal::mound("threads", MoundId(4)),
                Handler::new(move |e: &StrandEvent| log.lock().unwrap().push((tag, e.strand))),
            )
            .unwrap();
        }
        let a = s.create("a", MoundId(4), SchedParams::default());
        let b = s.create("b", MoundId(5), SchedParams::default());
        assert!(s.unblock(a, 1));
        assert!(!s.unblock(a, 1), "already runnable");
        assert!(s.resume(a, 2));
        assert!(s.checkpoint(a, 3));
        assert!(s.resume(a, 4));
        assert!(s.block(a, 5));
        assert!(s.unblock(b, 6));
        assert!(s.resume(b, 7)); // mound 5 has no thread package handler here
        assert!(s.exit(b, 8));
        assert!(s.reap(b));
        assert!(
            !s.resume(StrandId(999), 9),
            "unknown strand is refused, not a panic"
        );
        let got: Vec<&str> = log.lock().unwrap().iter().map(|(t, _)| *t).collect();
        assert_eq!(
            got,
            [
                "unblock",
                "resume",
                "checkpoint",
                "resume",
                "block",
                "unblock",
                "block"
            ]
        );
        assert_eq!(s.telemetry().len(), 1);
    }

    #[test]
    fn thread_packages_only_see_their_own_mound() {
        let s = Strands::new();
        assert!(s
            .resume
            .install(
                &Principal::kernel("nobody"),
                Handler::new(|_: &StrandEvent| ())
            )
            .is_err());
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let seen2 = seen.clone();
        s.resume
            .install(
                &Principal::mound("pkg", MoundId(2)),
                Handler::new(move |e: &StrandEvent| seen2.lock().unwrap().push(e.mound)),
            )
            .unwrap();
        for m in [1, 2, 3, 2] {
            let id = s.create("x", MoundId(m), SchedParams::default());
            s.unblock(id, 0);
            s.resume(id, 0);
        }
        assert_eq!(*seen.lock().unwrap(), vec![MoundId(2), MoundId(2)]);
    }
}
