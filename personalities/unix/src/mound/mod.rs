//! The UNIX mound as the scheduling loop sees it: a [`GuestMound`] whose
//! strands are guest threads.
//!
//! Blocking calls block the strand, not the CPU: a call that must wait
//! registers the thread on wait keys (a pipe, a child, a futex word) and/or a
//! machine-time deadline, rewinds the PC to its `callsys` and returns
//! `Block`. A wake-up makes the strand runnable; at `Resume` the call runs
//! again (or a signal interrupts it with `EINTR`, or restarts it after the
//! handler under `SA_RESTART`). Signals are delivered at `Resume`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex};

use spin_fs::{OpenFile, Vfs};
use spin_kernel::mem::AddressSpace;
use spin_kernel::mound::{GuestMound, Resume, StrandFastPath, StrandHost, TrapOutcome};
use spin_kernel::telemetry::{MoundState, MoundTelemetry};
use spin_kernel::{Cap, Kernel, MoundId, Nanos, RegisterFile, StrandId, Trap};
use spin_unix_mm::{MemoryManager, Vm};

use crate::abi::Abi;
use crate::config::UnixConfig;
use crate::ext::{ExtAuthority, ExtTable};
use crate::process::{Blocked, ExitKind, Pid, Process, Thread, FIRST_PID};
use crate::signal::{self, code, SigInfo};
use crate::syscall::{self, SysFn};
use fast::FastCall;

mod exit;
pub(crate) mod fast;
mod signals;
mod stdio;
mod trap;
mod wait;

/// Wait-key namespaces the mound uses itself (file-system keys are below 2^60).
pub(crate) const KEY_CHILD: u64 = 1 << 62;
/// A vfork parent waits on this key plus the child's pid.
pub(crate) const KEY_VFORK: u64 = 1 << 61;

/// Counters for telemetry and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnixStats {
    /// System calls handled.
    pub syscalls: u64,
    /// Page faults resolved by the memory manager.
    pub faults: u64,
    /// Signals delivered to handlers.
    pub signals: u64,
    /// Processes created.
    pub forks: u64,
    /// Programs executed.
    pub execs: u64,
    /// Strands blocked in system calls.
    pub blocks: u64,
}

/// A process that ended and waits for its parent's `wait4`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zombie {
    pub ppid: Pid,
    pub pgid: Pid,
    pub kind: ExitKind,
}

struct FsNotifier(Arc<dyn Fn(u64) + Send + Sync>);

impl spin_fs::Notifier for FsNotifier {
    fn notify(&self, key: u64) {
        (self.0)(key)
    }
}

/// A UNIX personality instance.
pub struct UnixMound<R: RegisterFile> {
    pub(crate) id: MoundId,
    pub(crate) abi: Abi,
    pub(crate) kernel: Arc<Kernel>,
    pub(crate) cfg: UnixConfig,
    pub(crate) mm: Arc<MemoryManager>,
    pub(crate) vfs: Arc<Vfs>,
    /// Hands readiness changes (by wait key) to the scheduling loop; sockets
    /// call it from the network stack's threads.
    pub(crate) wake_fn: Arc<dyn Fn(u64) + Send + Sync>,
    pub(crate) procs: BTreeMap<Pid, Process>,
    pub(crate) zombies: BTreeMap<Pid, Zombie>,
    pub(crate) threads: BTreeMap<Pid, Thread>,
    pub(crate) by_strand: HashMap<StrandId, Pid>,
    waiters: HashMap<u64, Vec<Pid>>,
    pub(crate) futexes: HashMap<(usize, u64), VecDeque<Pid>>,
    timers: BTreeSet<(Nanos, Pid)>,
    itimers: BTreeSet<(Nanos, Pid)>,
    next_pid: Pid,
    pub(crate) init: Option<Pid>,
    status: Option<ExitKind>,
    unknown_logged: BTreeSet<u64>,
    table: Vec<Option<SysFn<R>>>,
    pub(crate) stats: UnixStats,
    pub(crate) boot_epoch_ns: u64,
    stdio: [Option<Arc<OpenFile>>; 3],
    log: Arc<Mutex<Box<dyn Write + Send>>>,
    notes: Vec<String>,
    stopped: bool,
    /// Extension system calls linked into this mound.
    pub(crate) ext: Arc<ExtTable>,
    /// The authority over `ext`, lent to the extensions the mound links.
    pub(crate) ext_auth: ExtAuthority,
    /// Calls the fast path answers, by number.
    fast_table: Arc<[FastCall]>,
    /// Calls answered on the fast path by threads that have exited.
    fast_retired: u64,
    /// Where the host clock starts for this mound's guests (`host_clock`).
    pub(crate) host_epoch: std::time::Instant,
}

impl<R: RegisterFile> UnixMound<R> {
    /// A mound `id` on `kernel` that will run `cfg`'s program. `wake` hands
    /// wake-ups (readiness changes of files) to the scheduling loop from any
    /// thread.
    pub fn new(
        kernel: Arc<Kernel>,
        id: MoundId,
        cfg: UnixConfig,
        wake: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<Self, String> {
        let abi =
            Abi::of(R::ARCH).ok_or_else(|| format!("no Linux ABI tables for {:?}", R::ARCH))?;
        let mm = MemoryManager::new(&kernel, id, cfg.quota_frames);
        let vfs = Vfs::new(Arc::new(FsNotifier(wake.clone())));
        vfs.set_urandom_seed(cfg.seed);
        for m in &cfg.mounts {
            vfs.mount_host(&m.guest, &m.host, m.writable).map_err(|e| {
                format!(
                    "cannot mount {} at {}: {e}",
                    m.host.display(),
                    String::from_utf8_lossy(&m.guest)
                )
            })?;
        }
        for f in &cfg.files {
            vfs.put_file(&f.path, &f.bytes, f.mode)
                .map_err(|e| format!("cannot place {}: {e}", String::from_utf8_lossy(&f.path)))?;
        }
        let stdio = stdio::open(&vfs, &cfg)?;
        let boot_epoch_ns = cfg.realtime_base.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        Ok(UnixMound {
            id,
            abi,
            kernel,
            mm,
            vfs,
            wake_fn: wake,
            procs: BTreeMap::new(),
            zombies: BTreeMap::new(),
            threads: BTreeMap::new(),
            by_strand: HashMap::new(),
            waiters: HashMap::new(),
            futexes: HashMap::new(),
            timers: BTreeSet::new(),
            itimers: BTreeSet::new(),
            next_pid: FIRST_PID,
            init: None,
            status: None,
            unknown_logged: BTreeSet::new(),
            table: syscall::table::<R>(&abi),
            stats: UnixStats::default(),
            boot_epoch_ns,
            stdio,
            log: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            notes: Vec::new(),
            stopped: false,
            ext: Arc::new(ExtTable::new(id)),
            ext_auth: ExtAuthority::new(id),
            fast_table: fast::fast_table(&abi),
            fast_retired: 0,
            host_epoch: std::time::Instant::now(),
            cfg,
        })
    }

    /// Sends the mound's diagnostics (unknown system calls, kills) to `w`
    /// instead of the host's stderr.
    pub fn set_log(&mut self, w: Box<dyn Write + Send>) {
        self.log = Arc::new(Mutex::new(w));
    }

    /// Counters.
    pub fn stats(&self) -> UnixStats {
        let fast: u64 = self
            .threads
            .values()
            .filter_map(|t| t.fast.as_ref())
            .map(|f| f.calls.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        UnixStats {
            syscalls: self.stats.syscalls + self.fast_retired + fast,
            ..self.stats
        }
    }

    /// Counts a leaving thread's fast-path calls.
    pub(crate) fn retire_fast(&mut self, t: &Thread) {
        if let Some(f) = &t.fast {
            self.fast_retired += f.calls.load(std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The slow path must see `tid`'s next call (a signal for it, a kill).
    pub(crate) fn attend(&self, tid: Pid) {
        if let Some(f) = self.threads.get(&tid).and_then(|t| t.fast.as_ref()) {
            f.attention
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// Mirrors a process's new parent into its threads' fast paths.
    pub(crate) fn set_fast_ppid(&self, pid: Pid, ppid: Pid) {
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        for f in p
            .threads
            .iter()
            .filter_map(|t| self.threads.get(t)?.fast.as_ref())
        {
            f.ppid
                .store(u64::from(ppid), std::sync::atomic::Ordering::Release);
        }
    }

    /// The memory manager (telemetry).
    pub fn memory(&self) -> &Arc<MemoryManager> {
        &self.mm
    }

    /// Live processes.
    pub fn process_count(&self) -> usize {
        self.procs.len()
    }

    /// A diagnostic: printed when the mound is verbose (or tracing), kept
    /// for telemetry otherwise, so the guest's own stderr stays its own.
    pub(crate) fn log(&mut self, msg: std::fmt::Arguments<'_>) {
        let line = format!("spin[{}]: {msg}", self.cfg.name);
        if self.cfg.verbose || self.cfg.trace_syscalls {
            let mut w = self.log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(w, "{line}");
        }
        if self.notes.len() < 256 {
            self.notes.push(line);
        }
    }

    /// Diagnostics so far (unknown system calls, deadlocks).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub(crate) fn alloc_pid(&mut self) -> Pid {
        loop {
            let p = self.next_pid;
            self.next_pid = if self.next_pid >= 4_000_000 {
                FIRST_PID
            } else {
                self.next_pid + 1
            };
            if !self.procs.contains_key(&p)
                && !self.threads.contains_key(&p)
                && !self.zombies.contains_key(&p)
            {
                return p;
            }
        }
    }

    // ---- exits ---------------------------------------------------------

    // ---- start ---------------------------------------------------------

    fn start_init(&mut self, host: &mut dyn StrandHost<R>) -> Result<(), String> {
        let vm =
            Arc::new(Vm::new(&self.mm).map_err(|e| format!("cannot create address space: {e}"))?);
        let path = self.cfg.program.clone();
        let mut regs = R::default();
        crate::syscall::exec::load_program(
            self,
            &vm,
            &self.cfg.cwd.clone(),
            &path,
            &self.cfg.argv.clone(),
            &self.cfg.envp.clone(),
            &mut regs,
        )
        .map_err(|e| format!("{}: {e}", String::from_utf8_lossy(&path)))?;
        let pid = self.alloc_pid();
        let mut fds = spin_fs::FdTable::new();
        for (i, s) in self.stdio.iter().enumerate() {
            if let Some(f) = s {
                fds.insert_at(i as i32, f.clone(), false)
                    .map_err(|e| e.to_string())?;
            }
        }
        let space = vm.space().clone();
        let strand = host
            .spawn(
                &format!("{} pid {pid}", self.cfg.name),
                self.id,
                self.cfg.params,
                regs,
                space,
            )
            .map_err(|e| e.to_string())?;
        self.procs.insert(
            pid,
            Process {
                pid,
                ppid: 0,
                pgid: pid,
                sid: pid,
                vm,
                fds,
                cwd: self.cfg.cwd.clone(),
                umask: 0o022,
                exe: path,
                actions: Process::default_actions(),
                pending: signal::Pending::new(),
                threads: vec![pid],
                children: Vec::new(),
                exiting: None,
                itimer: None,
                vfork_parent: None,
                exit_signal: self.abi.signo.SIGCHLD,
            },
        );
        self.threads.insert(pid, Thread::new(pid, pid, strand, 0));
        self.by_strand.insert(strand, pid);
        self.init = Some(pid);
        Ok(())
    }
}

impl<R: RegisterFile> GuestMound<R> for UnixMound<R> {
    fn id(&self) -> MoundId {
        self.id
    }

    fn start(&mut self, host: &mut dyn StrandHost<R>) -> Result<(), String> {
        self.start_init(host)
    }

    fn exit_status(&self) -> Option<i32> {
        self.status.map(ExitKind::host_status)
    }

    fn resume(
        &mut self,
        strand: StrandId,
        regs: &mut R,
        space: &mut Cap<AddressSpace>,
        host: &mut dyn StrandHost<R>,
    ) -> Resume {
        let Some(&tid) = self.by_strand.get(&strand) else {
            return Resume::Exit(-1);
        };
        let t = &self.threads[&tid];
        if t.killed {
            self.thread_exit(tid, host);
            return Resume::Exit(0);
        }
        if !t.waiting.is_empty() {
            // Woken: stop waiting (the call re-checks when it runs again).
            self.clear_waits(tid);
        }
        // A woken call runs again before any signal is delivered (it may now
        // succeed, as a real kernel re-checks its condition first); only a
        // call that would block again is interrupted.
        let rerun = matches!(
            self.threads[&tid].blocked,
            Some(Blocked::Syscall {
                interrupted: false,
                ..
            })
        );
        if rerun {
            if let Some(t) = self.threads.get_mut(&tid) {
                t.blocked = None;
            }
        } else if self.has_deliverable(tid) && !self.deliver(tid, regs, host) {
            // The process died of the signal.
            let still = self.threads.get(&tid).is_some_and(|t| t.killed);
            if still {
                self.thread_exit(tid, host);
            }
            return Resume::Exit(0);
        }
        if let Some(t) = self.threads.get_mut(&tid) {
            t.blocked = None;
            let pid = t.pid;
            if let Some(p) = self.procs.get(&pid) {
                if !Cap::same(space, p.vm.space()) {
                    *space = p.vm.space().clone();
                }
            }
        }
        Resume::Run
    }

    fn trap(
        &mut self,
        strand: StrandId,
        regs: &mut R,
        space: &mut Cap<AddressSpace>,
        trap: Trap,
        host: &mut dyn StrandHost<R>,
    ) -> TrapOutcome {
        let Some(&tid) = self.by_strand.get(&strand) else {
            return TrapOutcome::Exit(-1);
        };
        let outcome = match trap {
            Trap::Syscall => self.dispatch(tid, regs, space, host),
            Trap::PageFault { va, access, pc } => self.fault(tid, va, access, pc),
            other => self.arch_trap(tid, regs, other),
        };
        if outcome == TrapOutcome::Exit(0) || self.threads.get(&tid).is_none_or(|t| t.killed) {
            if self.threads.contains_key(&tid) {
                self.thread_exit(tid, host);
            }
            return TrapOutcome::Exit(0);
        }
        outcome
    }

    fn fast_path(&mut self, strand: StrandId) -> Option<Arc<dyn StrandFastPath>> {
        if self.cfg.trace_syscalls {
            // Every call is printed: all of them go the slow way.
            return None;
        }
        let &tid = self.by_strand.get(&strand)?;
        let waiting = self.has_deliverable(tid);
        let t = self.threads.get(&tid)?;
        let ppid = self.procs.get(&t.pid).map_or(0, |p| p.ppid);
        let attention = waiting || t.killed;
        let fast = match &t.fast {
            Some(f) => f.clone(),
            None => {
                let f = Arc::new(fast::ThreadFast {
                    pid: t.pid,
                    tid,
                    uid: self.cfg.uid,
                    gid: self.cfg.gid,
                    ppid: u64::from(ppid).into(),
                    attention: false.into(),
                    calls: 0.into(),
                    table: self.fast_table.clone(),
                    abi: self.abi,
                    ext: self.ext.clone(),
                    translation: self.kernel.translation.clone(),
                });
                self.threads.get_mut(&tid)?.fast = Some(f.clone());
                f
            }
        };
        fast.attention
            .store(attention, std::sync::atomic::Ordering::Release);
        Some(fast)
    }

    fn next_deadline(&self) -> Option<Nanos> {
        let a = self.timers.first().map(|&(d, _)| d);
        let b = self.itimers.first().map(|&(d, _)| d);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn advance(&mut self, now: Nanos, host: &mut dyn StrandHost<R>) {
        while let Some(&(d, tid)) = self.timers.first() {
            if d > now {
                break;
            }
            self.timers.remove(&(d, tid));
            self.wake_thread(tid, host);
        }
        while let Some(&(d, pid)) = self.itimers.first() {
            if d > now {
                break;
            }
            self.itimers.remove(&(d, pid));
            let interval = self
                .procs
                .get(&pid)
                .and_then(|p| p.itimer)
                .map_or(0, |(_, i)| i);
            let next = (interval > 0).then(|| (d.max(now) + interval, interval));
            if let Some(p) = self.procs.get_mut(&pid) {
                p.itimer = next;
            }
            if let Some((at, _)) = next {
                self.itimers.insert((at, pid));
            }
            let info = SigInfo {
                signo: self.abi.signo.SIGALRM,
                code: code::SI_KERNEL,
                ..SigInfo::default()
            };
            self.signal_process(pid, info, host);
        }
    }

    fn wake(&mut self, key: u64, host: &mut dyn StrandHost<R>) {
        self.wake_key(key, host);
    }

    fn waiting_on_host(&self) -> bool {
        // Console input arrives from a host thread, and so do packets for
        // a socket: a thread waiting on either is not deadlocked.
        let stdin = self.stdio[0]
            .as_ref()
            .is_some_and(|f| self.waiters.contains_key(&f.wait_key()));
        stdin
            || self.procs.values().any(|p| {
                p.fds
                    .iter()
                    .any(|(_, f)| f.special().is_some() && self.waiters.contains_key(&f.wait_key()))
            })
    }

    fn telemetry(&self) -> MoundTelemetry {
        let mm = self.mm.stats();
        let mut t = MoundTelemetry::new(self.id, self.cfg.name.clone(), &self.cfg.kind);
        t.program = self
            .cfg
            .argv
            .iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
            .join(" ");
        t.memory_manager = "unix-mm: demand paging, COW, clock + swap".into();
        // Extensions its programs may link bring their own paging (a file's
        // pager): named beside the memory manager.
        for e in &self.cfg.extensions {
            t.memory_manager.push_str(" + ");
            t.memory_manager.push_str(e.name());
        }
        t.strand_package = "unix threads: 1 strand per thread".into();
        t.state = if self.stopped {
            MoundState::Stopped
        } else {
            match self.status {
                Some(k) => MoundState::Exited(k.host_status()),
                None => MoundState::Running,
            }
        };
        t.tasks = self.procs.len() as u64;
        t.frames = mm.resident_frames;
        t.quota = mm.quota_frames;
        t.faults = mm.minor_faults + mm.major_faults;
        t.reclaimed = mm.reclaimed;
        t.evicted = mm.dropped_clean + mm.swapped_out;
        t.calls = self.stats.syscalls;
        t
    }

    fn stop(&mut self, host: &mut dyn StrandHost<R>) {
        if self.procs.is_empty() {
            return;
        }
        self.stopped = true;
        self.log(format_args!("stopped by the operator"));
        for pid in self.procs.keys().copied().collect::<Vec<_>>() {
            self.kill_process(pid, ExitKind::Signaled(self.abi.signo.SIGKILL), host);
        }
    }

    fn deadlocked(&mut self, host: &mut dyn StrandHost<R>) {
        if self.threads.is_empty() {
            return;
        }
        self.log(format_args!(
            "every thread is blocked and nothing can wake them: ending the mound"
        ));
        if !self.cfg.verbose && !self.cfg.trace_syscalls {
            eprintln!(
                "spin[{}]: every thread is blocked and nothing can wake them: ending the mound",
                self.cfg.name
            );
        }
        for pid in self.procs.keys().copied().collect::<Vec<_>>() {
            self.kill_process(pid, ExitKind::Signaled(self.abi.signo.SIGKILL), host);
        }
    }
}
