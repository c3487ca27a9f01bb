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
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use spin_fs::{Errno, OpenFile, Vfs};
use spin_kernel::mem::AddressSpace;
use spin_kernel::mound::{GuestMound, Resume, StrandFastPath, StrandHost, TrapOutcome};
use spin_kernel::telemetry::{MoundState, MoundTelemetry};
use spin_kernel::{Access, Cap, Kernel, MoundId, Nanos, RegisterFile, StrandId, Trap};
use spin_unix_mm::{Fault, MemoryManager, Vm};

use crate::abi::Abi;
use crate::config::{Stdio, UnixConfig};
use crate::ext::{ExtAuthority, ExtTable};
use crate::process::{Blocked, ExitKind, Pid, Process, Thread, FIRST_PID};
use crate::signal::{self, code, SigInfo};
use crate::syscall::{self, SysFn};
use fast::FastCall;

mod exit;
pub(crate) mod fast;
mod signals;

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
        let vfs = Vfs::new(Arc::new(FsNotifier(wake)));
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
        // Only an inherited stdin reads the host on a background thread; the
        // others are plain files, so a run with them replays exactly.
        let open_flags = |input: bool| spin_fs::OpenFlags {
            read: input,
            write: !input,
            ..spin_fs::OpenFlags::default()
        };
        let stream = |s: &Stdio, input: bool| -> Result<Arc<OpenFile>, String> {
            let setup = |e: Errno| format!("cannot set up standard streams: {e}");
            Ok(match s {
                // A terminal to the guest only if the host's stream is one
                // (as under qemu-alpha: `isatty`, stdio buffering, `ls`).
                Stdio::Inherit if input => vfs.stream(
                    Some(Box::new(std::io::stdin())),
                    None,
                    std::io::stdin().is_terminal(),
                ),
                Stdio::Inherit if std::ptr::eq(s, &cfg.stderr) => vfs.stream(
                    None,
                    Some(Box::new(std::io::stderr())),
                    std::io::stderr().is_terminal(),
                ),
                Stdio::Inherit => vfs.stream(
                    None,
                    Some(Box::new(std::io::stdout())),
                    std::io::stdout().is_terminal(),
                ),
                Stdio::Null => vfs
                    .open(b"/", b"/dev/null", open_flags(input), 0, 0)
                    .map_err(setup)?,
                Stdio::Capture(buf) if !input => {
                    vfs.stream(None, Some(Box::new(CaptureWriter(buf.clone()))), false)
                }
                Stdio::Capture(_) => vfs
                    .open(b"/", b"/dev/null", open_flags(true), 0, 0)
                    .map_err(setup)?,
                Stdio::Writer(w) if !input => vfs.stream(None, Some(Box::new(w.clone())), false),
                Stdio::Terminal(w) if !input => vfs.stream(None, Some(Box::new(w.clone())), true),
                Stdio::Writer(_) | Stdio::Terminal(_) => vfs
                    .open(b"/", b"/dev/null", open_flags(true), 0, 0)
                    .map_err(setup)?,
                Stdio::Bytes(b) => {
                    let path = b"/tmp/.spin-stdin";
                    vfs.put_file(path, b, 0o400).map_err(setup)?;
                    let f = vfs
                        .open(b"/", path, open_flags(true), 0, 0)
                        .map_err(setup)?;
                    vfs.unlink(b"/", path).map_err(setup)?;
                    f
                }
            })
        };
        let stdio = [
            Some(stream(&cfg.stdin, true)?),
            Some(stream(&cfg.stdout, false)?),
            Some(stream(&cfg.stderr, false)?),
        ];
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

    // ---- waiting -------------------------------------------------------

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

    // ---- traps ---------------------------------------------------------

    fn fault(&mut self, tid: Pid, va: u64, access: Access, pc: u64) -> TrapOutcome {
        let Some(pid) = self.threads.get(&tid).map(|t| t.pid) else {
            return TrapOutcome::Exit(-1);
        };
        let vm = self.procs[&pid].vm.clone();
        // Extensions first: a protection fault on a range one registered.
        if fast::resolve_by_extension(&self.ext, &self.kernel.translation, vm.space(), va, access) {
            return TrapOutcome::Continue;
        }
        match vm.handle_fault(va, access) {
            Ok(()) => {
                self.stats.faults += 1;
                TrapOutcome::Continue
            }
            Err(f) => {
                let s = self.abi.signo;
                let info = match f {
                    Fault::MapErr => SigInfo::fault(s.SIGSEGV, code::SEGV_MAPERR, va),
                    Fault::AccErr => SigInfo::fault(s.SIGSEGV, code::SEGV_ACCERR, va),
                    Fault::Bus => SigInfo::fault(s.SIGBUS, code::BUS_ADRERR, va),
                    Fault::Oom => SigInfo::fault(s.SIGKILL, code::SI_KERNEL, va),
                };
                if self.cfg.verbose || self.cfg.trace_syscalls {
                    self.log(format_args!(
                        "[{tid}] {f:?} fault at {va:#x} ({access:?}, pc {pc:#x}): signal {}",
                        info.signo
                    ));
                }
                self.force_signal(tid, info);
                TrapOutcome::Continue
            }
        }
    }

    fn arch_trap(&mut self, tid: Pid, regs: &mut R, trap: Trap) -> TrapOutcome {
        let info = match self.abi.arch {
            spin_kernel::Arch::Alpha => match Self::alpha_trap_signal(regs, trap) {
                Some(info) => info,
                None => return TrapOutcome::Continue,
            },
            spin_kernel::Arch::X86_64 => {
                match crate::signal::x86_64::trap_signal(&self.abi, regs, trap) {
                    Some(info) => info,
                    None => return TrapOutcome::Continue,
                }
            }
        };
        self.force_signal(tid, info);
        TrapOutcome::Continue
    }

    /// The signal a Linux/Alpha kernel sends for `trap` (None: not a fault).
    fn alpha_trap_signal(regs: &R, trap: Trap) -> Option<SigInfo> {
        use crate::signal::num;
        Some(match trap {
            Trap::Unaligned { va, .. } => SigInfo::fault(num::SIGBUS, code::BUS_ADRALN, va),
            Trap::IllegalInstruction { pc, .. } => {
                SigInfo::fault(num::SIGILL, code::ILL_ILLOPC, pc)
            }
            Trap::Breakpoint { pc } => SigInfo::fault(num::SIGTRAP, code::TRAP_BRKPT, pc),
            Trap::Arithmetic { pc, summary } => {
                // EXC_SUM: bit 6 integer overflow, 5 inexact, 4 underflow, 3 overflow, 2 div by zero, 1 invalid.
                let c = if summary & (1 << 6) != 0 {
                    code::FPE_INTOVF
                } else if summary & (1 << 2) != 0 {
                    code::FPE_FLTDIV
                } else if summary & (1 << 3) != 0 {
                    code::FPE_FLTOVF
                } else if summary & (1 << 4) != 0 {
                    code::FPE_FLTUND
                } else if summary & (1 << 5) != 0 {
                    code::FPE_FLTRES
                } else {
                    code::FPE_FLTINV
                };
                SigInfo::fault(num::SIGFPE, c, pc)
            }
            Trap::PalCall { pc, code: 0xaa } => {
                // gentrap: a0 says what happened (Linux arch/alpha traps.c).
                let (sig, c) = match regs.gpr(16) as i64 {
                    -1 => (num::SIGFPE, code::FPE_INTOVF),
                    -2 => (num::SIGFPE, code::FPE_INTDIV),
                    -3 => (num::SIGFPE, code::FPE_FLTOVF),
                    -4 => (num::SIGFPE, code::FPE_FLTDIV),
                    -5 => (num::SIGFPE, code::FPE_FLTUND),
                    -6 => (num::SIGFPE, code::FPE_FLTINV),
                    -7 => (num::SIGFPE, code::FPE_FLTRES),
                    -12..=-8 => (num::SIGFPE, code::FPE_FLTINV),
                    _ => (num::SIGTRAP, code::SI_KERNEL),
                };
                SigInfo::fault(sig, c, pc)
            }
            Trap::PalCall {
                pc,
                code: 0x80 | 0x81,
            } => SigInfo::fault(num::SIGTRAP, code::TRAP_BRKPT, pc),
            Trap::PalCall { pc, .. } | Trap::Halt { pc } => {
                SigInfo::fault(num::SIGILL, code::ILL_ILLOPC, pc)
            }
            Trap::Syscall | Trap::PageFault { .. } | Trap::BudgetExpired => return None,
        })
    }

    fn dispatch(
        &mut self,
        tid: Pid,
        regs: &mut R,
        space: &mut Cap<AddressSpace>,
        host: &mut dyn StrandHost<R>,
    ) -> TrapOutcome {
        let nr = regs.syscall_number();
        self.stats.syscalls += 1;
        let f = self.table.get(nr as usize).copied().flatten();
        let pid = self.threads[&tid].pid;
        let args = [0, 1, 2, 3, 4, 5].map(|i| regs.syscall_arg(i));
        let result = match f {
            None if crate::ext::is_ext(nr) => self.ext_syscall(nr, pid, args, space),
            Some(f) => {
                let mut call = syscall::Call {
                    m: self,
                    tid,
                    pid,
                    regs,
                    space,
                    host,
                    args,
                };
                f(&mut call)
            }
            None => {
                if self.unknown_logged.insert(nr) {
                    let name = self.abi.syscall_name(nr).unwrap_or("?");
                    self.log(format_args!(
                        "unimplemented system call {name} ({nr}): ENOSYS"
                    ));
                }
                Err(Errno::ENOSYS)
            }
        };
        if self.cfg.trace_syscalls {
            let name = self.abi.syscall_name(nr).unwrap_or("?");
            self.log(format_args!(
                "[{tid}] {name}({:#x}, {:#x}, {:#x}, {:#x}) = {result:?}",
                args[0], args[1], args[2], args[3]
            ));
        }
        let outcome = match result {
            Ok(syscall::Done::Val(v)) => {
                regs.set_syscall_result(Ok(v));
                TrapOutcome::Continue
            }
            Ok(syscall::Done::Val2(v, w)) => {
                regs.set_syscall_result(Ok(v));
                // Only Alpha has two-value calls (the second in a4).
                if self.abi.arch == spin_kernel::Arch::Alpha {
                    regs.set_gpr(20, w);
                }
                TrapOutcome::Continue
            }
            Ok(syscall::Done::Raw) => TrapOutcome::Continue,
            Ok(syscall::Done::ValBlock(v)) => {
                regs.set_syscall_result(Ok(v));
                return TrapOutcome::Block;
            }
            Ok(syscall::Done::Block { restartable }) => {
                regs.set_pc(regs.pc().wrapping_sub(self.abi.syscall_insn_len()));
                // A signal already waiting interrupts the call at the next
                // Resume instead of the thread sleeping.
                let interrupted = self.has_deliverable(tid);
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.blocked = Some(Blocked::Syscall {
                        nr,
                        restartable,
                        interrupted,
                    });
                }
                if interrupted {
                    self.clear_waits(tid);
                    return TrapOutcome::Continue;
                }
                self.stats.blocks += 1;
                return TrapOutcome::Block;
            }
            Ok(syscall::Done::Exit) => return TrapOutcome::Exit(0),
            Err(e) => {
                regs.set_syscall_result(Err(self.abi.errno_value(e)));
                TrapOutcome::Continue
            }
        };
        if let Some(t) = self.threads.get_mut(&tid) {
            if t.deadline.is_some() {
                let d = t.deadline.take();
                if let Some((_, at)) = d {
                    self.timers.remove(&(at, tid));
                }
            }
            t.futex_woken = false;
        }
        outcome
    }

    /// An extension system call on the slow path: the link call, or a
    /// registered call the fast path could not take.
    fn ext_syscall(
        &mut self,
        nr: u64,
        pid: Pid,
        args: [u64; 6],
        space: &Cap<AddressSpace>,
    ) -> Result<syscall::Done, Errno> {
        if nr == crate::ext::EXT_LINK {
            let vm = self.procs.get(&pid).ok_or(Errno::ESRCH)?.vm.clone();
            if args[0] == 0 {
                return Err(Errno::EFAULT);
            }
            let name = vm.read_cstr(args[0], 128)?;
            let cx = crate::ext::LinkContext {
                auth: &self.ext_auth,
                kernel: &self.kernel,
                mound: self.id,
                epoch: self.host_epoch,
            };
            let first = self.ext.link(&name, &cx).map_err(|e| {
                let err = Errno::from(e.clone());
                self.log(format_args!("ext_link: {e}"));
                err
            })?;
            return Ok(syscall::Done::Val(first));
        }
        let c = crate::ext::ExtCall { pid, space, args };
        match self.ext.call(nr, &c) {
            Some(r) => r.map(syscall::Done::Val),
            None => {
                if self.unknown_logged.insert(nr) {
                    self.log(format_args!("unregistered extension call {nr:#x}: ENOSYS"));
                }
                Err(Errno::ENOSYS)
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
        self.stdio[0]
            .as_ref()
            .is_some_and(|f| self.waiters.contains_key(&f.wait_key()))
    }

    fn telemetry(&self) -> MoundTelemetry {
        let mm = self.mm.stats();
        let mut t = MoundTelemetry::new(self.id, self.cfg.name.clone(), "unix");
        t.program = self
            .cfg
            .argv
            .iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
            .join(" ");
        t.memory_manager = "unix-mm: demand paging, COW, clock + swap".into();
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

/// A writer appending to a shared buffer.
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
