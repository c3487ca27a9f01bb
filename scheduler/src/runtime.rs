//! The scheduler runtime: the object the kernel's CPU loops call.
//!
//! It owns the global policy (a `Box<dyn GlobalScheduler>`), the strand table
//! (name, mound, parameters, state, accounting), the mounds' local schedulers
//! (two-level scheduling, [`crate::group`]) and the stall [`Watchdog`].
//!
//! # Calling it from a CPU loop
//!
//! ```text
//! loop {
//!     let pick = sched.pick_next(now)            // None: idle until an interrupt
//!     Resume(pick.strand); run up to pick.quantum // machine time
//!     on a wake-up elsewhere: sched.unblock(s, now); if sched.should_preempt(running, now) { kick }
//!     Checkpoint(running);
//!     sched.stop(running, ran, now, Stop::Runnable | Stop::Blocked | Stop::Exited)
//! }
//! ```
//!
//! # Thread safety
//!
//! `Scheduler` is `Send` but not internally synchronized: the kernel holds it
//! in one `Mutex<Scheduler>` and takes the lock at scheduling points only
//! (pick, stop, block/unblock, swap, telemetry). Every call is O(log n) except
//! `swap` and `telemetry` (O(n)); nothing in here calls out to handlers, so the
//! lock is a leaf in the kernel's lock order and cannot be re-entered.
//!
//! # States
//!
//! Every strand is in exactly one of: runnable (queued in the global policy,
//! or in its mound's local scheduler), running, blocked, exited.
//! [`Scheduler::check_consistency`] verifies this and that the policy holds
//! exactly the runnable entities.

use std::collections::BTreeMap;

use spin_kernel::cap::SwapSchedulerCap;
use spin_kernel::{
    GlobalScheduler, KernelId, MoundId, Nanos, Pick, SchedParams, StrandId, StrandState,
};

use crate::accounting::Account;
use crate::group::{LocalScheduler, GROUP_ID_BASE};
use crate::ids::IdSet;
use crate::policy::{policy_by_name, PolicyError, PolicyParams, DEFAULT_POLICY};
use crate::strand_table::StrandTable;
use crate::telemetry::SwapRecord;
use crate::watchdog::{Watchdog, WatchdogFiring, DEFAULT_STALL_BOUND};

/// How the runtime is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// The policy to start with (default `rr-priority`).
    pub policy: String,
    /// Tunables for every policy built by name (including the watchdog's revert).
    pub params: PolicyParams,
    /// Whether the stall watchdog is armed.
    pub watchdog: bool,
    /// The stall bound, ns of machine time (default 2 s).
    pub stall_bound: Nanos,
    /// Swap records kept (older ones are dropped; the total is still counted).
    pub swap_history: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            policy: DEFAULT_POLICY.to_string(),
            params: PolicyParams::default(),
            watchdog: true,
            stall_bound: DEFAULT_STALL_BOUND,
            swap_history: 64,
        }
    }
}

/// Why a scheduler call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedError {
    /// No such strand.
    #[error("strand {0} is not known to the scheduler")]
    UnknownStrand(StrandId),
    /// The id is taken.
    #[error("strand {0} already exists")]
    DuplicateStrand(StrandId),
    /// The id is in the range reserved for group entities.
    #[error("strand id {0} is reserved for mound group entities")]
    ReservedId(StrandId),
    /// `stop` for a strand that is not running.
    #[error("strand {0} is not running")]
    NotRunning(StrandId),
    /// The strand has exited.
    #[error("strand {0} has exited")]
    Exited(StrandId),
    /// `reap` before the strand exited.
    #[error("strand {0} has not exited yet")]
    NotExited(StrandId),
    /// The mound already has a local scheduler.
    #[error("mound {0} already has a local scheduler")]
    DuplicateGroup(MoundId),
    /// The mound has no local scheduler.
    #[error("mound {0} has no local scheduler")]
    UnknownGroup(MoundId),
    /// A group can only be registered before its mound has strands.
    #[error("mound {0} already has strands; register its local scheduler first")]
    GroupAfterStrands(MoundId),
    /// The swap capability belongs to another kernel.
    #[error(
        "the swap capability belongs to kernel {cap:?}, not to this scheduler's kernel {ours:?}"
    )]
    ForeignCapability {
        /// The capability's kernel.
        cap: KernelId,
        /// Ours.
        ours: KernelId,
    },
    /// The policy could not be built.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// How a running strand stopped (the `stop` call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Preempted, quantum expired or yielded: still runnable.
    Runnable,
    /// Blocked on an event.
    Blocked,
    /// Finished.
    Exited,
}

/// What happens to a running strand when it stops, requested while it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    None,
    Block,
    Exit,
}

/// One strand in the table.
#[derive(Debug, Clone)]
pub(crate) struct StrandEntry {
    pub(crate) name: String,
    pub(crate) mound: MoundId,
    pub(crate) params: SchedParams,
    pub(crate) state: StrandState,
    pub(crate) pending: Pending,
    /// Index into `groups` if its mound schedules it locally.
    pub(crate) group: Option<usize>,
    /// When it last became runnable (for wait time).
    pub(crate) runnable_since: Nanos,
    /// Set on wake-up, taken at the next dispatch (wake-up latency).
    pub(crate) woke_at: Option<Nanos>,
    /// Release of the current periodic job.
    pub(crate) job_release: Option<Nanos>,
    /// Boxed: the latency histogram is 2 KiB, and keeping it out of the
    /// table keeps lookups on the scheduling path in cache.
    pub(crate) acct: Box<Account>,
}

/// Where a group entity is with respect to the global policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupState {
    /// No runnable strand: not in the policy.
    Idle,
    /// In the policy's runnable set.
    Queued,
    /// Picked; `running` is its strand on a CPU.
    Running,
}

/// A mound scheduled by its own local scheduler.
pub(crate) struct Group {
    pub(crate) entity: StrandId,
    pub(crate) mound: MoundId,
    pub(crate) params: SchedParams,
    pub(crate) local: Box<dyn LocalScheduler>,
    pub(crate) state: GroupState,
    pub(crate) running: Option<StrandId>,
}

/// The global scheduler runtime. See the module docs for the calling protocol.
pub struct Scheduler {
    pub(crate) kernel: KernelId,
    pub(crate) config: SchedulerConfig,
    pub(crate) policy: Box<dyn GlobalScheduler>,
    pub(crate) policy_is_default: bool,
    /// Looked up on every call; iterated only where order cannot matter or
    /// after sorting (telemetry).
    pub(crate) strands: StrandTable,
    pub(crate) groups: Vec<Group>,
    pub(crate) group_of_mound: BTreeMap<MoundId, usize>,
    pub(crate) mounds: BTreeMap<MoundId, Account>,
    pub(crate) watchdog: Watchdog,
    pub(crate) swaps: Vec<SwapRecord>,
    pub(crate) swaps_total: u64,
    pub(crate) running: usize,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("kernel", &self.kernel)
            .field("policy", &self.policy.name())
            .field("strands", &self.strands.len())
            .field("runnable", &self.policy.len())
            .field("running", &self.running)
            .finish()
    }
}

impl Scheduler {
    /// A runtime for `kernel` (only that kernel's [`SwapSchedulerCap`] may swap it).
    pub fn new(kernel: KernelId, config: SchedulerConfig) -> Result<Scheduler, SchedError> {
        let policy = policy_by_name(&config.policy, &config.params)?;
        Ok(Scheduler {
            kernel,
            policy_is_default: config.policy == DEFAULT_POLICY,
            policy,
            watchdog: Watchdog::new(config.stall_bound, config.watchdog),
            config,
            strands: StrandTable::default(),
            groups: Vec::new(),
            group_of_mound: BTreeMap::new(),
            mounds: BTreeMap::new(),
            swaps: Vec::new(),
            swaps_total: 0,
            running: 0,
        })
    }

    /// The running policy's name.
    pub fn policy_name(&self) -> &'static str {
        self.policy.name()
    }

    /// Number of entities in the global runnable set.
    pub fn runnable_entities(&self) -> usize {
        self.policy.len()
    }

    /// Number of strands on a CPU.
    pub fn running(&self) -> usize {
        self.running
    }

    /// The state of `strand`.
    pub fn state(&self, strand: StrandId) -> Option<StrandState> {
        self.strands.get(&strand).map(|e| e.state)
    }

    /// The accounting of `strand`.
    pub fn account(&self, strand: StrandId) -> Option<&Account> {
        self.strands.get(&strand).map(|e| &*e.acct)
    }

    /// The accounting summed over `mound`'s strands (including reaped ones).
    pub fn mound_account(&self, mound: MoundId) -> Option<&Account> {
        self.mounds.get(&mound)
    }

    /// Arms or disarms the watchdog and sets its bound (ns).
    pub fn configure_watchdog(&mut self, enabled: bool, bound: Nanos) {
        self.watchdog.configure(enabled, bound);
    }

    /// Gives `mound` its own scheduler: from now on its strands are scheduled
    /// by `local`, and the mound appears to the global policy as one entity
    /// with `params`. Returns the entity's id. Must precede the mound's strands.
    pub fn add_group(
        &mut self,
        mound: MoundId,
        params: SchedParams,
        local: Box<dyn LocalScheduler>,
    ) -> Result<StrandId, SchedError> {
        if self.group_of_mound.contains_key(&mound) {
            return Err(SchedError::DuplicateGroup(mound));
        }
        if self
            .strands
            .values()
            .any(|e| e.mound == mound && e.state != StrandState::Exited)
        {
            return Err(SchedError::GroupAfterStrands(mound));
        }
        let entity = StrandId(GROUP_ID_BASE + self.groups.len() as u32);
        self.group_of_mound.insert(mound, self.groups.len());
        self.groups.push(Group {
            entity,
            mound,
            params,
            local,
            state: GroupState::Idle,
            running: None,
        });
        Ok(entity)
    }

    /// Changes a group entity's global parameters.
    pub fn set_group_params(
        &mut self,
        mound: MoundId,
        params: SchedParams,
        now: Nanos,
    ) -> Result<(), SchedError> {
        let g = *self
            .group_of_mound
            .get(&mound)
            .ok_or(SchedError::UnknownGroup(mound))?;
        self.groups[g].params = params;
        if self.groups[g].state == GroupState::Queued {
            let entity = self.groups[g].entity;
            let since = self.watchdog.since(entity).unwrap_or(now);
            self.policy.remove(entity);
            self.policy.enqueue(entity, &params, now);
            self.watchdog.runnable(entity, since);
        }
        Ok(())
    }

    /// Adds a strand, blocked (the kernel unblocks it when it may start).
    pub fn add_strand(
        &mut self,
        id: StrandId,
        name: impl Into<String>,
        mound: MoundId,
        params: SchedParams,
    ) -> Result<(), SchedError> {
        if id.0 >= GROUP_ID_BASE {
            return Err(SchedError::ReservedId(id));
        }
        if self.strands.contains_key(&id) {
            return Err(SchedError::DuplicateStrand(id));
        }
        self.mounds.entry(mound).or_default();
        self.strands.insert(
            id,
            StrandEntry {
                name: name.into(),
                mound,
                params,
                state: StrandState::Blocked,
                pending: Pending::None,
                group: self.group_of_mound.get(&mound).copied(),
                runnable_since: 0,
                woke_at: None,
                job_release: None,
                acct: Box::default(),
            },
        );
        Ok(())
    }

    /// `strand` became runnable at `now` (the `Unblock` event). Unblocking a
    /// running strand cancels a block requested while it ran.
    pub fn unblock(&mut self, strand: StrandId, now: Nanos) -> Result<(), SchedError> {
        let e = self
            .strands
            .get_mut(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        match e.state {
            StrandState::Exited => Err(SchedError::Exited(strand)),
            StrandState::Runnable => Ok(()),
            StrandState::Running => {
                if e.pending == Pending::Block {
                    e.pending = Pending::None;
                }
                Ok(())
            }
            StrandState::Blocked => {
                e.acct.wakeups += 1;
                e.woke_at = Some(now);
                if e.params.reservation.is_some() {
                    e.job_release = Some(now);
                }
                self.make_runnable(strand, now, now);
                Ok(())
            }
        }
    }

    /// `strand` stopped being runnable (the `Block` event). A running strand
    /// blocks when it next stops.
    pub fn block(&mut self, strand: StrandId, now: Nanos) -> Result<(), SchedError> {
        let e = self
            .strands
            .get_mut(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        match e.state {
            StrandState::Exited => Err(SchedError::Exited(strand)),
            StrandState::Blocked => Ok(()),
            StrandState::Running => {
                if e.pending == Pending::None {
                    e.pending = Pending::Block;
                }
                Ok(())
            }
            StrandState::Runnable => {
                self.make_unrunnable(strand);
                self.finish_job(strand, now);
                self.set_state(strand, StrandState::Blocked);
                Ok(())
            }
        }
    }

    /// `strand` exits. A running strand exits when it next stops; its
    /// accounting stays until [`Scheduler::reap`].
    pub fn exit(&mut self, strand: StrandId, now: Nanos) -> Result<(), SchedError> {
        let e = self
            .strands
            .get_mut(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        match e.state {
            StrandState::Exited => Ok(()),
            StrandState::Running => {
                e.pending = Pending::Exit;
                Ok(())
            }
            StrandState::Runnable => {
                self.make_unrunnable(strand);
                self.retire(strand, now);
                Ok(())
            }
            StrandState::Blocked => {
                self.retire(strand, now);
                Ok(())
            }
        }
    }

    /// Removes an exited strand from the table, returning its accounting (its
    /// mound's totals keep it).
    pub fn reap(&mut self, strand: StrandId) -> Result<Account, SchedError> {
        let e = self
            .strands
            .get(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        if e.state != StrandState::Exited {
            return Err(SchedError::NotExited(strand));
        }
        let e = self
            .strands
            .remove(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        Ok(*e.acct)
    }

    /// Changes `strand`'s parameters; a queued strand is requeued at once
    /// (keeping its wait), a running one takes them at its next stop.
    pub fn set_params(
        &mut self,
        strand: StrandId,
        params: SchedParams,
        now: Nanos,
    ) -> Result<(), SchedError> {
        let e = self
            .strands
            .get_mut(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        if e.state == StrandState::Exited {
            return Err(SchedError::Exited(strand));
        }
        let queued = e.state == StrandState::Runnable;
        let since = e.runnable_since;
        if queued {
            self.make_unrunnable(strand);
        }
        if let Some(e) = self.strands.get_mut(&strand) {
            e.params = params;
        }
        if queued {
            self.make_runnable(strand, since, now);
        }
        Ok(())
    }

    /// Chooses what runs next on a CPU at `now`, or `None` to idle. The strand
    /// is running until [`Scheduler::stop`]. Also a watchdog check point.
    pub fn pick_next(&mut self, now: Nanos) -> Option<Pick> {
        self.watchdog_check(now);
        // Each iteration removes one entity from the policy, so this ends; a
        // policy that returns something not runnable (a buggy extension) is skipped.
        for _ in 0..=self.policy.len() {
            let pick = self.policy.pick_next(now)?;
            let entity = pick.strand;
            if self.watchdog.not_runnable(entity).is_none() {
                continue;
            }
            let (strand, quantum) = if entity.0 >= GROUP_ID_BASE {
                let g = (entity.0 - GROUP_ID_BASE) as usize;
                let Some(group) = self.groups.get_mut(g) else {
                    continue;
                };
                match group.local.pick_next(now) {
                    Some(local)
                        if self
                            .strands
                            .get(&local.strand)
                            .is_some_and(|e| e.state == StrandState::Runnable) =>
                    {
                        group.state = GroupState::Running;
                        group.running = Some(local.strand);
                        (local.strand, pick.quantum.min(local.quantum).max(1))
                    }
                    // Empty, or a buggy local scheduler: the group idles.
                    _ => {
                        group.state = GroupState::Idle;
                        continue;
                    }
                }
            } else {
                (entity, pick.quantum.max(1))
            };
            let Some(e) = self.strands.get_mut(&strand) else {
                continue;
            };
            if e.state != StrandState::Runnable {
                continue;
            }
            e.state = StrandState::Running;
            let waited = now.saturating_sub(e.runnable_since);
            let latency = e.woke_at.take().map(|w| now.saturating_sub(w));
            e.acct.dispatched(waited, latency);
            let mound = e.mound;
            if let Some(m) = self.mounds.get_mut(&mound) {
                m.dispatched(waited, latency);
            }
            self.running += 1;
            return Some(Pick { strand, quantum });
        }
        None
    }

    /// Whether `running` should be preempted now because something more
    /// urgent is runnable (ask after an unblock, or on a timer tick).
    pub fn should_preempt(&self, running: StrandId, now: Nanos) -> bool {
        let Some(e) = self.strands.get(&running) else {
            return false;
        };
        if e.state != StrandState::Running {
            return false;
        }
        match e.group {
            Some(g) => {
                let group = &self.groups[g];
                self.policy.should_preempt(group.entity, &group.params, now)
            }
            None => self.policy.should_preempt(running, &e.params, now),
        }
    }

    /// A running strand stopped at `now` after running `ran` ns: charges it
    /// and requeues, blocks or retires it. Also a watchdog check point.
    pub fn stop(
        &mut self,
        strand: StrandId,
        ran: Nanos,
        now: Nanos,
        how: Stop,
    ) -> Result<(), SchedError> {
        let e = self
            .strands
            .get_mut(&strand)
            .ok_or(SchedError::UnknownStrand(strand))?;
        if e.state != StrandState::Running {
            return Err(SchedError::NotRunning(strand));
        }
        self.running -= 1;
        e.acct.cpu_ns += ran;
        let (mound, params, group) = (e.mound, e.params, e.group);
        let outcome = match (e.pending, how) {
            (Pending::Exit, _) | (_, Stop::Exited) => StrandState::Exited,
            (Pending::Block, _) | (_, Stop::Blocked) => StrandState::Blocked,
            (Pending::None, Stop::Runnable) => StrandState::Runnable,
        };
        e.pending = Pending::None;
        if let Some(m) = self.mounds.get_mut(&mound) {
            m.cpu_ns += ran;
        }
        match group {
            Some(g) => {
                let group = &mut self.groups[g];
                group.local.charge(strand, &params, ran, now);
                self.policy.charge(group.entity, &group.params, ran, now);
                group.state = GroupState::Idle;
                group.running = None;
            }
            None => self.policy.charge(strand, &params, ran, now),
        }
        match outcome {
            StrandState::Runnable => {
                self.set_state(strand, StrandState::Runnable);
                self.make_runnable(strand, now, now);
            }
            StrandState::Blocked => {
                self.finish_job(strand, now);
                self.set_state(strand, StrandState::Blocked);
                self.requeue_idle_group(group, now);
            }
            _ => {
                self.retire(strand, now);
                self.requeue_idle_group(group, now);
            }
        }
        self.watchdog_check(now);
        Ok(())
    }

    /// Replaces the global policy by the one called `policy` (built with the
    /// configured parameters). The runnable set moves over in the old policy's
    /// order; blocked strands stay blocked; running strands join the new
    /// policy when they stop. Recorded in the swap history.
    pub fn swap(
        &mut self,
        cap: &SwapSchedulerCap,
        policy: &str,
        who: &str,
        why: &str,
        now: Nanos,
    ) -> Result<(), SchedError> {
        self.check_cap(cap)?;
        let new = policy_by_name(policy, &self.config.params)?;
        self.install(new, policy == DEFAULT_POLICY, who, why, now);
        Ok(())
    }

    /// Like [`Scheduler::swap`] with a policy object the caller built (an
    /// extension's own policy). The watchdog guards it like any non-default policy.
    pub fn swap_policy(
        &mut self,
        cap: &SwapSchedulerCap,
        policy: Box<dyn GlobalScheduler>,
        who: &str,
        why: &str,
        now: Nanos,
    ) -> Result<(), SchedError> {
        self.check_cap(cap)?;
        self.install(policy, false, who, why, now);
        Ok(())
    }

    fn check_cap(&self, cap: &SwapSchedulerCap) -> Result<(), SchedError> {
        if cap.kernel() != self.kernel {
            return Err(SchedError::ForeignCapability {
                cap: cap.kernel(),
                ours: self.kernel,
            });
        }
        Ok(())
    }

    fn install(
        &mut self,
        mut new: Box<dyn GlobalScheduler>,
        is_default: bool,
        who: &str,
        why: &str,
        now: Nanos,
    ) {
        let drained = self.policy.drain();
        // The runtime knows exactly which entities are runnable: take the old
        // policy's order for those, then any it lost, oldest first; drop
        // anything it returned twice or invented. Enqueued as they come, with
        // no table in between: a swap's cost is mostly fresh memory.
        let mut moved = IdSet::new();
        let mut count = 0;
        for id in drained {
            if let Some(params) = self.queued_entity_params(id) {
                if moved.insert(id) {
                    new.enqueue(id, &params, now);
                    count += 1;
                }
            }
        }
        if count != self.watchdog.len() {
            let lost: Vec<StrandId> = self.watchdog.waiting().map(|(_, id)| id).collect();
            for id in lost {
                if let Some(params) = self.queued_entity_params(id) {
                    if moved.insert(id) {
                        new.enqueue(id, &params, now);
                        count += 1;
                    }
                }
            }
        }
        let record = SwapRecord {
            at: now,
            from: self.policy.name().to_string(),
            to: new.name().to_string(),
            who: who.to_string(),
            why: why.to_string(),
            moved: count,
        };
        self.policy = new;
        self.policy_is_default = is_default;
        self.swaps_total += 1;
        self.swaps.push(record);
        if self.swaps.len() > self.config.swap_history.max(1) {
            self.swaps.remove(0);
        }
    }

    fn watchdog_check(&mut self, now: Nanos) {
        if self.policy_is_default {
            return;
        }
        let Some((strand, waited)) = self.watchdog.stalled(now) else {
            return;
        };
        let bound = self.watchdog.bound();
        let policy = self.policy.name().to_string();
        let why = format!("{strand} runnable for {waited} ns under {policy} (bound {bound} ns)");
        self.watchdog.fired(WatchdogFiring {
            at: now,
            policy,
            strand,
            waited,
            bound,
        });
        match policy_by_name(DEFAULT_POLICY, &self.config.params) {
            Ok(p) => self.install(p, true, "watchdog", &why, now),
            // The configured parameters are invalid for the default: use its defaults.
            Err(_) => {
                let p = policy_by_name(DEFAULT_POLICY, &PolicyParams::default())
                    .expect("the default policy builds with default parameters");
                self.install(p, true, "watchdog", &why, now);
            }
        }
    }

    /// The parameters of `entity` if it belongs in the global policy's
    /// runnable set: a runnable strand scheduled globally, or a queued group.
    fn queued_entity_params(&self, entity: StrandId) -> Option<SchedParams> {
        if entity.0 >= GROUP_ID_BASE {
            self.groups
                .get((entity.0 - GROUP_ID_BASE) as usize)
                .filter(|g| g.state == GroupState::Queued)
                .map(|g| g.params)
        } else {
            self.strands
                .get(&entity)
                .filter(|e| e.state == StrandState::Runnable && e.group.is_none())
                .map(|e| e.params)
        }
    }

    fn set_state(&mut self, strand: StrandId, state: StrandState) {
        if let Some(e) = self.strands.get_mut(&strand) {
            e.state = state;
        }
    }

    /// Marks `strand` runnable (waiting since `since`) and queues it in its
    /// group or in the policy.
    fn make_runnable(&mut self, strand: StrandId, since: Nanos, now: Nanos) {
        let Some(e) = self.strands.get_mut(&strand) else {
            return;
        };
        e.state = StrandState::Runnable;
        e.runnable_since = since;
        let params = e.params;
        match e.group {
            Some(g) => {
                self.groups[g].local.enqueue(strand, &params, now);
                self.requeue_idle_group(Some(g), now);
            }
            None => {
                self.policy.enqueue(strand, &params, now);
                self.watchdog.runnable(strand, since);
            }
        }
    }

    /// Queues an idle group entity in the policy if it has runnable strands.
    fn requeue_idle_group(&mut self, group: Option<usize>, now: Nanos) {
        let Some(g) = group else { return };
        let group = &mut self.groups[g];
        if group.state == GroupState::Idle && !group.local.is_empty() {
            group.state = GroupState::Queued;
            self.policy.enqueue(group.entity, &group.params, now);
            self.watchdog.runnable(group.entity, now);
        }
    }

    /// Takes a runnable `strand` out of its queue.
    fn make_unrunnable(&mut self, strand: StrandId) {
        let Some(e) = self.strands.get(&strand) else {
            return;
        };
        match e.group {
            Some(g) => {
                let group = &mut self.groups[g];
                group.local.remove(strand);
                if group.local.is_empty() && group.state == GroupState::Queued {
                    group.state = GroupState::Idle;
                    self.policy.remove(group.entity);
                    self.watchdog.not_runnable(group.entity);
                }
            }
            None => {
                self.policy.remove(strand);
                self.watchdog.not_runnable(strand);
            }
        }
    }

    /// Ends a periodic strand's current job at `now`, counting a miss if late.
    fn finish_job(&mut self, strand: StrandId, now: Nanos) {
        let Some(e) = self.strands.get_mut(&strand) else {
            return;
        };
        let (Some(release), Some(r)) = (e.job_release.take(), e.params.reservation) else {
            return;
        };
        let missed = now > release.saturating_add(r.deadline);
        e.acct.jobs += 1;
        e.acct.deadline_misses += u64::from(missed);
        if let Some(m) = self.mounds.get_mut(&e.mound) {
            m.jobs += 1;
            m.deadline_misses += u64::from(missed);
        }
    }

    /// Marks a strand (not queued, not running) exited and drops policy state.
    fn retire(&mut self, strand: StrandId, now: Nanos) {
        self.finish_job(strand, now);
        let Some(e) = self.strands.get_mut(&strand) else {
            return;
        };
        e.state = StrandState::Exited;
        match e.group {
            Some(g) => self.groups[g].local.forget(strand),
            None => self.policy.forget(strand),
        }
    }
}
