//! The interface between the kernel's scheduling loop and a mound's strand
//! package.
//!
//! A mound (an operating-system personality) owns its strands' state: which
//! process a strand belongs to, its signal mask, what it waits for. The
//! machine's scheduling loop owns only what the CPU needs while a strand runs:
//! its register file and its address-space capability. The loop calls into the
//! mound at the two points SPIN names:
//!
//! - **Resume** ([`GuestMound::resume`]) before the strand runs: the package
//!   may rewrite the registers (deliver a signal), switch address spaces, or
//!   say the strand is gone (killed while it waited).
//! - **Trap** ([`GuestMound::trap`]) when the CPU stops for anything but an
//!   expired budget: a system call, a fault, a PAL call. The answer says
//!   whether the strand continues, blocks or exits.
//!
//! During a callback the mound reaches the loop through [`StrandHost`]: it can
//! create strands (`fork`, `clone`), wake blocked ones, and read machine time.
//! The loop holds the mound's lock for the whole callback *and* while it moves
//! the strand's scheduler state afterwards, so a wake-up issued by another CPU
//! can never slip between "decided to block" and "blocked".

use std::sync::Arc;

use crate::cap::Cap;
use crate::machine::{Access, RegisterFile, SyscallFrame, Trap};
use crate::mem::AddressSpace;
use crate::strand::{MoundId, Nanos, SchedParams, StrandId};
use crate::telemetry::MoundTelemetry;

/// What a mound decided about a trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapOutcome {
    /// The strand stays runnable and continues at its next turn.
    Continue,
    /// The strand waits; the mound will wake it with [`StrandHost::unblock`].
    Block,
    /// The strand is finished (the value is informational: the mound keeps
    /// process exit statuses itself).
    Exit(i32),
}

/// What a mound decided at `Resume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run the strand.
    Run,
    /// Not yet: the strand waits again (e.g. a spurious wake-up).
    Block,
    /// The strand is gone (killed while it was not running).
    Exit(i32),
}

/// Why the loop could not create a strand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot create strand: {0}")]
pub struct SpawnError(pub String);

/// What the scheduling loop offers a mound during a callback.
pub trait StrandHost<R: RegisterFile> {
    /// Machine time now, ns.
    fn now(&self) -> Nanos;
    /// Creates a runnable strand of `mound` that starts from `regs` in `space`.
    fn spawn(
        &mut self,
        name: &str,
        mound: MoundId,
        params: SchedParams,
        regs: R,
        space: Cap<AddressSpace>,
    ) -> Result<StrandId, SpawnError>;
    /// Makes a blocked strand runnable (a no-op for one that is not blocked,
    /// and cancels a block the strand announced but has not yet taken).
    fn unblock(&mut self, strand: StrandId);
}

/// A strand's fast path: the traps its mound can answer without its lock,
/// from state the strand owns or that is safe to read concurrently (its
/// ids, an extension's own tables). The loop offers it every system call
/// and page fault while the strand is on a CPU, before [`GuestMound::trap`];
/// whatever it declines goes the slow way, unchanged.
///
/// It must answer exactly as [`GuestMound::trap`] would, and decline when
/// it cannot be sure (a signal waiting for the strand, for instance).
pub trait StrandFastPath: Send + Sync {
    /// Answers the system call in `frame`, made in `space`; `false` declines.
    fn syscall(&self, frame: &mut dyn SyscallFrame, space: &Cap<AddressSpace>) -> bool;
    /// Resolves a fault at `va` in `space`; `false` declines.
    fn page_fault(&self, _va: u64, _access: Access, _space: &Cap<AddressSpace>) -> bool {
        false
    }
}

/// A mound's strand package and trap handler, as the scheduling loop sees it.
pub trait GuestMound<R: RegisterFile>: Send {
    /// The mound's id (its strands carry it).
    fn id(&self) -> MoundId;

    /// Creates the mound's first strands (loads its first program). An error
    /// is one line for the operator (a bad program, a missing file).
    fn start(&mut self, _host: &mut dyn StrandHost<R>) -> Result<(), String> {
        Ok(())
    }

    /// The mound's result once its first program ended: the exit code, or
    /// 128 + N if a signal N killed it.
    fn exit_status(&self) -> Option<i32> {
        None
    }

    /// `Resume`: `strand` was picked and is about to run with `regs` in
    /// `space`; either may be rewritten.
    fn resume(
        &mut self,
        strand: StrandId,
        regs: &mut R,
        space: &mut Cap<AddressSpace>,
        host: &mut dyn StrandHost<R>,
    ) -> Resume;

    /// The CPU stopped `strand` with `trap` (never `BudgetExpired`).
    fn trap(
        &mut self,
        strand: StrandId,
        regs: &mut R,
        space: &mut Cap<AddressSpace>,
        trap: Trap,
        host: &mut dyn StrandHost<R>,
    ) -> TrapOutcome;

    /// The fast path of `strand` (see [`StrandFastPath`]), asked after every
    /// callback that leaves the strand running; `None`: every trap goes to
    /// [`GuestMound::trap`].
    fn fast_path(&mut self, _strand: StrandId) -> Option<Arc<dyn StrandFastPath>> {
        None
    }

    /// The earliest machine time at which a timer of this mound fires.
    fn next_deadline(&self) -> Option<Nanos> {
        None
    }

    /// Machine time reached `now`: fire the timers that are due.
    fn advance(&mut self, _now: Nanos, _host: &mut dyn StrandHost<R>) {}

    /// The readiness of object `key` may have changed (pipe data, host
    /// input, a released lock): wake whoever waits on it.
    fn wake(&mut self, _key: u64, _host: &mut dyn StrandHost<R>) {}

    /// True while some strand waits for the host (console input), so an idle
    /// machine should wait for a wake-up rather than give up.
    fn waiting_on_host(&self) -> bool {
        false
    }

    /// Every strand of the machine is blocked and nothing can wake them. The
    /// mound should end its blocked strands (like a kernel killing a
    /// deadlocked job: mark them killed and unblock them, so they exit at
    /// their next `Resume`) and report why.
    fn deadlocked(&mut self, _host: &mut dyn StrandHost<R>) {}

    /// The mound as the console shows it (cheap: called a few times a second
    /// under the mound's lock).
    fn telemetry(&self) -> MoundTelemetry {
        MoundTelemetry::new(self.id(), format!("mound {}", self.id().0), "guest")
    }

    /// The operator asked the mound to stop: end every strand (mark them
    /// killed and unblock the blocked ones, so they exit at their next
    /// `Resume`). The mound then reports itself stopped.
    fn stop(&mut self, _host: &mut dyn StrandHost<R>) {}
}
