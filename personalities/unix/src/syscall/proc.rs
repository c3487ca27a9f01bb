//! Process and thread calls: identity, `clone`/`fork`/`vfork`, `wait4`,
//! `kill`, `futex`, limits and system information.

use std::collections::BTreeMap;
use std::sync::Arc;

use spin_fs::{Errno, SysResult};
use spin_kernel::RegisterFile;
use spin_unix_mm::Vm;

use spin_kernel::Arch;

use super::{read_timespec, sys_ok, Call, Done, SysFn};
use crate::abi::alpha::misc as alpha_misc;
use crate::abi::x86_64::arch_prctl as ap;
use crate::mound::{KEY_CHILD, KEY_VFORK};
use crate::process::{ExitKind, Pid, Process, Thread};
use crate::signal::{SigInfo, NSIG};

/// Calls only x86-64 has (or that only its table names).
pub(super) fn register_x86_64<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("getpid", sys_getpid as SysFn<R>),
        ("getuid", sys_geteuid),
        ("getgid", sys_getegid),
        ("getgroups", sys_getgroups),
        ("setgroups", sys_ok),
        ("getresuid", sys_getresuid),
        ("getresgid", sys_getresgid),
        ("arch_prctl", sys_arch_prctl),
        // glibc falls back when these are missing; answering ENOSYS
        // without the "unimplemented" log line.
        ("rseq", sys_enosys),
        ("clone3", sys_enosys),
    ]);
}

fn sys_enosys<R: RegisterFile>(_c: &mut Call<'_, R>) -> SysResult<Done> {
    Err(Errno::ENOSYS)
}

fn sys_getpid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(u64::from(c.pid)))
}

/// The mound has one user: no supplementary groups.
fn sys_getgroups<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if (c.arg(0) as i64 as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Done::Val(0))
}

fn put_three<R: RegisterFile>(c: &mut Call<'_, R>, v: u32) -> SysResult<Done> {
    for i in 0..3 {
        c.write_u32(c.arg(i), v)?;
    }
    Ok(Done::Val(0))
}

fn sys_getresuid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let u = c.m.cfg.uid;
    put_three(c, u)
}

fn sys_getresgid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let g = c.m.cfg.gid;
    put_three(c, g)
}

/// Lowest address outside x86-64 user space (`TASK_SIZE_MAX`).
const X86_64_TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// `arch_prctl(code, addr)`: the FS base is the register file's thread
/// pointer; the GS base is not kept per thread (glibc never sets it), so
/// `ARCH_SET_GS` is refused and `ARCH_GET_GS` reads 0.
fn sys_arch_prctl<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (code, addr) = (c.arg(0), c.arg(1));
    match code {
        ap::SET_FS => {
            if addr >= X86_64_TASK_SIZE {
                return Err(Errno::EPERM);
            }
            c.regs.set_thread_pointer(addr);
            Ok(Done::Val(0))
        }
        ap::GET_FS => {
            let fs = c.regs.thread_pointer();
            c.write_u64(addr, fs)?;
            Ok(Done::Val(0))
        }
        ap::GET_GS => {
            c.write_u64(addr, 0)?;
            Ok(Done::Val(0))
        }
        // CPUID is never made to fault here.
        ap::GET_CPUID => Ok(Done::Val(1)),
        ap::SET_GS | ap::SET_CPUID => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("exit", sys_exit as SysFn<R>),
        ("exit_group", sys_exit_group),
        ("getxpid", sys_getxpid),
        ("getxuid", sys_getxuid),
        ("getxgid", sys_getxgid),
        ("getppid", sys_getppid),
        ("geteuid", sys_geteuid),
        ("getegid", sys_getegid),
        ("gettid", sys_gettid),
        ("set_tid_address", sys_set_tid_address),
        ("set_robust_list", sys_ok),
        ("clone", sys_clone),
        ("fork", sys_fork),
        ("vfork", sys_vfork),
        ("execve", super::exec::sys_execve),
        ("wait4", sys_wait4),
        ("kill", sys_kill),
        ("tgkill", sys_tgkill),
        ("tkill", sys_tkill),
        ("getpgid", sys_getpgid),
        ("setpgid", sys_setpgid),
        ("getpgrp", sys_getpgrp),
        ("setsid", sys_setsid),
        ("getsid", sys_getsid),
        ("prlimit64", sys_prlimit64),
        ("getrlimit", sys_getrlimit),
        ("setrlimit", sys_setrlimit),
        ("uname", sys_uname),
        ("sysinfo", sys_sysinfo),
        ("getrandom", sys_getrandom),
        ("futex", sys_futex),
        ("sched_yield", sys_ok),
        ("sched_getaffinity", sys_sched_getaffinity),
        ("getrusage", sys_getrusage),
        ("times", sys_times),
        ("personality", sys_ok),
        ("prctl", sys_prctl),
        ("getpriority", sys_getpriority),
        ("setpriority", sys_ok),
        ("osf_getsysinfo", sys_osf_getsysinfo),
        ("osf_setsysinfo", sys_osf_setsysinfo),
        ("getpagesize", sys_getpagesize),
        ("setuid", sys_ok),
        ("setgid", sys_ok),
        ("setreuid", sys_ok),
        ("setregid", sys_ok),
        ("setresuid", sys_ok),
        ("setresgid", sys_ok),
    ]);
}

fn sys_exit<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let code = (c.arg(0) & 0xff) as u8;
    let p = c.proc_mut();
    if p.threads.len() == 1 && p.exiting.is_none() {
        p.exiting = Some(ExitKind::Exited(code));
    }
    Ok(Done::Exit)
}

fn sys_exit_group<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let code = (c.arg(0) & 0xff) as u8;
    let pid = c.pid;
    c.m.kill_process(pid, ExitKind::Exited(code), c.host);
    Ok(Done::Exit)
}

fn sys_getxpid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val2(u64::from(c.pid), u64::from(c.proc().ppid)))
}

fn sys_getxuid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let u = u64::from(c.m.cfg.uid);
    Ok(Done::Val2(u, u))
}

fn sys_getxgid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let g = u64::from(c.m.cfg.gid);
    Ok(Done::Val2(g, g))
}

fn sys_getppid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(u64::from(c.proc().ppid)))
}

fn sys_geteuid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(u64::from(c.m.cfg.uid)))
}

fn sys_getegid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(u64::from(c.m.cfg.gid)))
}

fn sys_gettid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(u64::from(c.tid)))
}

fn sys_set_tid_address<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let a = c.arg(0);
    c.thread_mut().clear_child_tid = a;
    Ok(Done::Val(u64::from(c.tid)))
}

fn sys_getpagesize<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(c.m.kernel.translation.page_size()))
}

/// `clone(flags, newsp, parent_tid, child_tid, tls)` and the `fork`/`vfork` forms.
fn do_clone<R: RegisterFile>(
    c: &mut Call<'_, R>,
    flags: u64,
    newsp: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult<Done> {
    let misc = c.m.abi.misc;
    let thread = flags & misc.CLONE_THREAD != 0;
    if thread && (flags & misc.CLONE_VM == 0 || flags & misc.CLONE_SIGHAND == 0) {
        return Err(Errno::EINVAL);
    }
    if flags & misc.CLONE_SIGHAND != 0 && flags & misc.CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    let tid = c.m.alloc_pid();
    let mut regs = c.regs.clone();
    regs.set_syscall_result(Ok(0));
    let alpha = c.m.abi.arch == Arch::Alpha;
    if alpha {
        // OSF/1 heritage: a4 tells the child it is the child.
        regs.set_gpr(20, 1);
    }
    if newsp != 0 {
        regs.set_sp(newsp);
    }
    if flags & misc.CLONE_SETTLS != 0 {
        regs.set_thread_pointer(tls);
    }
    let parent_pid = c.pid;
    let child_pid;
    let vm: Arc<Vm>;
    if thread {
        child_pid = parent_pid;
        vm = c.vm();
    } else {
        child_pid = tid;
        vm = if flags & misc.CLONE_VM != 0 {
            c.vm()
        } else {
            {
                // Extensions let go of the pages fork makes copy-on-write.
                c.m.ext.before_fork(c.vm().space());
                Arc::new(c.vm().fork()?)
            }
        };
    }
    let name = format!("{} pid {child_pid} tid {tid}", c.m.cfg.name);
    let params = c.m.cfg.params;
    let id = c.m.id;
    let strand = c
        .host
        .spawn(&name, id, params, regs, vm.space().clone())
        .map_err(|_| Errno::EAGAIN)?;
    let mask = c.thread().mask;
    let mut t = Thread::new(tid, child_pid, strand, mask);
    if flags & misc.CLONE_CHILD_CLEARTID != 0 {
        t.clear_child_tid = ctid;
    }
    c.m.threads.insert(tid, t);
    c.m.by_strand.insert(strand, tid);
    if thread {
        c.proc_mut().threads.push(tid);
    } else {
        let p = c.proc();
        let ppid = if flags & misc.CLONE_PARENT != 0 {
            p.ppid
        } else {
            parent_pid
        };
        let child = Process {
            pid: child_pid,
            ppid,
            pgid: p.pgid,
            sid: p.sid,
            vm: vm.clone(),
            fds: p.fds.clone(),
            cwd: p.cwd.clone(),
            umask: p.umask,
            exe: p.exe.clone(),
            actions: p.actions.clone(),
            pending: BTreeMap::new(),
            threads: vec![tid],
            children: Vec::new(),
            exiting: None,
            itimer: None,
            vfork_parent: (flags & misc.CLONE_VFORK != 0).then_some(parent_pid),
            exit_signal: (flags & 0xff) as u32,
        };
        c.m.procs.insert(child_pid, child);
        if let Some(pp) = c.m.procs.get_mut(&ppid) {
            pp.children.push(child_pid);
        }
        c.m.stats.forks += 1;
    }
    if flags & misc.CLONE_PARENT_SETTID != 0 {
        let _ = c.write_u32(ptid, tid);
    }
    if flags & misc.CLONE_CHILD_SETTID != 0 {
        let _ = vm.write_u32(ctid, tid);
    }
    if alpha {
        c.regs.set_gpr(20, 0);
    }
    if flags & misc.CLONE_VFORK != 0 {
        // The parent sleeps until the child execs or exits; the call has
        // already produced its value.
        c.m.wait_on(c.tid, KEY_VFORK + u64::from(child_pid));
        return Ok(Done::ValBlock(u64::from(tid)));
    }
    Ok(Done::Val(u64::from(tid)))
}

fn sys_clone<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (f, sp, pt, ct, tls) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4));
    do_clone(c, f, sp, pt, ct, tls)
}

fn sys_fork<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let chld = u64::from(c.m.abi.signo.SIGCHLD);
    do_clone(c, chld, 0, 0, 0, 0)
}

fn sys_vfork<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let misc = c.m.abi.misc;
    let chld = u64::from(c.m.abi.signo.SIGCHLD);
    do_clone(c, misc.CLONE_VM | misc.CLONE_VFORK | chld, 0, 0, 0, 0)
}

fn sys_wait4<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let target = c.arg(0) as i64 as i32;
    let status_va = c.arg(1);
    let options = c.arg(2);
    let rusage_va = c.arg(3);
    let misc = c.m.abi.misc;
    if options & !(misc.WNOHANG | misc.WUNTRACED | 0x4000_0000 | 0x8000_0000 | 8 | 4) != 0 {
        return Err(Errno::EINVAL);
    }
    let my_pgid = c.proc().pgid;
    let children = c.proc().children.clone();
    let matches = |pid: Pid, pgid: Pid| match target {
        -1 => true,
        0 => pgid == my_pgid,
        t if t > 0 => pid == t as u32,
        t => pgid == t.unsigned_abs(),
    };
    let mut any = false;
    for &child in &children {
        let pgid = match (c.m.procs.get(&child), c.m.zombies.get(&child)) {
            (Some(p), _) => p.pgid,
            (None, Some(z)) => z.pgid,
            _ => continue,
        };
        if !matches(child, pgid) {
            continue;
        }
        any = true;
        if let Some(z) = c.m.zombies.get(&child).copied() {
            if status_va != 0 {
                c.write_u32(status_va, z.kind.wait_status())?;
            }
            if rusage_va != 0 {
                c.write_bytes(rusage_va, &[0u8; 144])?;
            }
            c.m.zombies.remove(&child);
            c.proc_mut().children.retain(|&x| x != child);
            return Ok(Done::Val(u64::from(child)));
        }
    }
    if !any {
        return Err(Errno::ECHILD);
    }
    if options & misc.WNOHANG != 0 {
        return Ok(Done::Val(0));
    }
    let pid = c.pid;
    c.block_on(KEY_CHILD + u64::from(pid))
}

fn check_sig(sig: u64) -> SysResult<u32> {
    if sig as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    Ok(sig as u32)
}

fn sys_kill<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let target = c.arg(0) as i64 as i32;
    let sig = check_sig(c.arg(1))?;
    let me = c.pid;
    let my_pgid = c.proc().pgid;
    let victims: Vec<Pid> =
        c.m.procs
            .values()
            .filter(|p| p.exiting.is_none() || target > 0)
            .filter(|p| match target {
                t if t > 0 => p.pid == t as u32,
                0 => p.pgid == my_pgid,
                -1 => p.pid != me,
                t => p.pgid == t.unsigned_abs(),
            })
            .map(|p| p.pid)
            .collect();
    if victims.is_empty() {
        return Err(Errno::ESRCH);
    }
    if sig != 0 {
        let uid = c.m.cfg.uid;
        for v in victims {
            c.m.signal_process(v, SigInfo::user(sig, me, uid), c.host);
        }
    }
    Ok(Done::Val(0))
}

fn thread_kill<R: RegisterFile>(
    c: &mut Call<'_, R>,
    tgid: Option<Pid>,
    tid: u64,
    sig: u64,
) -> SysResult<Done> {
    let sig = check_sig(sig)?;
    let tid = tid as i64;
    if tid <= 0 || tgid.is_some_and(|g| g as i32 <= 0) {
        return Err(Errno::EINVAL);
    }
    let tid = tid as Pid;
    let Some(t) = c.m.threads.get(&tid) else {
        return Err(Errno::ESRCH);
    };
    if tgid.is_some_and(|g| g != t.pid) {
        return Err(Errno::ESRCH);
    }
    if sig != 0 {
        let info = SigInfo {
            code: crate::signal::code::SI_TKILL,
            ..SigInfo::user(sig, c.pid, c.m.cfg.uid)
        };
        c.m.signal_thread(tid, info, c.host);
    }
    Ok(Done::Val(0))
}

fn sys_tgkill<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (g, t, s) = (c.arg(0), c.arg(1), c.arg(2));
    thread_kill(c, Some(g as Pid), t, s)
}

fn sys_tkill<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (t, s) = (c.arg(0), c.arg(1));
    thread_kill(c, None, t, s)
}

fn sys_getpgid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let pid = if c.arg(0) == 0 {
        c.pid
    } else {
        c.arg(0) as Pid
    };
    c.m.procs
        .get(&pid)
        .map(|p| Done::Val(u64::from(p.pgid)))
        .ok_or(Errno::ESRCH)
}

fn sys_getpgrp<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Val(u64::from(c.proc().pgid)))
}

fn sys_setpgid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let pid = if c.arg(0) == 0 {
        c.pid
    } else {
        c.arg(0) as Pid
    };
    let pgid = if c.arg(1) == 0 { pid } else { c.arg(1) as Pid };
    if (c.arg(1) as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != c.pid && !c.proc().children.contains(&pid) {
        return Err(Errno::ESRCH);
    }
    let p = c.m.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
    p.pgid = pgid;
    Ok(Done::Val(0))
}

fn sys_setsid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let pid = c.pid;
    if c.m.procs.values().any(|p| p.pgid == pid && p.pid != pid) {
        return Err(Errno::EPERM);
    }
    let p = c.proc_mut();
    p.sid = pid;
    p.pgid = pid;
    Ok(Done::Val(u64::from(pid)))
}

fn sys_getsid<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let pid = if c.arg(0) == 0 {
        c.pid
    } else {
        c.arg(0) as Pid
    };
    c.m.procs
        .get(&pid)
        .map(|p| Done::Val(u64::from(p.sid)))
        .ok_or(Errno::ESRCH)
}

/// (soft, hard) limit of `resource` (the guest's numbering).
fn limit<R: RegisterFile>(c: &Call<'_, R>, resource: u64) -> SysResult<(u64, u64)> {
    const INF: u64 = u64::MAX;
    let misc = c.m.abi.misc;
    Ok(match resource {
        r if r == misc.RLIMIT_STACK => (8 << 20, INF),
        r if r == misc.RLIMIT_NOFILE => {
            let n = c.proc().fds.limit() as u64;
            (n, 4096.max(n))
        }
        r if r == misc.RLIMIT_CORE => (0, INF),
        0..=15 => (INF, INF),
        _ => return Err(Errno::EINVAL),
    })
}

fn set_limit<R: RegisterFile>(c: &mut Call<'_, R>, resource: u64, va: u64) -> SysResult<()> {
    let b = c.read_bytes(va, 16)?;
    let cur = u64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
    let max = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    if cur > max {
        return Err(Errno::EINVAL);
    }
    if resource == c.m.abi.misc.RLIMIT_NOFILE {
        if cur > 65536 {
            return Err(Errno::EPERM);
        }
        c.proc_mut().fds.set_limit(cur as usize);
    }
    Ok(())
}

fn put_limit<R: RegisterFile>(c: &mut Call<'_, R>, va: u64, l: (u64, u64)) -> SysResult<()> {
    let mut b = [0u8; 16];
    b[0..8].copy_from_slice(&l.0.to_le_bytes());
    b[8..16].copy_from_slice(&l.1.to_le_bytes());
    c.write_bytes(va, &b)
}

fn sys_prlimit64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (pid, res, new, old) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3));
    if pid != 0 && pid as Pid != c.pid {
        return Err(Errno::EPERM);
    }
    let cur = limit(c, res)?;
    if new != 0 {
        set_limit(c, res, new)?;
    }
    if old != 0 {
        put_limit(c, old, cur)?;
    }
    Ok(Done::Val(0))
}

fn sys_getrlimit<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let l = limit(c, c.arg(0))?;
    put_limit(c, c.arg(1), l)?;
    Ok(Done::Val(0))
}

fn sys_setrlimit<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    limit(c, c.arg(0))?;
    set_limit(c, c.arg(0), c.arg(1))?;
    Ok(Done::Val(0))
}

fn sys_uname<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let mut b = [0u8; 390];
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"spin",
        b"6.1.0-spin",
        b"#1 SPIN",
        c.m.abi.uname_machine(),
        b"(none)",
    ];
    for (i, f) in fields.iter().enumerate() {
        b[i * 65..i * 65 + f.len()].copy_from_slice(f);
    }
    c.write_bytes(c.arg(0), &b)?;
    Ok(Done::Val(0))
}

fn sys_sysinfo<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let mut b = [0u8; 112];
    let phys = &c.m.kernel.phys;
    let unit = phys.frame_size();
    let put =
        |b: &mut [u8; 112], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut b, 0, c.now() / 1_000_000_000);
    put(&mut b, 32, phys.total_frames());
    put(&mut b, 40, phys.free_frames());
    b[80..82].copy_from_slice(&(c.m.procs.len() as u16).to_le_bytes());
    b[104..108].copy_from_slice(&(unit as u32).to_le_bytes());
    c.write_bytes(c.arg(0), &b)?;
    Ok(Done::Val(0))
}

fn sys_getrandom<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(2) & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = c.arg(1).min(1 << 25) as usize;
    let mut buf = vec![0u8; len];
    c.m.vfs.random_bytes(&mut buf);
    c.write_bytes(c.arg(0), &buf)?;
    Ok(Done::Val(len as u64))
}

fn sys_futex<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    const WAIT: u64 = 0;
    const WAKE: u64 = 1;
    const REQUEUE: u64 = 3;
    const CMP_REQUEUE: u64 = 4;
    const WAIT_BITSET: u64 = 9;
    const WAKE_BITSET: u64 = 10;
    let (uaddr, op, val, tsp, uaddr2, val3) =
        (c.arg(0), c.arg(1), c.arg(2), c.arg(3), c.arg(4), c.arg(5));
    let cmd = op & 0x7f;
    if uaddr & 3 != 0 {
        return Err(Errno::EINVAL);
    }
    let vm = c.vm();
    match cmd {
        WAIT | WAIT_BITSET => {
            if cmd == WAIT_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            if std::mem::take(&mut c.thread_mut().futex_woken) {
                return Ok(Done::Val(0));
            }
            let cur = c.read_u32(uaddr)?;
            if cur != val as u32 {
                return Err(Errno::EAGAIN);
            }
            let timeout = if tsp == 0 {
                None
            } else {
                let t = read_timespec(c, tsp)?;
                Some(if cmd == WAIT_BITSET {
                    // Absolute, against the monotonic (or realtime) clock.
                    let now = if op & 256 != 0 {
                        c.m.boot_epoch_ns + c.now()
                    } else {
                        c.now()
                    };
                    t.saturating_sub(now)
                } else {
                    t
                })
            };
            let key = (Arc::as_ptr(&vm) as usize, uaddr);
            let tid = c.tid;
            let q = c.m.futexes.entry(key).or_default();
            if !q.contains(&tid) {
                q.push_back(tid);
            }
            match timeout {
                None => Ok(Done::Block { restartable: true }),
                Some(t) => match c.block_until(None, t, false)? {
                    Some(d) => Ok(d),
                    None => {
                        if let Some(q) = c.m.futexes.get_mut(&key) {
                            q.retain(|&x| x != tid);
                        }
                        Err(Errno::ETIMEDOUT)
                    }
                },
            }
        }
        WAKE | WAKE_BITSET => {
            let n = (val as u32).min(i32::MAX as u32) as usize;
            Ok(Done::Val(c.m.futex_wake(&vm, uaddr, n, c.host) as u64))
        }
        REQUEUE | CMP_REQUEUE => {
            if cmd == CMP_REQUEUE && c.read_u32(uaddr)? != val3 as u32 {
                return Err(Errno::EAGAIN);
            }
            let woken = c.m.futex_wake(&vm, uaddr, val as usize, c.host);
            let limit = tsp as u32 as usize;
            let from = (Arc::as_ptr(&vm) as usize, uaddr);
            let to = (Arc::as_ptr(&vm) as usize, uaddr2);
            let mut moved = Vec::new();
            if let Some(q) = c.m.futexes.get_mut(&from) {
                while moved.len() < limit {
                    match q.pop_front() {
                        Some(t) => moved.push(t),
                        None => break,
                    }
                }
                if q.is_empty() {
                    c.m.futexes.remove(&from);
                }
            }
            let n = moved.len();
            c.m.futexes.entry(to).or_default().extend(moved);
            Ok(Done::Val((woken + n) as u64))
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn sys_sched_getaffinity<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let len = c.arg(1);
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    c.write_u64(c.arg(2), 1)?;
    Ok(Done::Val(8))
}

fn sys_getrusage<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    c.write_bytes(c.arg(1), &[0u8; 144])?;
    Ok(Done::Val(0))
}

fn sys_times<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let ticks = c.now() / 10_000_000;
    if c.arg(0) != 0 {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&ticks.to_le_bytes());
        c.write_bytes(c.arg(0), &b)?;
    }
    Ok(Done::Val(ticks))
}

fn sys_prctl<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    match c.arg(0) {
        // PR_SET_NAME, PR_GET_NAME, PR_SET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE
        15 | 16 | 1 | 3 | 4 => {
            if c.arg(0) == 16 {
                c.write_bytes(c.arg(1), b"spin\0")?;
            }
            Ok(Done::Val(0))
        }
        _ => Err(Errno::EINVAL),
    }
}

fn sys_getpriority<R: RegisterFile>(_c: &mut Call<'_, R>) -> SysResult<Done> {
    // The kernel returns 20 - nice.
    Ok(Done::Val(20))
}

fn sys_osf_getsysinfo<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    match c.arg(0) {
        alpha_misc::GSI_IEEE_FP_CONTROL => {
            let w = c.regs.sw_fp_control();
            c.write_u64(c.arg(1), w)?;
            Ok(Done::Val(0))
        }
        alpha_misc::GSI_UACPROC => {
            c.write_u32(c.arg(1), 0)?;
            Ok(Done::Val(0))
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

fn sys_osf_setsysinfo<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    match c.arg(0) {
        alpha_misc::SSI_IEEE_FP_CONTROL => {
            let w = c.read_u64(c.arg(1))?;
            c.regs.set_sw_fp_control(w);
            Ok(Done::Val(0))
        }
        alpha_misc::SSI_IEEE_STATE_AT_SIGNAL
        | alpha_misc::SSI_IEEE_IGNORE_STATE_AT_SIGNAL
        | alpha_misc::SSI_NVPAIRS => Ok(Done::Val(0)),
        _ => Err(Errno::EOPNOTSUPP),
    }
}
