//! Time calls. Guest time is machine time (instructions retired), so a
//! replayed run sees the same clock; `CLOCK_REALTIME` adds the host's wall
//! clock at boot.

use spin_fs::{Errno, SysResult};
use spin_kernel::RegisterFile;

use super::{put_timespec, read_timespec, Call, Done, SysFn};

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("clock_gettime", sys_clock_gettime as SysFn<R>),
        ("clock_getres", sys_clock_getres),
        ("gettimeofday", sys_gettimeofday),
        ("nanosleep", sys_nanosleep),
        ("clock_nanosleep", sys_clock_nanosleep),
    ]);
}

/// Calls only x86-64 has.
pub(super) fn register_x86_64<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([("time", sys_time as SysFn<R>)]);
}

/// `time(tloc)`: seconds since the epoch, also stored at `tloc` if given.
fn sys_time<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let secs = (c.m.boot_epoch_ns + now(c)) / 1_000_000_000;
    if c.arg(0) != 0 {
        c.write_u64(c.arg(0), secs)?;
    }
    Ok(Done::Val(secs))
}

/// The guest's "now": machine time, or host time since the mound started
/// when it reads the host's clock (`UnixConfig::host_clock`).
fn now<R: RegisterFile>(c: &Call<'_, R>) -> u64 {
    if c.m.cfg.host_clock {
        c.m.host_epoch.elapsed().as_nanos() as u64
    } else {
        c.now()
    }
}

fn clock_ns<R: RegisterFile>(c: &Call<'_, R>, clock: u64) -> SysResult<u64> {
    match clock {
        0 | 5 | 8 | 11 => Ok(c.m.boot_epoch_ns + now(c)),
        1 | 2 | 3 | 4 | 6 | 7 | 9 => Ok(now(c)),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_clock_gettime<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let ns = clock_ns(c, c.arg(0))?;
    put_timespec(c, c.arg(1), ns)?;
    Ok(Done::Val(0))
}

fn sys_clock_getres<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    clock_ns(c, c.arg(0))?;
    if c.arg(1) != 0 {
        put_timespec(c, c.arg(1), 1)?;
    }
    Ok(Done::Val(0))
}

fn sys_gettimeofday<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let ns = c.m.boot_epoch_ns + now(c);
    if c.arg(0) != 0 {
        let mut b = [0u8; 16];
        b[0..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[8..16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
        c.write_bytes(c.arg(0), &b)?;
    }
    if c.arg(1) != 0 {
        c.write_bytes(c.arg(1), &[0u8; 8])?;
    }
    Ok(Done::Val(0))
}

fn sleep<R: RegisterFile>(c: &mut Call<'_, R>, ns: u64, rem: u64) -> SysResult<Done> {
    match c.block_until(None, ns, false)? {
        Some(d) => {
            c.thread_mut().sleep_rem = (rem != 0).then_some(rem);
            Ok(d)
        }
        None => Ok(Done::Val(0)),
    }
}

fn sys_nanosleep<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let ns = read_timespec(c, c.arg(0))?;
    sleep(c, ns, c.arg(1))
}

fn sys_clock_nanosleep<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let now = clock_ns(c, c.arg(0))?;
    let t = read_timespec(c, c.arg(2))?;
    let absolute = c.arg(1) & 1 != 0;
    let ns = if absolute { t.saturating_sub(now) } else { t };
    sleep(c, ns, if absolute { 0 } else { c.arg(3) })
}
