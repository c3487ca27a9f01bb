//! Signal calls: actions, masks, alternate stacks, returns from handlers,
//! suspension and interval timers.

use spin_fs::{Errno, SysResult};
use spin_kernel::RegisterFile;

use spin_kernel::Arch;

use super::{Call, Done, SysFn};
use crate::abi::x86_64::layout as x86;
use crate::process::AltStack;
use crate::signal::{self, bit, SigAction, SigInfo, NSIG, SIG_DFL, SIG_IGN};

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("rt_sigaction", sys_rt_sigaction as SysFn<R>),
        ("rt_sigprocmask", sys_rt_sigprocmask),
        ("rt_sigpending", sys_rt_sigpending),
        ("rt_sigsuspend", sys_rt_sigsuspend),
        ("sigaltstack", sys_sigaltstack),
        ("sigreturn", sys_sigreturn),
        ("rt_sigreturn", sys_rt_sigreturn),
        ("setitimer", sys_setitimer),
        ("getitimer", sys_getitimer),
        ("rt_sigqueueinfo", sys_rt_sigqueueinfo),
    ]);
}

/// Calls only x86-64 has (Alpha's libc builds them from `setitimer` and
/// `sigsuspend`).
pub(super) fn register_x86_64<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([("alarm", sys_alarm as SysFn<R>), ("pause", sys_pause)]);
}

/// `alarm(seconds)`: `ITIMER_REAL` without an interval; returns the
/// seconds the previous alarm had left, rounded as Linux rounds them.
fn sys_alarm<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let secs = c.arg(0) as u32;
    let now = c.now();
    let timer = (secs > 0).then(|| (now + u64::from(secs) * 1_000_000_000, 0));
    let pid = c.pid;
    let old = c.m.set_itimer(pid, timer);
    let left = old.map_or(0, |(at, _)| at.saturating_sub(now));
    let (s, us) = (left / 1_000_000_000, (left % 1_000_000_000) / 1000);
    let rounded = if (s == 0 && us > 0) || us >= 500_000 {
        s + 1
    } else {
        s
    };
    Ok(Done::Val(rounded))
}

/// `pause()`: sleeps until a signal is delivered; then fails with EINTR.
fn sys_pause<R: RegisterFile>(_c: &mut Call<'_, R>) -> SysResult<Done> {
    Ok(Done::Block { restartable: false })
}

fn sig_arg(v: u64) -> SysResult<u32> {
    if v == 0 || v as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    Ok(v as u32)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// The kernel's `struct sigaction` of the guest architecture → ours.
/// Alpha: handler, flags (u32), mask; the restorer is `rt_sigaction`'s
/// fifth argument. x86-64: handler, flags, restorer, mask.
fn read_sigaction<R: RegisterFile>(c: &Call<'_, R>, va: u64) -> SysResult<SigAction> {
    let unblockable = c.m.abi.unblockable();
    Ok(match c.m.abi.arch {
        Arch::Alpha => {
            let b = c.read_bytes(va, 24)?;
            SigAction {
                handler: u64_at(&b, 0),
                flags: u64::from(u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"))),
                mask: u64_at(&b, 16) & !unblockable,
                restorer: c.arg(4),
            }
        }
        Arch::X86_64 => {
            let b = c.read_bytes(va, x86::SIGACTION_SIZE)?;
            SigAction {
                handler: u64_at(&b, 0),
                flags: u64_at(&b, x86::SA_FLAGS) & 0xffff_ffff,
                mask: u64_at(&b, x86::SA_MASK) & !unblockable,
                restorer: u64_at(&b, x86::SA_RESTORER),
            }
        }
    })
}

/// Ours → the guest's `struct sigaction` bytes.
fn sigaction_bytes(arch: Arch, a: &SigAction) -> Vec<u8> {
    match arch {
        Arch::Alpha => {
            let mut b = vec![0u8; 24];
            b[0..8].copy_from_slice(&a.handler.to_le_bytes());
            b[8..16].copy_from_slice(&a.flags.to_le_bytes());
            b[16..24].copy_from_slice(&a.mask.to_le_bytes());
            b
        }
        Arch::X86_64 => {
            let mut b = vec![0u8; x86::SIGACTION_SIZE];
            b[0..8].copy_from_slice(&a.handler.to_le_bytes());
            b[x86::SA_FLAGS..x86::SA_FLAGS + 8].copy_from_slice(&a.flags.to_le_bytes());
            b[x86::SA_RESTORER..x86::SA_RESTORER + 8].copy_from_slice(&a.restorer.to_le_bytes());
            b[x86::SA_MASK..x86::SA_MASK + 8].copy_from_slice(&a.mask.to_le_bytes());
            b
        }
    }
}

fn sys_rt_sigaction<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let sig = sig_arg(c.arg(0))?;
    let (act, oact, size) = (c.arg(1), c.arg(2), c.arg(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let s = c.m.abi.signo;
    let new = if act != 0 {
        if sig == s.SIGKILL || sig == s.SIGSTOP {
            return Err(Errno::EINVAL);
        }
        Some(read_sigaction(c, act)?)
    } else {
        None
    };
    let old = c.proc().actions[sig as usize];
    if oact != 0 {
        let b = sigaction_bytes(c.m.abi.arch, &old);
        c.write_bytes(oact, &b)?;
    }
    if let Some(a) = new {
        let discard = a.handler == SIG_IGN
            || (a.handler == SIG_DFL
                && matches!(signal::default_action(s, sig), signal::Default::Ignore));
        let p = c.proc_mut();
        p.actions[sig as usize] = a;
        if discard {
            p.pending.remove(&sig);
            let threads = p.threads.clone();
            for t in threads {
                if let Some(t) = c.m.threads.get_mut(&t) {
                    t.pending.remove(&sig);
                }
            }
        }
    }
    Ok(Done::Val(0))
}

fn sys_rt_sigprocmask<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (how, set, oset, size) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let old = c.thread().mask;
    if set != 0 {
        let s = c.read_u64(set)?;
        let sa = c.m.abi.sa;
        let new = match how {
            h if h == sa.SIG_BLOCK => old | s,
            h if h == sa.SIG_UNBLOCK => old & !s,
            h if h == sa.SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        c.thread_mut().mask = new & !c.m.abi.unblockable();
    }
    if oset != 0 {
        c.write_u64(oset, old)?;
    }
    Ok(Done::Val(0))
}

fn sys_rt_sigpending<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let t = c.thread();
    let mut set = 0u64;
    for &s in t.pending.keys().chain(c.proc().pending.keys()) {
        set |= bit(s);
    }
    c.write_u64(c.arg(0), set & t.mask)?;
    Ok(Done::Val(0))
}

fn sys_rt_sigsuspend<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let new = c.read_u64(c.arg(0))? & !c.m.abi.unblockable();
    let t = c.thread_mut();
    if t.saved_mask.is_none() {
        t.saved_mask = Some(t.mask);
    }
    t.mask = new;
    // Woken only by a signal; its delivery completes the call with EINTR.
    Ok(Done::Block { restartable: false })
}

fn read_stack<R: RegisterFile>(c: &Call<'_, R>, va: u64) -> SysResult<AltStack> {
    let b = c.read_bytes(va, 24)?;
    Ok(AltStack {
        sp: u64::from_le_bytes(b[0..8].try_into().expect("8 bytes")),
        flags: u64::from(u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"))),
        size: u64::from_le_bytes(b[16..24].try_into().expect("8 bytes")),
    })
}

fn sys_sigaltstack<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let sa = c.m.abi.sa;
    let (ss, old) = (c.arg(0), c.arg(1));
    let cur = c.thread().altstack;
    let sp = c.regs.sp();
    let on = cur.flags & sa.SS_DISABLE == 0 && sp > cur.sp && sp <= cur.sp + cur.size;
    if old != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&cur.sp.to_le_bytes());
        let flags = if on {
            sa.SS_ONSTACK
        } else {
            cur.flags & sa.SS_DISABLE
        };
        b[8..12].copy_from_slice(&(flags as u32).to_le_bytes());
        b[16..24].copy_from_slice(&cur.size.to_le_bytes());
        c.write_bytes(old, &b)?;
    }
    if ss != 0 {
        let new = read_stack(c, ss)?;
        if on {
            return Err(Errno::EPERM);
        }
        let flags = new.flags & !(1 << 31);
        if flags != 0 && flags != sa.SS_DISABLE && flags != sa.SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        let stack = if flags == sa.SS_DISABLE {
            AltStack {
                sp: 0,
                size: 0,
                flags: sa.SS_DISABLE,
            }
        } else {
            if new.size < sa.MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            AltStack {
                sp: new.sp,
                size: new.size,
                flags: 0,
            }
        };
        c.thread_mut().altstack = stack;
    }
    Ok(Done::Val(0))
}

fn sys_sigreturn<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let sc = c.read_bytes(c.arg(0), signal::SIGRETURN_READ as usize);
    let Ok(sc) = sc else {
        return bad_frame(c, c.arg(0));
    };
    let mask = signal::sigreturn(c.regs, &sc);
    c.thread_mut().mask = mask & !c.m.abi.unblockable();
    Ok(Done::Raw)
}

fn sys_rt_sigreturn<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.m.abi.arch == Arch::X86_64 {
        return rt_sigreturn_x86_64(c);
    }
    let frame = c.read_bytes(c.arg(0), signal::RT_SIGRETURN_READ as usize);
    let Ok(frame) = frame else {
        return bad_frame(c, c.arg(0));
    };
    let (mask, (sp, flags, size)) = signal::rt_sigreturn(c.regs, &frame);
    restore_after_handler(c, mask, (sp, flags, size));
    Ok(Done::Raw)
}

/// x86-64 `rt_sigreturn()`: the frame is just below rsp (the handler's
/// `ret` popped `pretcode`); the FP image is where `uc_mcontext.fpstate`
/// points.
fn rt_sigreturn_x86_64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    use crate::signal::x86_64 as frame_x86;
    let at = frame_x86::frame_of(&*c.regs);
    let Ok(frame) = c.read_bytes(at, x86::RT_FRAME_SIZE) else {
        return bad_frame(c, at);
    };
    let fpstate = u64_at(&frame, x86::RT_UC + x86::UC_MCONTEXT + x86::SC_FPSTATE);
    let image = if fpstate == 0 {
        None
    } else {
        match c.read_bytes(fpstate, x86::FPSTATE_SIZE) {
            Ok(b) => Some(b),
            Err(_) => return bad_frame(c, at),
        }
    };
    let mut regs = c.regs.clone();
    let r = frame_x86::rt_sigreturn(&mut regs, &frame);
    if !frame_x86::restore_fp(&mut regs, image.as_deref()) {
        return bad_frame(c, at);
    }
    *c.regs = regs;
    restore_after_handler(c, r.mask, r.stack);
    Ok(Done::Raw)
}

/// The mask and alternate stack a returning handler's frame names.
fn restore_after_handler<R: RegisterFile>(
    c: &mut Call<'_, R>,
    mask: u64,
    (sp, flags, size): (u64, u64, u64),
) {
    let sa = c.m.abi.sa;
    let unblockable = c.m.abi.unblockable();
    let t = c.thread_mut();
    t.mask = mask & !unblockable;
    if flags & sa.SS_DISABLE != 0 {
        t.altstack = AltStack {
            sp: 0,
            size: 0,
            flags: sa.SS_DISABLE,
        };
    } else if size >= sa.MINSIGSTKSZ {
        t.altstack = AltStack { sp, size, flags: 0 };
    }
}

/// A frame that cannot be read: the process dies of SIGSEGV (as Linux's
/// `force_sig(SIGSEGV)` on a bad sigreturn).
fn bad_frame<R: RegisterFile>(c: &mut Call<'_, R>, at: u64) -> SysResult<Done> {
    let tid = c.tid;
    let info = SigInfo::fault(c.m.abi.signo.SIGSEGV, signal::code::SI_KERNEL, at);
    c.m.force_signal(tid, info);
    Ok(Done::Raw)
}

fn timeval_ns(b: &[u8]) -> SysResult<u64> {
    let s = i64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
    let us = i64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    if s < 0 || !(0..1_000_000).contains(&us) {
        return Err(Errno::EINVAL);
    }
    Ok((s as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(us as u64 * 1000))
}

fn put_timeval(b: &mut [u8], ns: u64) {
    b[0..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
}

fn itimer_bytes(now: u64, t: Option<(u64, u64)>) -> [u8; 32] {
    let mut b = [0u8; 32];
    if let Some((at, interval)) = t {
        put_timeval(&mut b[0..16], interval);
        // A pending timer never reads as zero (that means "disarmed").
        put_timeval(&mut b[16..32], at.saturating_sub(now).max(1000));
    }
    b
}

fn sys_setitimer<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (which, new, old) = (c.arg(0), c.arg(1), c.arg(2));
    if which != 0 {
        return Err(Errno::EINVAL);
    }
    let now = c.now();
    let timer = if new != 0 {
        let b = c.read_bytes(new, 32)?;
        let interval = timeval_ns(&b[0..16])?;
        let value = timeval_ns(&b[16..32])?;
        (value > 0).then_some((now + value, interval))
    } else {
        None
    };
    let prev = c.proc().itimer;
    if old != 0 {
        c.write_bytes(old, &itimer_bytes(now, prev))?;
    }
    if new != 0 {
        let pid = c.pid;
        c.m.set_itimer(pid, timer);
    }
    Ok(Done::Val(0))
}

fn sys_getitimer<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(0) > 2 {
        return Err(Errno::EINVAL);
    }
    let t = if c.arg(0) == 0 { c.proc().itimer } else { None };
    let b = itimer_bytes(c.now(), t);
    c.write_bytes(c.arg(1), &b)?;
    Ok(Done::Val(0))
}

fn sys_rt_sigqueueinfo<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let pid = c.arg(0) as u32;
    let sig = sig_arg(c.arg(1))?;
    if !c.m.procs.contains_key(&pid) {
        return Err(Errno::ESRCH);
    }
    let info = SigInfo::user(sig, c.pid, c.m.cfg.uid);
    c.m.signal_process(pid, info, c.host);
    Ok(Done::Val(0))
}
