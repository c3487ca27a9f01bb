//! The per-thread fast path ([`StrandFastPath`]): the calls a UNIX mound
//! answers without its lock, while the thread stays on the CPU.
//!
//! What it answers depends only on state the thread's [`ThreadFast`] holds
//! or can read concurrently: the ids (`getxpid`, `gettid`, `getxuid`, ...;
//! the parent's pid is mirrored here whenever the mound reparents), the
//! mound's extension calls, and protection faults on ranges an extension
//! registered. Everything else — and everything while a signal waits for
//! the thread, which the slow path would deliver on the way back — goes to
//! [`GuestMound::trap`](spin_kernel::GuestMound::trap) as before.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use spin_kernel::machine::SyscallFrame;
use spin_kernel::mem::{AddressSpace, FaultArgs, Translation};
use spin_kernel::mound::StrandFastPath;
use spin_kernel::{Access, Cap};

use crate::abi::Abi;
use crate::ext::{self, ExtCall, ExtTable};

/// What the fast path does with a call number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FastCall {
    /// Not here: the slow path.
    Slow,
    /// Alpha `getxpid`: pid in v0, parent's pid in a4.
    Getxpid,
    /// `getpid`.
    Getpid,
    /// `getppid`.
    Getppid,
    /// `gettid`.
    Gettid,
    /// Alpha `getxuid`: uid and euid.
    Getxuid,
    /// Alpha `getxgid`: gid and egid.
    Getxgid,
    /// `getuid`/`geteuid`.
    Getuid,
    /// `getgid`/`getegid`.
    Getgid,
}

/// The mound's map from call numbers to [`FastCall`]s.
pub(crate) fn fast_table(abi: &Abi) -> Arc<[FastCall]> {
    let mut t = vec![FastCall::Slow; abi.max_syscall() as usize + 1];
    for (name, kind) in [
        ("getxpid", FastCall::Getxpid),
        ("getpid", FastCall::Getpid),
        ("getppid", FastCall::Getppid),
        ("gettid", FastCall::Gettid),
        ("getxuid", FastCall::Getxuid),
        ("getxgid", FastCall::Getxgid),
        ("getuid", FastCall::Getuid),
        ("geteuid", FastCall::Getuid),
        ("getgid", FastCall::Getgid),
        ("getegid", FastCall::Getgid),
    ] {
        if let Some(nr) = abi.syscall(name) {
            t[nr as usize] = kind;
        }
    }
    t.into()
}

/// One thread's fast path.
pub(crate) struct ThreadFast {
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub gid: u32,
    /// The process's parent (the mound updates it when it reparents).
    pub ppid: AtomicU64,
    /// Set when the slow path must see the next call: a signal was queued
    /// for the thread or its process, or it was killed. Cleared by the mound
    /// (under its lock) when nothing waits any more.
    pub attention: AtomicBool,
    /// Calls answered here (only this thread's CPU writes it).
    pub calls: AtomicU64,
    pub table: Arc<[FastCall]>,
    pub abi: Abi,
    pub ext: Arc<ExtTable>,
    pub translation: Arc<Translation>,
}

impl std::fmt::Debug for ThreadFast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadFast")
            .field("tid", &self.tid)
            .field("calls", &self.calls)
            .finish()
    }
}

impl ThreadFast {
    fn counted(&self) -> bool {
        // One writer: no read-modify-write needed.
        let n = self.calls.load(Ordering::Relaxed);
        self.calls.store(n + 1, Ordering::Relaxed);
        true
    }
}

impl StrandFastPath for ThreadFast {
    fn syscall(&self, frame: &mut dyn SyscallFrame, space: &Cap<AddressSpace>) -> bool {
        if self.attention.load(Ordering::Acquire) {
            return false;
        }
        let nr = frame.number();
        let kind = self
            .table
            .get(nr as usize)
            .copied()
            .unwrap_or(FastCall::Slow);
        let (v, second) = match kind {
            FastCall::Getxpid => (u64::from(self.pid), Some(self.ppid.load(Ordering::Acquire))),
            FastCall::Getpid => (u64::from(self.pid), None),
            FastCall::Getppid => (self.ppid.load(Ordering::Acquire), None),
            FastCall::Gettid => (u64::from(self.tid), None),
            FastCall::Getxuid => (u64::from(self.uid), Some(u64::from(self.uid))),
            FastCall::Getxgid => (u64::from(self.gid), Some(u64::from(self.gid))),
            FastCall::Getuid => (u64::from(self.uid), None),
            FastCall::Getgid => (u64::from(self.gid), None),
            FastCall::Slow if ext::is_ext(nr) && nr != ext::EXT_LINK => {
                let c = ExtCall {
                    pid: self.pid,
                    space,
                    args: [0, 1, 2, 3, 4, 5].map(|i| frame.arg(i)),
                };
                // An unregistered number is the slow path's ENOSYS (and log line).
                let Some(r) = self.ext.call(nr, &c) else {
                    return false;
                };
                frame.set_result(r.map_err(|e| self.abi.errno_value(e)));
                return self.counted();
            }
            FastCall::Slow => return false,
        };
        frame.set_result(Ok(v));
        if let Some(w) = second {
            // Alpha returns the second value in a4.
            frame.set_gpr(20, w);
        }
        self.counted()
    }

    fn page_fault(&self, va: u64, access: Access, space: &Cap<AddressSpace>) -> bool {
        if self.attention.load(Ordering::Acquire) {
            return false;
        }
        resolve_by_extension(&self.ext, &self.translation, space, va, access)
    }
}

/// Offers a protection fault to the extensions (`Translation.ProtectionFault`
/// handlers guarded on their ranges); true if one resolved it.
pub(crate) fn resolve_by_extension(
    ext: &ExtTable,
    translation: &Translation,
    space: &Cap<AddressSpace>,
    va: u64,
    access: Access,
) -> bool {
    if !ext.linked_any() {
        return false;
    }
    let Some(m) = space.examine(va) else {
        return false;
    };
    if m.prot.permits(access) {
        return false;
    }
    let args = FaultArgs {
        space: space.clone(),
        va,
        access,
    };
    translation.protection_fault.raise(&args) == Some(true)
}
