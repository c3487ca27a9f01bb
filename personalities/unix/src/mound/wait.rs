//! Waiting: wait keys (pipes, children, futex words, host input),
//! machine-time deadlines and `ITIMER_REAL`.

use spin_kernel::mound::StrandHost;
use spin_kernel::{Nanos, RegisterFile};

use super::UnixMound;
use crate::process::Pid;

impl<R: RegisterFile> UnixMound<R> {
    /// Registers `tid` as waiting on `key`.
    pub(crate) fn wait_on(&mut self, tid: Pid, key: u64) {
        let list = self.waiters.entry(key).or_default();
        if !list.contains(&tid) {
            list.push(tid);
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.waiting.push(key);
        }
    }

    /// Arms `tid`'s timeout.
    pub(crate) fn wait_until(&mut self, tid: Pid, deadline: Nanos) {
        self.timers.insert((deadline, tid));
    }

    /// Drops every registration of `tid`.
    pub(crate) fn clear_waits(&mut self, tid: Pid) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        for key in std::mem::take(&mut t.waiting) {
            if let Some(list) = self.waiters.get_mut(&key) {
                list.retain(|&x| x != tid);
                if list.is_empty() {
                    self.waiters.remove(&key);
                }
            }
        }
        if let Some((_, d)) = t.deadline {
            self.timers.remove(&(d, tid));
        }
        self.futexes.retain(|_, q| {
            q.retain(|&x| x != tid);
            !q.is_empty()
        });
    }

    /// Wakes `tid` (a no-op if it is not blocked).
    pub(crate) fn wake_thread(&mut self, tid: Pid, host: &mut dyn StrandHost<R>) {
        // Running on another CPU, it takes the slow path at its next call.
        self.attend(tid);
        if let Some(t) = self.threads.get(&tid) {
            let strand = t.strand;
            if t.blocked.is_some() {
                self.clear_waits(tid);
            }
            host.unblock(strand);
        }
    }

    /// Wakes every thread waiting on `key`.
    pub(crate) fn wake_key(&mut self, key: u64, host: &mut dyn StrandHost<R>) {
        if let Some(list) = self.waiters.remove(&key) {
            for tid in list {
                self.wake_thread(tid, host);
            }
        }
    }

    /// Arms (or re-finds) the timeout of the call at `pc` for `tid`: the
    /// deadline is fixed when the call first blocks and kept across its
    /// restarts. Returns it.
    pub(crate) fn deadline(&mut self, tid: Pid, pc: u64, now: Nanos, timeout: Nanos) -> Nanos {
        let t = self
            .threads
            .get_mut(&tid)
            .expect("the calling thread exists");
        match t.deadline {
            Some((at_pc, d)) if at_pc == pc => d,
            _ => {
                let d = now.saturating_add(timeout);
                t.deadline = Some((pc, d));
                d
            }
        }
    }

    /// Sets or clears `pid`'s `ITIMER_REAL`.
    pub(crate) fn set_itimer(
        &mut self,
        pid: Pid,
        timer: Option<(Nanos, Nanos)>,
    ) -> Option<(Nanos, Nanos)> {
        let p = self.procs.get_mut(&pid)?;
        let old = p.itimer.take();
        if let Some((at, _)) = old {
            self.itimers.remove(&(at, pid));
        }
        if let Some((at, _)) = timer {
            self.itimers.insert((at, pid));
        }
        self.procs.get_mut(&pid)?.itimer = timer;
        old
    }
}
