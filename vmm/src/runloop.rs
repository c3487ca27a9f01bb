//! The scheduling loop: one per virtual CPU, all sharing one [`RunLoop`].
//!
//! Each turn on a CPU: drain wake-ups → fire due timers → the global
//! scheduler picks a strand → `Resume` (the strand's mound may deliver a
//! signal or say the strand is gone) → the CPU runs the strand's registers in
//! its address space for the strand's quantum → the trap goes to the strand's
//! mound (chosen by mound id — the loop's equivalent of an indexed guard) →
//! the strand is checkpointed and requeued, blocked, or retired.
//!
//! Machine time is instructions retired (times the machine's ns per unit),
//! summed over CPUs; when every strand waits for a timer the loop jumps time
//! to the earliest deadline. With one CPU the same programs, quantum and seed
//! replay the same interleaving.
//!
//! Lock order (never taken the other way round): a mound's lock → the
//! scheduler → the parked-guest table. The loop holds a mound's lock for the
//! whole callback *and* while it records the strand's resulting state, so a
//! wake-up from another CPU cannot be lost between "decided to block" and
//! "blocked". No lock is held while guest code runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use spin_kernel::event::Handler;
use spin_kernel::machine::{FastTraps, SyscallFrame};
use spin_kernel::mem::AddressSpace;
use spin_kernel::mound::{GuestMound, Resume, SpawnError, StrandFastPath, StrandHost, TrapOutcome};
use spin_kernel::strand::StrandEvent;
use spin_kernel::{Access, Cap, Cpu, Kernel, Machine, MoundId, Nanos, SchedParams, StrandId, Trap};
use spin_scheduler::{Scheduler, Stop};

type Regs<M> = <<M as Machine>::Cpu as Cpu>::Regs;
type SharedMound<R> = Arc<Mutex<Box<dyn GuestMound<R>>>>;
/// A mound's slot with its lock held.
type Held<'a, R> = (
    &'a Arc<MoundSlot<R>>,
    MutexGuard<'a, Box<dyn GuestMound<R>>>,
);

/// One guest thread while it is not on a CPU (its thread package's saved state).
struct Guest<R> {
    mound: MoundId,
    regs: R,
    space: Cap<AddressSpace>,
}

/// A record of one turn, for replay checks and telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    /// The CPU it ran on.
    pub cpu: usize,
    /// The strand that ran.
    pub strand: StrandId,
    /// Instructions it retired.
    pub retired: u64,
    /// The trap that ended the turn.
    pub trap: Trap,
}

/// Errors from the loop's setup calls.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scheduler refused a call.
    #[error(transparent)]
    Sched(#[from] spin_scheduler::SchedError),
    /// A CPU could not be created.
    #[error(transparent)]
    Machine(#[from] spin_kernel::machine::MachineError),
    /// No mound with that id was added.
    #[error("no mound {0:?} in this loop")]
    NoMound(MoundId),
}

struct MoundSlot<R> {
    mound: SharedMound<R>,
    /// Earliest timer of the mound (`u64::MAX`: none), refreshed after every callback.
    deadline: AtomicU64,
}

/// Hands wake-ups to the loop from any thread (device threads, file-system
/// notifiers). Cheap to clone.
#[derive(Clone)]
pub struct Waker {
    mound: MoundId,
    tx: Sender<(MoundId, u64)>,
}

impl Waker {
    /// Object `key` of this waker's mound may have become ready.
    pub fn wake(&self, key: u64) {
        // The loop owns the receiver for as long as it runs; after that there
        // is nobody left to wake.
        let _ = self.tx.send((self.mound, key));
    }
}

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waker").field("mound", &self.mound).finish()
    }
}

/// State shared by every CPU of the loop.
struct Shared<R> {
    kernel: Arc<Kernel>,
    scheduler: Arc<Mutex<Scheduler>>,
    parked: Mutex<HashMap<StrandId, Guest<R>>>,
    mounds: RwLock<BTreeMap<MoundId, Arc<MoundSlot<R>>>>,
    now: AtomicU64,
    turns: AtomicU64,
    tracing: AtomicBool,
    trace: Mutex<Vec<Turn>>,
    exits: Mutex<BTreeMap<StrandId, i32>>,
    wake_tx: Sender<(MoundId, u64)>,
    wake_rx: Receiver<(MoundId, u64)>,
    idle: (Mutex<()>, Condvar),
    done: AtomicBool,
    deadlock_reported: AtomicBool,
    /// Units a trap the mound handles is charged ([`Machine::trap_cost`]).
    trap_cost: u64,
    cpus_busy: AtomicUsize,
}

/// The callback's view of the loop ([`StrandHost`]).
struct HostCtx<'a, R> {
    shared: &'a Shared<R>,
}

impl<R: spin_kernel::RegisterFile> StrandHost<R> for HostCtx<'_, R> {
    fn now(&self) -> Nanos {
        self.shared.now.load(Ordering::Relaxed)
    }

    fn spawn(
        &mut self,
        name: &str,
        mound: MoundId,
        params: SchedParams,
        regs: R,
        space: Cap<AddressSpace>,
    ) -> Result<StrandId, SpawnError> {
        self.shared
            .spawn(name, mound, params, regs, space)
            .map_err(|e| SpawnError(e.to_string()))
    }

    fn unblock(&mut self, strand: StrandId) {
        let now = self.now();
        self.shared.kernel.strands.unblock(strand, now);
    }
}

impl<R: spin_kernel::RegisterFile> Shared<R> {
    fn spawn(
        &self,
        name: &str,
        mound: MoundId,
        params: SchedParams,
        regs: R,
        space: Cap<AddressSpace>,
    ) -> Result<StrandId, RunError> {
        let id = self.kernel.strands.create(name, mound, params);
        lock(&self.scheduler).add_strand(id, name, mound, params)?;
        lock(&self.parked).insert(id, Guest { mound, regs, space });
        self.kernel
            .strands
            .unblock(id, self.now.load(Ordering::Relaxed));
        self.idle.1.notify_all();
        Ok(id)
    }

    fn slot(&self, mound: MoundId) -> Option<Arc<MoundSlot<R>>> {
        self.mounds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&mound)
            .cloned()
    }

    fn slots(&self) -> Vec<Arc<MoundSlot<R>>> {
        self.mounds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Runs `f` on `slot`'s mound under its lock, then refreshes its deadline.
    fn with_mound<T>(
        &self,
        slot: &MoundSlot<R>,
        f: impl FnOnce(&mut dyn GuestMound<R>, &mut HostCtx<'_, R>) -> T,
    ) -> T {
        let mut m = slot.mound.lock().unwrap_or_else(|e| e.into_inner());
        let mut ctx = HostCtx { shared: self };
        let out = f(&mut **m, &mut ctx);
        slot.deadline
            .store(m.next_deadline().unwrap_or(u64::MAX), Ordering::Relaxed);
        out
    }

    /// Delivers queued wake-ups to their mounds.
    fn drain_wakeups(&self) {
        while let Ok((mound, key)) = self.wake_rx.try_recv() {
            self.deliver_wakeup(mound, key);
        }
    }

    fn deliver_wakeup(&self, mound: MoundId, key: u64) {
        if let Some(slot) = self.slot(mound) {
            self.with_mound(&slot, |m, ctx| m.wake(key, ctx));
        }
    }

    /// Fires the timers that are due at the current machine time.
    fn fire_timers(&self) {
        let now = self.now.load(Ordering::Relaxed);
        for slot in self.slots() {
            if slot.deadline.load(Ordering::Relaxed) <= now {
                self.with_mound(&slot, |m, ctx| m.advance(now, ctx));
            }
        }
    }

    /// Checked after every system call: reads the per-mound atomics under
    /// the registry's read lock, allocating nothing.
    fn earliest_deadline(&self) -> Option<Nanos> {
        self.mounds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|s| s.deadline.load(Ordering::Relaxed))
            .min()
            .filter(|&d| d != u64::MAX)
    }
}

/// Outcome of one attempt to take a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A strand ran (or was dealt with).
    Ran,
    /// Nothing to run right now; try again.
    Idle,
    /// Nothing will ever run again.
    Done,
}

/// The scheduling loop of a machine: its CPUs, the scheduler and the mounds.
pub struct RunLoop<M: Machine> {
    shared: Arc<Shared<Regs<M>>>,
    machine: Arc<M>,
    cpu0: Mutex<Option<M::Cpu>>,
    ns_per_unit: u64,
}

impl<M: Machine + 'static> RunLoop<M> {
    /// A loop for `machine`, with `scheduler` installed as the primary
    /// handler of the kernel's `Block`/`Unblock` events.
    pub fn new(
        kernel: Arc<Kernel>,
        machine: Arc<M>,
        scheduler: Scheduler,
    ) -> Result<RunLoop<M>, RunError> {
        let scheduler = Arc::new(Mutex::new(scheduler));
        let (block, unblock) = kernel.strands.scheduler_primaries();
        let s = scheduler.clone();
        block
            .set_primary(Handler::new(move |e: &StrandEvent| {
                // An unknown strand is the caller's bug, not the guest's; ignore it.
                let _ = lock(&s).block(e.strand, e.now);
            }))
            .expect("the primary handler has no guard on an undeclared key");
        let s = scheduler.clone();
        unblock
            .set_primary(Handler::new(move |e: &StrandEvent| {
                let _ = lock(&s).unblock(e.strand, e.now);
            }))
            .expect("the primary handler has no guard on an undeclared key");
        let (wake_tx, wake_rx) = crossbeam_channel::unbounded();
        let cpu0 = machine.create_cpu(0)?;
        Ok(RunLoop {
            shared: Arc::new(Shared {
                kernel,
                scheduler,
                parked: Mutex::new(HashMap::new()),
                mounds: RwLock::new(BTreeMap::new()),
                now: AtomicU64::new(0),
                turns: AtomicU64::new(0),
                tracing: AtomicBool::new(false),
                trace: Mutex::new(Vec::new()),
                exits: Mutex::new(BTreeMap::new()),
                wake_tx,
                wake_rx,
                idle: (Mutex::new(()), Condvar::new()),
                done: AtomicBool::new(false),
                deadlock_reported: AtomicBool::new(false),
                cpus_busy: AtomicUsize::new(0),
                trap_cost: machine.trap_cost(),
            }),
            ns_per_unit: machine.ns_per_unit().max(1),
            machine,
            cpu0: Mutex::new(Some(cpu0)),
        })
    }

    /// The kernel this loop runs.
    pub fn kernel(&self) -> &Arc<Kernel> {
        &self.shared.kernel
    }

    /// The scheduler (lock it briefly; the loop locks it at every turn).
    pub fn scheduler(&self) -> &Arc<Mutex<Scheduler>> {
        &self.shared.scheduler
    }

    /// Machine time so far, ns.
    pub fn now(&self) -> Nanos {
        self.shared.now.load(Ordering::Relaxed)
    }

    /// Turns taken so far.
    pub fn turns(&self) -> u64 {
        self.shared.turns.load(Ordering::Relaxed)
    }

    /// Records every turn from now on (see [`RunLoop::trace`]).
    pub fn record_trace(&self, on: bool) {
        self.shared.tracing.store(on, Ordering::Relaxed);
    }

    /// The turns recorded while tracing was on.
    pub fn trace(&self) -> Vec<Turn> {
        lock(&self.shared.trace).clone()
    }

    /// Exit values of finished strands.
    pub fn exits(&self) -> BTreeMap<StrandId, i32> {
        lock(&self.shared.exits).clone()
    }

    /// A handle that wakes `mound`'s waiters from any thread.
    pub fn waker(&self, mound: MoundId) -> Waker {
        Waker {
            mound,
            tx: self.shared.wake_tx.clone(),
        }
    }

    /// Adds a mound; its strands' traps go to it. Returns the shared handle
    /// (lock it briefly to read the mound's state).
    pub fn add_mound(&self, mound: Box<dyn GuestMound<Regs<M>>>) -> SharedMound<Regs<M>> {
        let id = mound.id();
        let deadline = mound.next_deadline().unwrap_or(u64::MAX);
        let shared = Arc::new(Mutex::new(mound));
        self.shared
            .mounds
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                Arc::new(MoundSlot {
                    mound: shared.clone(),
                    deadline: AtomicU64::new(deadline),
                }),
            );
        shared
    }

    /// Runs `f` on the mound `id` with a [`StrandHost`] (to create its first
    /// strands, for example).
    pub fn with_mound<T>(
        &self,
        id: MoundId,
        f: impl FnOnce(&mut dyn GuestMound<Regs<M>>, &mut dyn StrandHost<Regs<M>>) -> T,
    ) -> Result<T, RunError> {
        let slot = self.shared.slot(id).ok_or(RunError::NoMound(id))?;
        Ok(self
            .shared
            .with_mound(&slot, |m, ctx| f(m, ctx as &mut dyn StrandHost<Regs<M>>)))
    }

    /// Creates a runnable strand for `mound` starting from `regs` in `space`.
    pub fn spawn(
        &self,
        name: &str,
        mound: MoundId,
        params: SchedParams,
        regs: Regs<M>,
        space: Cap<AddressSpace>,
    ) -> Result<StrandId, RunError> {
        self.shared.spawn(name, mound, params, regs, space)
    }

    /// Runs on the calling thread (one CPU) until no strand can run again,
    /// calling `between` after every turn.
    pub fn run(&self, mut between: impl FnMut(&Self)) {
        let Some(mut cpu) = lock(&self.cpu0).take() else {
            return;
        };
        loop {
            match step(&self.shared, &mut cpu, 0, self.ns_per_unit) {
                Step::Ran => between(self),
                Step::Idle => {}
                Step::Done => break,
            }
        }
        *lock(&self.cpu0) = Some(cpu);
    }

    /// Runs on `cpus` host threads (one per virtual CPU) until no strand can
    /// run again; `between` is called after every turn, on whichever CPU's
    /// thread took it.
    pub fn run_smp(&self, cpus: usize, between: impl FnMut(&Self) + Send) -> Result<(), RunError>
    where
        M::Cpu: 'static,
    {
        let mut list = Vec::with_capacity(cpus.max(1));
        if let Some(c) = lock(&self.cpu0).take() {
            list.push(c);
        }
        for i in list.len()..cpus.max(1) {
            list.push(self.machine.create_cpu(i)?);
        }
        let between = Mutex::new(between);
        let this = self;
        std::thread::scope(|scope| {
            for (i, mut cpu) in list.into_iter().enumerate() {
                let between = &between;
                let ns = this.ns_per_unit;
                std::thread::Builder::new()
                    .name(format!("vcpu{i}"))
                    .spawn_scoped(scope, move || loop {
                        match step(&this.shared, &mut cpu, i, ns) {
                            Step::Ran => (lock(between))(this),
                            Step::Idle => {}
                            Step::Done => break,
                        }
                    })
                    .expect("the host can start a vCPU thread");
            }
        });
        *lock(&self.cpu0) = Some(self.machine.create_cpu(0)?);
        Ok(())
    }
}

/// Takes one turn on `cpu`.
fn step<C: Cpu>(shared: &Shared<C::Regs>, cpu: &mut C, index: usize, ns_per_unit: u64) -> Step {
    if shared.done.load(Ordering::Relaxed) {
        return Step::Done;
    }
    if !shared.wake_rx.is_empty() {
        shared.drain_wakeups();
    }
    if shared
        .earliest_deadline()
        .is_some_and(|d| d <= shared.now.load(Ordering::Relaxed))
    {
        shared.fire_timers();
    }
    let now = shared.now.load(Ordering::Relaxed);
    let pick = {
        let mut s = lock(&shared.scheduler);
        let p = s.pick_next(now);
        if p.is_some() {
            shared.cpus_busy.fetch_add(1, Ordering::Relaxed);
        }
        p
    };
    let Some(pick) = pick else {
        return idle(shared);
    };
    let id = pick.strand;
    shared.kernel.strands.resume(id, now);
    let guest = lock(&shared.parked).remove(&id);
    let Some(mut guest) = guest else {
        // A strand nobody parked (created outside the loop): give the turn back.
        let _ = lock(&shared.scheduler).stop(id, 0, now, Stop::Runnable);
        shared.cpus_busy.fetch_sub(1, Ordering::Relaxed);
        return Step::Ran;
    };
    let Some(slot) = shared.slot(guest.mound) else {
        finish(shared, id, guest, 0, TrapOutcome::Exit(-1), None);
        return Step::Ran;
    };

    // Resume: the mound may deliver a signal, switch spaces, or end the strand.
    let mut mound = slot.mound.lock().unwrap_or_else(|e| e.into_inner());
    let verdict = mound.resume(
        id,
        &mut guest.regs,
        &mut guest.space,
        &mut HostCtx { shared },
    );
    match verdict {
        Resume::Run => {}
        Resume::Block => {
            finish(
                shared,
                id,
                guest,
                0,
                TrapOutcome::Block,
                Some((&slot, mound)),
            );
            return Step::Ran;
        }
        Resume::Exit(code) => {
            finish(
                shared,
                id,
                guest,
                0,
                TrapOutcome::Exit(code),
                Some((&slot, mound)),
            );
            return Step::Ran;
        }
    }
    slot.deadline
        .store(mound.next_deadline().unwrap_or(u64::MAX), Ordering::Relaxed);
    let mut fast = mound.fast_path(id);
    drop(mound);

    // Run until the quantum is used up. A trap the mound answers with
    // `Continue` (most system calls) keeps the strand on the CPU for the
    // rest of its quantum instead of going back through the scheduler; one
    // its fast path answers does not even leave the CPU's loop.
    let mut left = (pick.quantum / ns_per_unit).max(1);
    let mut ran: Nanos = 0;
    loop {
        let before = cpu.retired();
        let trap = match fast.as_deref() {
            Some(path) => {
                let mut traps = LoopFast {
                    path,
                    space: &guest.space,
                    shared,
                    ns_per_unit,
                    deadline: shared.earliest_deadline().unwrap_or(u64::MAX),
                };
                cpu.run_fast(&mut guest.regs, &*guest.space, left, &mut traps)
            }
            None => cpu.run(&mut guest.regs, &*guest.space, left),
        };
        let retired = cpu.retired() - before;
        left = left.saturating_sub(retired);
        let dt = retired * ns_per_unit;
        ran += dt;
        shared.now.fetch_add(dt, Ordering::Relaxed);
        if retired > 0 {
            shared.deadlock_reported.store(false, Ordering::Relaxed);
        }
        if shared.tracing.load(Ordering::Relaxed) {
            lock(&shared.trace).push(Turn {
                cpu: index,
                strand: id,
                retired,
                trap,
            });
        }
        if trap == Trap::BudgetExpired {
            shared.turns.fetch_add(1, Ordering::Relaxed);
            finish(shared, id, guest, ran, TrapOutcome::Continue, None);
            return Step::Ran;
        }
        let mut mound = slot.mound.lock().unwrap_or_else(|e| e.into_inner());
        let outcome = mound.trap(
            id,
            &mut guest.regs,
            &mut guest.space,
            trap,
            &mut HostCtx { shared },
        );
        // The kernel path's cost, in machine time, to the strand that trapped.
        if shared.trap_cost > 0 {
            left = left.saturating_sub(shared.trap_cost);
            let dt = shared.trap_cost * ns_per_unit;
            ran += dt;
            shared.now.fetch_add(dt, Ordering::Relaxed);
        }
        let timers_due = shared
            .earliest_deadline()
            .is_some_and(|d| d <= shared.now.load(Ordering::Relaxed));
        if outcome != TrapOutcome::Continue || left == 0 || timers_due || !shared.wake_rx.is_empty()
        {
            shared.turns.fetch_add(1, Ordering::Relaxed);
            finish(shared, id, guest, ran, outcome, Some((&slot, mound)));
            return Step::Ran;
        }
        // Same strand, next stretch: Resume again (a signal the call raised
        // is delivered now, before any further guest instruction).
        match mound.resume(
            id,
            &mut guest.regs,
            &mut guest.space,
            &mut HostCtx { shared },
        ) {
            Resume::Run => fast = mound.fast_path(id),
            Resume::Block => {
                shared.turns.fetch_add(1, Ordering::Relaxed);
                finish(
                    shared,
                    id,
                    guest,
                    ran,
                    TrapOutcome::Block,
                    Some((&slot, mound)),
                );
                return Step::Ran;
            }
            Resume::Exit(code) => {
                shared.turns.fetch_add(1, Ordering::Relaxed);
                finish(
                    shared,
                    id,
                    guest,
                    ran,
                    TrapOutcome::Exit(code),
                    Some((&slot, mound)),
                );
                return Step::Ran;
            }
        }
    }
}

/// A strand's fast path as the CPU sees it during one stretch: it declines
/// whenever the slow path would end the turn after the call (a timer due, a
/// wake-up queued), so answering in place never changes what happens next.
struct LoopFast<'a, R> {
    path: &'a dyn StrandFastPath,
    space: &'a Cap<AddressSpace>,
    shared: &'a Shared<R>,
    ns_per_unit: u64,
    /// The earliest mound timer when the stretch began (timers change only
    /// in callbacks, which this stretch does not make).
    deadline: Nanos,
}

impl<R> LoopFast<'_, R> {
    /// Whether the slow path would look at anything besides the call.
    #[inline]
    fn busy(&self, ran: u64) -> bool {
        let now = self.shared.now.load(Ordering::Relaxed) + ran * self.ns_per_unit;
        now >= self.deadline || !self.shared.wake_rx.is_empty()
    }
}

impl<R> FastTraps for LoopFast<'_, R> {
    fn syscall(&mut self, frame: &mut dyn SyscallFrame, ran: u64) -> bool {
        !self.busy(ran) && self.path.syscall(frame, self.space)
    }

    fn page_fault(&mut self, va: u64, access: Access, ran: u64) -> bool {
        !self.busy(ran) && self.path.page_fault(va, access, self.space)
    }
}

/// Records the end of a turn. With `held` (the mound's lock, still held since
/// the callback decided `outcome`) the kernel's strand state changes before
/// the lock is released, so no wake-up is lost.
fn finish<R: spin_kernel::RegisterFile>(
    shared: &Shared<R>,
    id: StrandId,
    guest: Guest<R>,
    ran: Nanos,
    outcome: TrapOutcome,
    held: Option<Held<'_, R>>,
) {
    let now = shared.now.load(Ordering::Relaxed);
    let strands = &shared.kernel.strands;
    match outcome {
        TrapOutcome::Continue => {
            strands.checkpoint(id, now);
            lock(&shared.parked).insert(id, guest);
        }
        TrapOutcome::Block => {
            // Announce the block while the mound's lock is held: a wake-up
            // from now on cancels it (the scheduler keeps it pending).
            strands.block(id, now);
            lock(&shared.parked).insert(id, guest);
        }
        TrapOutcome::Exit(code) => {
            strands.exit(id, now);
            lock(&shared.exits).insert(id, code);
            drop(guest);
        }
    }
    if let Some((slot, mound)) = held {
        slot.deadline
            .store(mound.next_deadline().unwrap_or(u64::MAX), Ordering::Relaxed);
        drop(mound);
    }
    let how = match outcome {
        TrapOutcome::Exit(_) => Stop::Exited,
        // The pending block (if no wake-up cancelled it) makes this a block.
        _ => Stop::Runnable,
    };
    {
        let mut s = lock(&shared.scheduler);
        let _ = s.stop(id, ran, now, how);
        if how == Stop::Exited {
            let _ = s.reap(id);
        }
    }
    if how == Stop::Exited {
        shared.kernel.strands.reap(id);
    }
    shared.cpus_busy.fetch_sub(1, Ordering::Relaxed);
    shared.idle.1.notify_all();
}

/// Nothing was runnable: wait for another CPU, jump to the next timer, wait
/// for the host, or finish.
fn idle<R: spin_kernel::RegisterFile>(shared: &Shared<R>) -> Step {
    if shared.cpus_busy.load(Ordering::Relaxed) > 0 {
        // Another CPU's turn may make something runnable.
        let guard = lock(&shared.idle.0);
        let _ = shared
            .idle
            .1
            .wait_timeout(guard, Duration::from_millis(2))
            .unwrap_or_else(|e| e.into_inner());
        return Step::Idle;
    }
    if !shared.wake_rx.is_empty() {
        shared.drain_wakeups();
        return Step::Idle;
    }
    let slots = shared.slots();
    let host_wait = slots.iter().any(|s| {
        s.mound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .waiting_on_host()
    });
    let deadline = shared.earliest_deadline();
    if !host_wait {
        if let Some(deadline) = deadline {
            // Everyone waits for a timer: machine time jumps to it.
            shared.now.fetch_max(deadline, Ordering::Relaxed);
            shared.fire_timers();
            return Step::Idle;
        }
    } else {
        // Someone waits for the outside world (console input, a packet):
        // machine time follows the host's clock while we wait, so a timer
        // (an `alarm`, a poll timeout) fires after the real time it names,
        // not at once.
        let now = shared.now.load(Ordering::Relaxed);
        let cap = Duration::from_millis(50);
        let wait = deadline.map_or(cap, |d| {
            Duration::from_nanos(d.saturating_sub(now)).min(cap)
        });
        let t0 = std::time::Instant::now();
        let woke = shared.wake_rx.recv_timeout(wait);
        let elapsed = t0.elapsed().as_nanos() as u64;
        let target = deadline.map_or(now + elapsed, |d| (now + elapsed).min(d));
        shared.now.fetch_max(target, Ordering::Relaxed);
        if let Ok((mound, key)) = woke {
            shared.deliver_wakeup(mound, key);
        }
        if deadline.is_some_and(|d| d <= shared.now.load(Ordering::Relaxed)) {
            shared.fire_timers();
        }
        return Step::Idle;
    }
    if lock(&shared.parked).is_empty() {
        shared.done.store(true, Ordering::Relaxed);
        shared.idle.1.notify_all();
        return Step::Done;
    }
    // Strands remain, all blocked, and nothing can wake them.
    if shared.deadlock_reported.swap(true, Ordering::Relaxed) {
        shared.done.store(true, Ordering::Relaxed);
        shared.idle.1.notify_all();
        return Step::Done;
    }
    for slot in slots {
        shared.with_mound(&slot, |m, ctx| m.deadlocked(ctx));
    }
    Step::Idle
}

/// Locks a mutex, taking over a poisoned one (a panicking extension must not
/// take the machine down with it).
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
