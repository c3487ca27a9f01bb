//! Signal calls: actions, masks, alternate stacks, returns from handlers,
//! suspension and interval timers.

use spin_fs::{Errno, SysResult};
use spin_kernel::RegisterFile;

use super::{Call, Done, SysFn};
use crate::abi::alpha::sig as sa;
use crate::process::AltStack;
use crate::signal::{self, bit, num, SigAction, SigInfo, NSIG, SIG_DFL, SIG_IGN, UNBLOCKABLE};

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

fn sig_arg(v: u64) -> SysResult<u32> {
    if v == 0 || v as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    Ok(v as u32)
}

fn sys_rt_sigaction<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let sig = sig_arg(c.arg(0))?;
    let (act, oact, size, restorer) = (c.arg(1), c.arg(2), c.arg(3), c.arg(4));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        if sig == num::SIGKILL || sig == num::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let b = c.read_bytes(act, 24)?;
        Some(SigAction {
            handler: u64::from_le_bytes(b[0..8].try_into().expect("8 bytes")),
            flags: u64::from(u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"))),
            mask: u64::from_le_bytes(b[16..24].try_into().expect("8 bytes")) & !UNBLOCKABLE,
            restorer,
        })
    } else {
        None
    };
    let old = c.proc().actions[sig as usize];
    if oact != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&old.handler.to_le_bytes());
        b[8..16].copy_from_slice(&old.flags.to_le_bytes());
        b[16..24].copy_from_slice(&old.mask.to_le_bytes());
        c.write_bytes(oact, &b)?;
    }
    if let Some(a) = new {
        let discard = a.handler == SIG_IGN
            || (a.handler == SIG_DFL
                && matches!(signal::default_action(sig), signal::Default::Ignore));
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
        let new = match how {
            1 => old | s,
            2 => old & !s,
            3 => s,
            _ => return Err(Errno::EINVAL),
        };
        c.thread_mut().mask = new & !UNBLOCKABLE;
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
    let new = c.read_u64(c.arg(0))? & !UNBLOCKABLE;
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
    let (ss, old) = (c.arg(0), c.arg(1));
    let cur = c.thread().altstack;
    let sp = c.regs.sp();
    let on = cur.flags & sa::SS_DISABLE == 0 && sp > cur.sp && sp <= cur.sp + cur.size;
    if old != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&cur.sp.to_le_bytes());
        let flags = if on {
            sa::SS_ONSTACK
        } else {
            cur.flags & sa::SS_DISABLE
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
        if flags != 0 && flags != sa::SS_DISABLE && flags != sa::SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        let stack = if flags == sa::SS_DISABLE {
            AltStack {
                sp: 0,
                size: 0,
                flags: sa::SS_DISABLE,
            }
        } else {
            if new.size < sa::MINSIGSTKSZ {
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
        return bad_frame(c);
    };
    let mask = signal::sigreturn(c.regs, &sc);
    c.thread_mut().mask = mask & !UNBLOCKABLE;
    Ok(Done::Raw)
}

fn sys_rt_sigreturn<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let frame = c.read_bytes(c.arg(0), signal::RT_SIGRETURN_READ as usize);
    let Ok(frame) = frame else {
        return bad_frame(c);
    };
    let (mask, (sp, flags, size)) = signal::rt_sigreturn(c.regs, &frame);
    let t = c.thread_mut();
    t.mask = mask & !UNBLOCKABLE;
    if flags & sa::SS_DISABLE != 0 {
        t.altstack = AltStack {
            sp: 0,
            size: 0,
            flags: sa::SS_DISABLE,
        };
    } else if size >= sa::MINSIGSTKSZ {
        t.altstack = AltStack { sp, size, flags: 0 };
    }
    Ok(Done::Raw)
}

/// A frame that cannot be read: the process dies of SIGSEGV (as Linux's
/// `force_sig(SIGSEGV)` on a bad sigreturn).
fn bad_frame<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let tid = c.tid;
    let info = SigInfo::fault(num::SIGSEGV, signal::code::SI_KERNEL, c.arg(0));
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
