//! Signal generation and delivery: who gets a signal, what its action is,
//! and the frame that enters a handler at `Resume`.

use spin_fs::Errno;
use spin_kernel::mound::StrandHost;
use spin_kernel::{Arch, RegisterFile};

use super::UnixMound;
use crate::process::{Blocked, ExitKind, Pid};
use crate::signal::{self, bit, Default as SigDefault, SigInfo, SIG_DFL, SIG_IGN};

impl<R: RegisterFile> UnixMound<R> {
    pub(super) fn ignored(&self, pid: Pid, sig: u32) -> bool {
        let Some(p) = self.procs.get(&pid) else {
            return true;
        };
        let a = &p.actions[sig as usize];
        match a.handler {
            SIG_IGN => sig != self.abi.signo.SIGKILL && sig != self.abi.signo.SIGSTOP,
            SIG_DFL => matches!(
                signal::default_action(self.abi.signo, sig),
                SigDefault::Ignore | SigDefault::Stop | SigDefault::Continue
            ),
            _ => false,
        }
    }

    /// Sends `info` to process `pid`.
    pub(crate) fn signal_process(&mut self, pid: Pid, info: SigInfo, host: &mut dyn StrandHost<R>) {
        let sig = info.signo;
        if sig == 0 || sig as usize > signal::NSIG {
            return;
        }
        if sig == self.abi.signo.SIGKILL {
            self.kill_process(pid, ExitKind::Signaled(sig), host);
            return;
        }
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        let threads = p.threads.clone();
        let all_block = threads
            .iter()
            .all(|t| self.threads.get(t).is_some_and(|t| t.mask & bit(sig) != 0));
        if self.ignored(pid, sig) && !all_block {
            return;
        }
        if let Some(p) = self.procs.get_mut(&pid) {
            signal::queue(&mut p.pending, info);
        }
        for &t in &threads {
            self.attend(t);
        }
        // Wake one thread that can take it.
        if let Some(&tid) = threads
            .iter()
            .find(|t| self.threads.get(t).is_some_and(|t| t.mask & bit(sig) == 0))
        {
            self.wake_thread(tid, host);
        }
    }

    /// Sends `info` to thread `tid`.
    pub(crate) fn signal_thread(&mut self, tid: Pid, info: SigInfo, host: &mut dyn StrandHost<R>) {
        let sig = info.signo;
        let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
            return;
        };
        if sig == self.abi.signo.SIGKILL {
            self.kill_process(pid, ExitKind::Signaled(sig), host);
            return;
        }
        let blocked = self
            .threads
            .get(&tid)
            .is_some_and(|t| t.mask & bit(sig) != 0);
        if self.ignored(pid, sig) && !blocked {
            return;
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            signal::queue(&mut t.pending, info);
        }
        self.wake_thread(tid, host);
    }

    /// A synchronous fault signal: delivered even if blocked or ignored (a
    /// blocked or ignored fault kills, as Linux's `force_sig` does).
    pub(crate) fn force_signal(&mut self, tid: Pid, info: SigInfo) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        let sig = info.signo;
        let pid = t.pid;
        let mut reset = t.mask & bit(sig) != 0;
        t.mask &= !bit(sig);
        t.pending
            .insert(sig, std::collections::VecDeque::from([info]));
        if let Some(p) = self.procs.get_mut(&pid) {
            if p.actions[sig as usize].handler == SIG_IGN {
                reset = true;
            }
            if reset {
                p.actions[sig as usize] = signal::SigAction::default();
            }
        }
    }

    /// Takes the next deliverable signal of `tid`.
    pub(super) fn take_signal(&mut self, tid: Pid) -> Option<SigInfo> {
        let unblockable = self.abi.unblockable();
        let t = self.threads.get_mut(&tid)?;
        let mask = t.mask & !unblockable;
        if let Some(sig) = t.pending.keys().copied().find(|&s| bit(s) & mask == 0) {
            return signal::dequeue(&mut t.pending, sig);
        }
        let p = self.procs.get_mut(&t.pid)?;
        let sig = p.pending.keys().copied().find(|&s| bit(s) & mask == 0)?;
        signal::dequeue(&mut p.pending, sig)
    }

    /// Whether `tid` has a signal it would take now.
    pub(crate) fn has_deliverable(&self, tid: Pid) -> bool {
        let Some(t) = self.threads.get(&tid) else {
            return false;
        };
        let mask = t.mask & !self.abi.unblockable();
        t.pending.keys().any(|&s| bit(s) & mask == 0)
            || self
                .procs
                .get(&t.pid)
                .is_some_and(|p| p.pending.keys().any(|&s| bit(s) & mask == 0))
    }

    /// Delivers pending signals to `tid` before it runs. Returns false if
    /// the process died of one.
    pub(super) fn deliver(&mut self, tid: Pid, regs: &mut R, host: &mut dyn StrandHost<R>) -> bool {
        while let Some(info) = self.take_signal(tid) {
            let sig = info.signo;
            let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
                return false;
            };
            let action = self.procs[&pid].actions[sig as usize];
            match action.handler {
                SIG_IGN => continue,
                SIG_DFL => match signal::default_action(self.abi.signo, sig) {
                    SigDefault::Terminate | SigDefault::Core => {
                        self.kill_process(pid, ExitKind::Signaled(sig), host);
                        return false;
                    }
                    _ => continue,
                },
                _ => {}
            }
            let t = self.threads.get_mut(&tid).expect("checked above");
            if let Some(Blocked::Syscall { restartable, .. }) = t.blocked.take() {
                let restart = restartable && action.flags & self.abi.sa.SA_RESTART != 0;
                if !restart {
                    // Complete the interrupted call with EINTR.
                    regs.set_pc(regs.pc() + self.abi.syscall_insn_len());
                    regs.set_syscall_result(Err(self.abi.errno_value(Errno::EINTR)));
                    if let (Some(rem), Some((_, deadline))) = (t.sleep_rem, t.deadline) {
                        let left = deadline.saturating_sub(host.now());
                        let mut b = [0u8; 16];
                        b[0..8].copy_from_slice(&(left / 1_000_000_000).to_le_bytes());
                        b[8..16].copy_from_slice(&(left % 1_000_000_000).to_le_bytes());
                        let vm = self.procs[&pid].vm.clone();
                        let _ = vm.write(rem, &b);
                    }
                }
                let t = self.threads.get_mut(&tid).expect("checked above");
                t.sleep_rem = None;
                if let Some((_, d)) = t.deadline.take() {
                    self.timers.remove(&(d, tid));
                }
            }
            let t = self.threads.get_mut(&tid).expect("checked above");
            let old_mask = t.saved_mask.take().unwrap_or(t.mask);
            let altstack = t.altstack;
            let frame = match self.abi.arch {
                Arch::Alpha => Some(signal::setup_frame(
                    regs,
                    &action,
                    &info,
                    old_mask,
                    &altstack,
                    alpha_sigreturn_numbers(&self.abi).0,
                    alpha_sigreturn_numbers(&self.abi).1,
                )),
                Arch::X86_64 => signal::x86_64::setup_rt_frame(
                    &self.abi, regs, &action, &info, old_mask, &altstack,
                ),
            };
            let mut new_mask = old_mask | action.mask;
            if action.flags & self.abi.sa.SA_NODEFER == 0 {
                new_mask |= bit(sig);
            }
            t.mask = new_mask & !self.abi.unblockable();
            let p = self.procs.get_mut(&pid).expect("thread's process exists");
            if action.flags & self.abi.sa.SA_RESETHAND != 0 {
                p.actions[sig as usize] = signal::SigAction::default();
            }
            let written = frame
                .as_ref()
                .is_some_and(|f| p.vm.write(f.addr, &f.bytes).is_ok());
            if !written {
                // No room for the frame: the process dies of SIGSEGV.
                let segv = self.abi.signo.SIGSEGV;
                self.kill_process(pid, ExitKind::Signaled(segv), host);
                return false;
            }
            self.stats.signals += 1;
            return true;
        }
        true
    }
}

/// Alpha's `sigreturn` and `rt_sigreturn` numbers (the trampolines in a
/// signal frame call them), looked up by name once rather than per signal.
fn alpha_sigreturn_numbers(abi: &crate::abi::Abi) -> (u64, u64) {
    static NUMBERS: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    *NUMBERS.get_or_init(|| {
        (
            abi.syscall("sigreturn").unwrap_or(103),
            abi.syscall("rt_sigreturn").unwrap_or(351),
        )
    })
}
