//! Processes and threads: the UNIX mound's strand package state.
//!
//! Every guest thread is a kernel strand; the mound keeps, per thread, what a
//! UNIX kernel keeps in its task structure (signal mask, what it waits for,
//! its clear-child-tid word) and, per process, what the threads share (the
//! address space, descriptors, signal actions, children).

use std::sync::Arc;

use spin_fs::FdTable;
use spin_kernel::{Nanos, StrandId};
use spin_unix_mm::Vm;

use crate::signal::{Pending, SigAction, NSIG};

/// A process or thread id (Linux shares one number space for both).
pub type Pid = u32;

/// The first pid a mound hands out (not 1: init has special signal rules).
pub const FIRST_PID: Pid = 100;

/// An alternate signal stack (`sigaltstack`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AltStack {
    /// Base address.
    pub sp: u64,
    /// Size in bytes.
    pub size: u64,
    /// `SS_DISABLE` or 0.
    pub flags: u64,
}

/// Why a thread is blocked, so a signal knows whether it interrupts a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Inside a system call whose `callsys` will run again when woken.
    Syscall {
        /// The call's number (to decide restart against `SA_RESTART`).
        nr: u64,
        /// Whether `SA_RESTART` may restart it after a handler.
        restartable: bool,
        /// A signal interrupts it: deliver at the next Resume (EINTR or
        /// restart) instead of running the call again first.
        interrupted: bool,
    },
}

/// One guest thread.
#[derive(Debug)]
#[allow(dead_code)] // `tid` is kept for Debug output and telemetry.
pub struct Thread {
    /// Thread id.
    pub tid: Pid,
    /// Its process.
    pub pid: Pid,
    /// The kernel strand running it.
    pub strand: StrandId,
    /// Blocked signals (bit n-1 for signal n).
    pub mask: u64,
    /// Signals sent to this thread only, with their info.
    pub pending: Pending,
    /// Alternate signal stack.
    pub altstack: AltStack,
    /// `CLONE_CHILD_CLEARTID` / `set_tid_address` word.
    pub clear_child_tid: u64,
    /// Wait keys it is registered on.
    pub waiting: Vec<u64>,
    /// Timeout of the blocked call: (pc of the call, machine-time deadline).
    pub deadline: Option<(u64, Nanos)>,
    /// Set while blocked in a system call.
    pub blocked: Option<Blocked>,
    /// A `FUTEX_WAKE` chose this thread: its restarted wait returns 0.
    pub futex_woken: bool,
    /// Killed (exit_group, a fatal signal, exec): exits at its next Resume.
    pub killed: bool,
    /// Mask to restore when the handler run by `rt_sigsuspend` returns.
    pub saved_mask: Option<u64>,
    /// A sleep interrupted by a signal reports the time left here.
    pub sleep_rem: Option<u64>,
    /// Its fast path, once the loop asked for it.
    pub fast: Option<Arc<crate::mound::fast::ThreadFast>>,
}

impl Thread {
    /// A fresh thread of `pid`.
    pub fn new(tid: Pid, pid: Pid, strand: StrandId, mask: u64) -> Thread {
        Thread {
            tid,
            pid,
            strand,
            mask,
            pending: Pending::new(),
            altstack: AltStack {
                flags: crate::abi::alpha::sig::SS_DISABLE,
                ..AltStack::default()
            },
            clear_child_tid: 0,
            waiting: Vec::new(),
            deadline: None,
            blocked: None,
            futex_woken: false,
            killed: false,
            saved_mask: None,
            sleep_rem: None,
            fast: None,
        }
    }
}

/// How a process ended, as `wait4` encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `exit(code)`.
    Exited(u8),
    /// Killed by a signal.
    Signaled(u32),
}

impl ExitKind {
    /// The `wait4` status word.
    pub fn wait_status(self) -> u32 {
        match self {
            ExitKind::Exited(code) => u32::from(code) << 8,
            ExitKind::Signaled(sig) => sig & 0x7f,
        }
    }

    /// The host-style exit status (code, or 128 + signal).
    pub fn host_status(self) -> i32 {
        match self {
            ExitKind::Exited(code) => i32::from(code),
            ExitKind::Signaled(sig) => 128 + sig as i32,
        }
    }
}

/// One process.
pub struct Process {
    /// Process id.
    pub pid: Pid,
    /// Parent's pid (0: none, the mound's first process).
    pub ppid: Pid,
    /// Process group.
    pub pgid: Pid,
    /// Session.
    pub sid: Pid,
    /// Address space (shared with a `CLONE_VM` child).
    pub vm: Arc<Vm>,
    /// Descriptors.
    pub fds: FdTable,
    /// Working directory (absolute guest path).
    pub cwd: Vec<u8>,
    /// File-creation mask.
    pub umask: u32,
    /// Guest path of the running program (`/proc/self/exe`).
    pub exe: Vec<u8>,
    /// Signal actions, indexed by signal number.
    pub actions: Vec<SigAction>,
    /// Process-directed pending signals with their info.
    pub pending: Pending,
    /// Live threads.
    pub threads: Vec<Pid>,
    /// Children (live or zombie).
    pub children: Vec<Pid>,
    /// An `exit_group` or fatal signal is tearing the threads down.
    pub exiting: Option<ExitKind>,
    /// `ITIMER_REAL`: (next expiry, interval), machine time.
    pub itimer: Option<(Nanos, Nanos)>,
    /// A `CLONE_VFORK` parent waiting for this process to exec or exit.
    pub vfork_parent: Option<Pid>,
    /// Signal sent to the parent on exit (SIGCHLD, or none for threads' clones).
    pub exit_signal: u32,
}

impl Process {
    /// Default actions for every signal.
    pub fn default_actions() -> Vec<SigAction> {
        vec![SigAction::default(); NSIG + 1]
    }
}
