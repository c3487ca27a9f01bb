//! The vCPU scheduling loop: one per virtual CPU.
//!
//! Each turn: the global scheduler picks a strand → `Resume` → the CPU runs
//! the strand's registers in its mound's address space for the strand's
//! quantum → the trap goes to the strand's mound ([`TrapHandler`], chosen by
//! mound id — the run loop's equivalent of an indexed guard) → the strand is
//! checkpointed and requeued, blocked, or retired. Machine time advances with
//! instructions retired, so the same programs with the same quantum replay the
//! same interleaving.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use spin_kernel::event::Handler;
use spin_kernel::mem::AddressSpace;
use spin_kernel::strand::StrandEvent;
use spin_kernel::{Cap, Cpu, Kernel, Machine, MoundId, Nanos, SchedParams, StrandId, Trap};
use spin_scheduler::{Scheduler, Stop};

/// What a mound decided about a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapOutcome {
    /// Keep the strand runnable (it continues at its next turn).
    Continue,
    /// The strand waits for an event; someone will unblock it.
    Block,
    /// The strand is finished, with this status.
    Exit(i32),
}

/// A mound's handler for its strands' traps (system calls, faults, ...).
pub trait TrapHandler<R>: Send {
    /// Handles `trap` taken by `strand` with registers `regs` in `space`.
    fn handle(
        &mut self,
        strand: StrandId,
        regs: &mut R,
        trap: Trap,
        space: &Cap<AddressSpace>,
    ) -> TrapOutcome;
}

/// One guest thread as the loop keeps it (its thread package's saved state).
struct Guest<R> {
    mound: MoundId,
    regs: R,
    space: Cap<AddressSpace>,
}

/// A record of one turn, for replay checks and telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
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
}

/// The scheduling loop of one virtual CPU.
pub struct RunLoop<M: Machine> {
    kernel: Arc<Kernel>,
    cpu: M::Cpu,
    ns_per_unit: u64,
    scheduler: Arc<Mutex<Scheduler>>,
    guests: BTreeMap<StrandId, Guest<<M::Cpu as Cpu>::Regs>>,
    handlers: BTreeMap<MoundId, Box<dyn TrapHandler<<M::Cpu as Cpu>::Regs>>>,
    exits: BTreeMap<StrandId, i32>,
    now: Nanos,
    trace: Vec<Turn>,
}

impl<M: Machine> RunLoop<M> {
    /// A loop for CPU 0 of `machine`, with `scheduler` installed as the
    /// primary handler of the kernel's `Block`/`Unblock` events.
    pub fn new(
        kernel: Arc<Kernel>,
        machine: &M,
        scheduler: Scheduler,
    ) -> Result<RunLoop<M>, spin_kernel::machine::MachineError> {
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
        Ok(RunLoop {
            kernel,
            cpu: machine.create_cpu(0)?,
            ns_per_unit: machine.ns_per_unit(),
            scheduler,
            guests: BTreeMap::new(),
            handlers: BTreeMap::new(),
            exits: BTreeMap::new(),
            now: 0,
            trace: Vec::new(),
        })
    }

    /// The scheduler (lock it briefly; the loop locks it at every turn).
    pub fn scheduler(&self) -> &Arc<Mutex<Scheduler>> {
        &self.scheduler
    }

    /// Machine time so far, ns.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Every turn taken so far.
    pub fn trace(&self) -> &[Turn] {
        &self.trace
    }

    /// Exit status of finished strands.
    pub fn exits(&self) -> &BTreeMap<StrandId, i32> {
        &self.exits
    }

    /// Registers the trap handler for `mound`'s strands.
    pub fn add_mound(
        &mut self,
        mound: MoundId,
        handler: Box<dyn TrapHandler<<M::Cpu as Cpu>::Regs>>,
    ) {
        self.handlers.insert(mound, handler);
    }

    /// Creates a runnable strand for `mound` starting from `regs` in `space`.
    pub fn spawn(
        &mut self,
        name: &str,
        mound: MoundId,
        params: SchedParams,
        regs: <M::Cpu as Cpu>::Regs,
        space: Cap<AddressSpace>,
    ) -> Result<StrandId, RunError> {
        let id = self.kernel.strands.create(name, mound, params);
        lock(&self.scheduler).add_strand(id, name, mound, params)?;
        self.guests.insert(id, Guest { mound, regs, space });
        self.kernel.strands.unblock(id, self.now);
        Ok(id)
    }

    /// Takes one turn. Returns `false` when no strand is runnable.
    pub fn step(&mut self) -> bool {
        let Some(pick) = lock(&self.scheduler).pick_next(self.now) else {
            return false;
        };
        let id = pick.strand;
        self.kernel.strands.resume(id, self.now);
        let Some(guest) = self.guests.get_mut(&id) else {
            // Not ours (a strand some other loop owns): give the turn back.
            let _ = lock(&self.scheduler).stop(id, 0, self.now, Stop::Runnable);
            return true;
        };
        let budget = (pick.quantum / self.ns_per_unit).max(1);
        let before = self.cpu.retired();
        let trap = self.cpu.run(&mut guest.regs, &*guest.space, budget);
        let retired = self.cpu.retired() - before;
        let ran = retired * self.ns_per_unit;
        self.now += ran;
        self.trace.push(Turn {
            strand: id,
            retired,
            trap,
        });
        let outcome = match trap {
            Trap::BudgetExpired => TrapOutcome::Continue,
            _ => match self.handlers.get_mut(&guest.mound) {
                Some(h) => h.handle(id, &mut guest.regs, trap, &guest.space),
                None => TrapOutcome::Exit(-1),
            },
        };
        let how = match outcome {
            TrapOutcome::Continue => {
                self.kernel.strands.checkpoint(id, self.now);
                Stop::Runnable
            }
            TrapOutcome::Block => {
                self.kernel.strands.block(id, self.now);
                Stop::Blocked
            }
            TrapOutcome::Exit(code) => {
                self.kernel.strands.exit(id, self.now);
                self.exits.insert(id, code);
                self.guests.remove(&id);
                Stop::Exited
            }
        };
        let _ = lock(&self.scheduler).stop(id, ran, self.now, how);
        true
    }

    /// Runs until no strand is runnable, calling `between` after every turn.
    pub fn run(&mut self, mut between: impl FnMut(&mut Self)) {
        while self.step() {
            between(self);
        }
    }
}

/// Locks the scheduler; a panic inside it poisons nothing we cannot use.
pub fn lock(s: &Mutex<Scheduler>) -> MutexGuard<'_, Scheduler> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}
