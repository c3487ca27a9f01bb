//! The ends of threads and processes: exit_group and fatal signals,
//! clear-child-tid wake-ups, zombies, reparenting and SIGCHLD.

use std::sync::Arc;

use spin_kernel::mound::StrandHost;
use spin_kernel::RegisterFile;
use spin_unix_mm::Vm;

use super::{UnixMound, Zombie, KEY_CHILD, KEY_VFORK};
use crate::process::{ExitKind, Pid};
use crate::signal::{code, SigInfo, SIG_IGN};

impl<R: RegisterFile> UnixMound<R> {
    /// Ends every thread of `pid` with `kind` (exit_group, fatal signal).
    pub(crate) fn kill_process(&mut self, pid: Pid, kind: ExitKind, host: &mut dyn StrandHost<R>) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if p.exiting.is_none() {
            p.exiting = Some(kind);
        }
        for tid in p.threads.clone() {
            if let Some(t) = self.threads.get_mut(&tid) {
                t.killed = true;
            }
            self.wake_thread(tid, host);
        }
    }

    /// Thread `tid` is finished.
    pub(crate) fn thread_exit(&mut self, tid: Pid, host: &mut dyn StrandHost<R>) {
        self.clear_waits(tid);
        let Some(t) = self.threads.remove(&tid) else {
            return;
        };
        self.retire_fast(&t);
        self.by_strand.remove(&t.strand);
        let pid = t.pid;
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        p.threads.retain(|&x| x != tid);
        let last = p.threads.is_empty();
        let vm = p.vm.clone();
        let kind = p.exiting.unwrap_or(ExitKind::Exited(0));
        if t.clear_child_tid != 0 && !last && vm.write_u32(t.clear_child_tid, 0).is_ok() {
            self.futex_wake(&vm, t.clear_child_tid, 1, host);
        }
        if last {
            self.process_exit(pid, kind, host);
        }
    }

    /// Wakes up to `n` waiters on the futex word `addr` of `vm`.
    pub(crate) fn futex_wake(
        &mut self,
        vm: &Arc<Vm>,
        addr: u64,
        n: usize,
        host: &mut dyn StrandHost<R>,
    ) -> usize {
        let key = (Arc::as_ptr(vm) as usize, addr);
        let mut woken = Vec::new();
        if let Some(q) = self.futexes.get_mut(&key) {
            while woken.len() < n {
                match q.pop_front() {
                    Some(t) => woken.push(t),
                    None => break,
                }
            }
            if q.is_empty() {
                self.futexes.remove(&key);
            }
        }
        for &t in &woken {
            if let Some(th) = self.threads.get_mut(&t) {
                th.futex_woken = true;
            }
            self.wake_thread(t, host);
        }
        woken.len()
    }

    /// The last thread of `pid` is gone.
    pub(super) fn process_exit(&mut self, pid: Pid, kind: ExitKind, host: &mut dyn StrandHost<R>) {
        let Some(mut p) = self.procs.remove(&pid) else {
            return;
        };
        for f in p.fds.close_all() {
            f.release_locks(pid);
        }
        if let Some((at, _)) = p.itimer.take() {
            self.itimers.remove(&(at, pid));
        }
        if let Some(parent) = p.vfork_parent.take() {
            self.wake_key(KEY_VFORK + u64::from(pid), host);
            let _ = parent;
        }
        // Orphans go to the mound's first process, or are reaped at once.
        let reaper = self
            .init
            .filter(|&i| i != pid && self.procs.contains_key(&i));
        for child in std::mem::take(&mut p.children) {
            if let Some(c) = self.procs.get_mut(&child) {
                c.ppid = reaper.unwrap_or(0);
            }
            self.set_fast_ppid(child, reaper.unwrap_or(0));
            match reaper {
                Some(r) => {
                    if let Some(z) = self.zombies.get_mut(&child) {
                        z.ppid = r;
                    }
                    if let Some(rp) = self.procs.get_mut(&r) {
                        rp.children.push(child);
                    }
                }
                None => {
                    self.zombies.remove(&child);
                }
            }
        }
        if Some(pid) == self.init {
            self.status = Some(kind);
            // Like the init of a PID namespace: its end ends the mound.
            for other in self.procs.keys().copied().collect::<Vec<_>>() {
                self.kill_process(other, ExitKind::Signaled(self.abi.signo.SIGKILL), host);
            }
        }
        let ppid = p.ppid;
        let pgid = p.pgid;
        let exit_signal = p.exit_signal;
        drop(p);
        let parent_ignores = self.procs.get(&ppid).is_some_and(|pp| {
            let a = &pp.actions[self.abi.signo.SIGCHLD as usize];
            a.handler == SIG_IGN || a.flags & self.abi.sa.SA_NOCLDWAIT != 0
        });
        if self.procs.contains_key(&ppid) && !parent_ignores {
            self.zombies.insert(pid, Zombie { ppid, pgid, kind });
        } else if let Some(pp) = self.procs.get_mut(&ppid) {
            pp.children.retain(|&c| c != pid);
        }
        if self.procs.contains_key(&ppid) {
            if exit_signal != 0 {
                let (code, status) = match kind {
                    ExitKind::Exited(c) => (code::CLD_EXITED, i32::from(c)),
                    ExitKind::Signaled(s) => (code::CLD_KILLED, s as i32),
                };
                let info = SigInfo {
                    signo: exit_signal,
                    code,
                    pid,
                    uid: self.cfg.uid,
                    status,
                    ..SigInfo::default()
                };
                self.signal_process(ppid, info, host);
            }
            self.wake_key(KEY_CHILD + u64::from(ppid), host);
        }
    }
}
