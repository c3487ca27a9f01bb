//! Data transfer on descriptors: read/write in their forms, pipes,
//! `sendfile` and `poll`. Calls that would wait block the strand on the
//! object's wait key; a bad buffer fails before anything is consumed.

use spin_fs::{Errno, SysResult, Whence};
use spin_kernel::RegisterFile;

use super::{iovecs, read_timespec, Call, Done, SysFn};
use crate::signal::SigInfo;

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("read", sys_read as SysFn<R>),
        ("write", sys_write),
        ("readv", sys_readv),
        ("writev", sys_writev),
        ("pread64", sys_pread64),
        ("pwrite64", sys_pwrite64),
        ("pipe", sys_pipe),
        ("pipe2", sys_pipe2),
        ("sendfile", sys_sendfile),
        ("poll", sys_poll),
        ("ppoll", sys_ppoll),
        ("select", sys_select),
        ("pselect6", sys_pselect6),
    ]);
}

/// Largest single transfer (Linux clamps to 0x7ffff000).
const MAX_RW: u64 = 0x7fff_f000;

/// Chunk for copying between guest memory and files.
const CHUNK: usize = 1 << 20;

/// Common read path: blocks the strand on an empty pipe or console.
fn do_read<R: RegisterFile>(
    c: &mut Call<'_, R>,
    fd: u64,
    buf: u64,
    len: u64,
    off: Option<u64>,
) -> SysResult<Done> {
    let f = c.fd(fd)?;
    if !f.flags().read {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW) as usize;
    if len == 0 {
        return Ok(Done::Val(0));
    }
    if let Some(b) = f.backing() {
        c.m.mm.writeback(b.id());
    }
    let mut data = vec![0u8; len.min(CHUNK)];
    // A bad buffer must fail before anything is consumed (Linux leaves pipe
    // data and the file position alone on EFAULT).
    c.probe_writable(buf, len.min(CHUNK))?;
    let mut done = 0usize;
    loop {
        let want = (len - done).min(CHUNK);
        let r = match off {
            Some(o) => f.pread(&mut data[..want], o + done as u64),
            None => f.read(&mut data[..want]),
        };
        match r {
            Ok(0) => break,
            Ok(n) => {
                c.write_bytes(buf + done as u64, &data[..n])?;
                done += n;
                if n < want || done == len || f.backing().is_none() {
                    break;
                }
            }
            Err(Errno::EAGAIN) if done == 0 => {
                if f.flags().nonblock {
                    return Err(Errno::EAGAIN);
                }
                return c.block_on(f.wait_key());
            }
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Done::Val(done as u64))
}

/// A write hit a pipe without readers: the writer gets SIGPIPE and EPIPE.
fn broken_pipe<R: RegisterFile>(c: &mut Call<'_, R>) -> Errno {
    let (pid, uid, tid) = (c.pid, c.m.cfg.uid, c.tid);
    c.m.signal_thread(tid, SigInfo::user(c.m.abi.signo.SIGPIPE, pid, uid), c.host);
    Errno::EPIPE
}

/// Common write path: blocks on a full pipe, raises SIGPIPE on a broken one.
fn do_write<R: RegisterFile>(
    c: &mut Call<'_, R>,
    fd: u64,
    buf: u64,
    len: u64,
    off: Option<u64>,
) -> SysResult<Done> {
    let f = c.fd(fd)?;
    if !f.flags().write {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW) as usize;
    if len == 0 {
        return Ok(Done::Val(0));
    }
    let mut done = 0usize;
    while done < len {
        let want = (len - done).min(CHUNK);
        let data = c.read_bytes(buf + done as u64, want).or_else(|e| {
            if done > 0 {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })?;
        if data.is_empty() {
            break;
        }
        let r = match off {
            Some(o) => f.pwrite(&data, o + done as u64),
            None => f.write(&data),
        };
        match r {
            Ok(n) => {
                if let Some(b) = f.backing() {
                    let at = off.unwrap_or_else(|| {
                        f.seek(0, Whence::Cur).unwrap_or(0).saturating_sub(n as u64)
                    });
                    c.m.mm.file_changed(
                        b.id(),
                        at + if off.is_some() { done as u64 } else { 0 },
                        n as u64,
                    );
                }
                done += n;
                if n < want {
                    break;
                }
            }
            Err(Errno::EAGAIN) if done == 0 => {
                if f.flags().nonblock {
                    return Err(Errno::EAGAIN);
                }
                return c.block_on(f.wait_key());
            }
            Err(Errno::EPIPE) if done == 0 => return Err(broken_pipe(c)),
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Done::Val(done as u64))
}

fn sys_read<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    do_read(c, c.arg(0), c.arg(1), c.arg(2), None)
}

fn sys_write<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    do_write(c, c.arg(0), c.arg(1), c.arg(2), None)
}

fn sys_pread64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if (c.arg(3) as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    do_read(c, c.arg(0), c.arg(1), c.arg(2), Some(c.arg(3)))
}

fn sys_pwrite64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if (c.arg(3) as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    do_write(c, c.arg(0), c.arg(1), c.arg(2), Some(c.arg(3)))
}

fn sys_readv<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let iov = iovecs(c, c.arg(1), c.arg(2))?;
    let mut total = 0u64;
    for (base, len) in iov {
        if len == 0 {
            continue;
        }
        match do_read(c, c.arg(0), base, len, None) {
            Ok(Done::Val(n)) => {
                total += n;
                if n < len {
                    break;
                }
            }
            Ok(other) if total == 0 => return Ok(other),
            Ok(_) => break,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(Done::Val(total))
}

fn sys_writev<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let iov = iovecs(c, c.arg(1), c.arg(2))?;
    // Gather first so one write reaches the file (atomic for pipes and consoles).
    let mut data = Vec::new();
    for (base, len) in iov {
        if data.len() as u64 + len > MAX_RW {
            break;
        }
        data.extend(c.read_bytes(base, len as usize)?);
    }
    let f = c.fd(c.arg(0))?;
    if !f.flags().write {
        return Err(Errno::EBADF);
    }
    if data.is_empty() {
        return Ok(Done::Val(0));
    }
    match f.write(&data) {
        Ok(n) => {
            if let Some(b) = f.backing() {
                let end = f.seek(0, Whence::Cur).unwrap_or(0);
                c.m.mm
                    .file_changed(b.id(), end.saturating_sub(n as u64), n as u64);
            }
            Ok(Done::Val(n as u64))
        }
        Err(Errno::EAGAIN) if !f.flags().nonblock => c.block_on(f.wait_key()),
        Err(Errno::EPIPE) => Err(broken_pipe(c)),
        Err(e) => Err(e),
    }
}

fn make_pipe<R: RegisterFile>(c: &mut Call<'_, R>, flags: u64) -> SysResult<(i32, i32)> {
    let o = c.m.abi.o;
    if flags & !(o.CLOEXEC | o.NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let (r, w) = c.m.vfs.pipe();
    if flags & o.NONBLOCK != 0 {
        r.set_nonblock(true);
        w.set_nonblock(true);
    }
    let cloexec = flags & o.CLOEXEC != 0;
    let fds = &mut c.proc_mut().fds;
    let rfd = fds.insert(r, cloexec)?;
    match fds.insert(w, cloexec) {
        Ok(wfd) => Ok((rfd, wfd)),
        Err(e) => {
            let _ = fds.close(rfd);
            Err(e)
        }
    }
}

/// Alpha's `pipe()`: the two descriptors come back in v0 and a4; x86-64's
/// `pipe(fds)` stores them like `pipe2(fds, 0)`.
fn sys_pipe<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.m.abi.arch == spin_kernel::Arch::X86_64 {
        return pipe_into(c, c.arg(0), 0);
    }
    let (r, w) = make_pipe(c, 0)?;
    Ok(Done::Val2(r as u64, w as u64))
}

fn sys_pipe2<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    pipe_into(c, c.arg(0), c.arg(1))
}

fn pipe_into<R: RegisterFile>(c: &mut Call<'_, R>, va: u64, flags: u64) -> SysResult<Done> {
    let o = c.m.abi.o;
    if flags & !(o.CLOEXEC | o.NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // Check the target first so a bad pointer leaks no descriptors.
    c.probe_writable(va, 8)?;
    let (r, w) = make_pipe(c, flags)?;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&r.to_le_bytes());
    b[4..].copy_from_slice(&w.to_le_bytes());
    c.write_bytes(va, &b)?;
    Ok(Done::Val(0))
}

fn sys_sendfile<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let out = c.fd(c.arg(0))?;
    let inp = c.fd(c.arg(1))?;
    if !out.flags().write || !inp.flags().read {
        return Err(Errno::EBADF);
    }
    let off_va = c.arg(2);
    let mut off = if off_va != 0 {
        Some(c.read_u64(off_va)?)
    } else {
        None
    };
    let count = c.arg(3).min(MAX_RW) as usize;
    let mut buf = vec![0u8; count.min(CHUNK)];
    let mut total = 0usize;
    while total < count {
        // Nothing is read that the output cannot take now: a full socket
        // or pipe waits (or is EAGAIN) before the input moves.
        if !out.poll().writable {
            if total > 0 {
                break;
            }
            if out.flags().nonblock {
                return Err(Errno::EAGAIN);
            }
            return c.block_on(out.wait_key());
        }
        let want = (count - total).min(CHUNK);
        let n = match off {
            Some(o) => inp.pread(&mut buf[..want], o)?,
            None => match inp.read(&mut buf[..want]) {
                Err(Errno::EAGAIN) if total == 0 => return c.block_on(inp.wait_key()),
                Err(Errno::EAGAIN) => break,
                r => r?,
            },
        };
        if n == 0 {
            break;
        }
        let w = match out.write(&buf[..n]) {
            Err(Errno::EPIPE) if total == 0 => return Err(broken_pipe(c)),
            Err(Errno::EAGAIN) | Err(Errno::EPIPE) => 0,
            r => r?,
        };
        total += w;
        if let Some(o) = off.as_mut() {
            *o += w as u64;
        } else if w < n {
            // Give back what the output did not take.
            let _ = inp.seek(-((n - w) as i64), Whence::Cur);
        }
        if w < n {
            break;
        }
    }
    if let Some(o) = off {
        c.write_u64(off_va, o)?;
    }
    Ok(Done::Val(total as u64))
}

/// `poll` event bits (same on Alpha and x86-64).
const POLLIN: u16 = 0x1;

const POLLOUT: u16 = 0x4;

const POLLERR: u16 = 0x8;

const POLLHUP: u16 = 0x10;

const POLLNVAL: u16 = 0x20;

fn poll_common<R: RegisterFile>(
    c: &mut Call<'_, R>,
    fds_va: u64,
    nfds: u64,
    timeout: Option<u64>,
) -> SysResult<Done> {
    if nfds > 4096 {
        return Err(Errno::EINVAL);
    }
    let mut raw = c.read_bytes(fds_va, nfds as usize * 8)?;
    let mut ready = 0u64;
    let mut keys = Vec::new();
    for ch in raw.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes(ch[0..4].try_into().expect("4 bytes"));
        let events = u16::from_le_bytes([ch[4], ch[5]]);
        let mut rev = 0u16;
        if fd >= 0 {
            match c.proc().fds.get(fd) {
                Err(_) => rev = POLLNVAL,
                Ok(f) => {
                    let r = f.poll();
                    if r.readable && events & POLLIN != 0 {
                        rev |= POLLIN;
                    }
                    if r.writable && events & POLLOUT != 0 {
                        rev |= POLLOUT;
                    }
                    if r.hangup {
                        rev |= POLLHUP;
                    }
                    if r.error {
                        rev |= POLLERR;
                    }
                    keys.push(f.wait_key());
                }
            }
        }
        ch[6..8].copy_from_slice(&rev.to_le_bytes());
        if rev != 0 {
            ready += 1;
        }
    }
    answer_or_wait(c, ready, keys, timeout, |c| c.write_bytes(fds_va, &raw))
}

/// The end of `poll` and `select`: with `ready` descriptors (or a zero
/// timeout) the results are written back and the count returned; otherwise
/// the thread waits on every key (`EINTR` if a signal is pending) until one
/// changes or the timeout ends, when the (empty) results are written back.
fn answer_or_wait<R: RegisterFile>(
    c: &mut Call<'_, R>,
    ready: u64,
    keys: Vec<u64>,
    timeout: Option<u64>,
    write_back: impl FnOnce(&Call<'_, R>) -> SysResult<()>,
) -> SysResult<Done> {
    if ready > 0 || timeout == Some(0) {
        write_back(c)?;
        return Ok(Done::Val(ready));
    }
    if c.signal_pending() {
        return Err(Errno::EINTR);
    }
    for k in keys {
        c.m.wait_on(c.tid, k);
    }
    match timeout {
        None => Ok(Done::Block { restartable: false }),
        Some(t) => match c.block_until(None, t, false)? {
            Some(d) => Ok(d),
            None => {
                write_back(c)?;
                Ok(Done::Val(0))
            }
        },
    }
}

fn sys_poll<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let t = c.arg(2) as i64 as i32;
    let timeout = (t >= 0).then(|| t as u64 * 1_000_000);
    poll_common(c, c.arg(0), c.arg(1), timeout)
}

fn sys_ppoll<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let timeout = if c.arg(2) == 0 {
        None
    } else {
        Some(read_timespec(c, c.arg(2))?)
    };
    poll_common(c, c.arg(0), c.arg(1), timeout)
}

/// `select`'s three descriptor sets, read from the guest (`fd_set` is an
/// array of 64-bit words on both architectures).
struct FdSets {
    nfds: usize,
    sets: [Option<(u64, Vec<u64>)>; 3],
}

impl FdSets {
    fn read<R: RegisterFile>(c: &Call<'_, R>, nfds: u64, vas: [u64; 3]) -> SysResult<FdSets> {
        if nfds > 1024 {
            return Err(Errno::EINVAL);
        }
        let words = (nfds as usize).div_ceil(64);
        let mut sets: [Option<(u64, Vec<u64>)>; 3] = [None, None, None];
        for (slot, va) in sets.iter_mut().zip(vas) {
            if va != 0 {
                let b = c.read_bytes(va, words * 8)?;
                let w = b
                    .chunks_exact(8)
                    .map(|x| u64::from_le_bytes(x.try_into().expect("8 bytes")))
                    .collect();
                *slot = Some((va, w));
            }
        }
        Ok(FdSets {
            nfds: nfds as usize,
            sets,
        })
    }

    fn has(&self, set: usize, fd: usize) -> bool {
        self.sets[set]
            .as_ref()
            .is_some_and(|(_, w)| w[fd / 64] >> (fd % 64) & 1 != 0)
    }
}

/// `select`/`pselect6`: which of the requested descriptors are ready;
/// waits on all of them (with the timeout) when none is. A descriptor that
/// is not open is `EBADF`.
fn select_common<R: RegisterFile>(
    c: &mut Call<'_, R>,
    sets: FdSets,
    timeout: Option<u64>,
) -> SysResult<Done> {
    let mut out: [Vec<u64>; 3] =
        std::array::from_fn(|i| vec![0u64; sets.sets[i].as_ref().map_or(0, |(_, w)| w.len())]);
    let mut ready = 0u64;
    let mut keys = Vec::new();
    for fd in 0..sets.nfds {
        let want = [sets.has(0, fd), sets.has(1, fd), sets.has(2, fd)];
        if !want.iter().any(|&w| w) {
            continue;
        }
        let f = c.proc().fds.get(fd as i32).map_err(|_| Errno::EBADF)?;
        let r = f.poll();
        let got = [
            want[0] && (r.readable || r.hangup || r.error),
            want[1] && (r.writable || r.error),
            // No exceptional conditions: the stack has no urgent data.
            false,
        ];
        for (i, g) in got.iter().enumerate() {
            if *g {
                out[i][fd / 64] |= 1 << (fd % 64);
                ready += 1;
            }
        }
        keys.push(f.wait_key());
    }
    let write_back = |c: &Call<'_, R>| -> SysResult<()> {
        for (i, s) in sets.sets.iter().enumerate() {
            if let Some((va, _)) = s {
                let b: Vec<u8> = out[i].iter().flat_map(|w| w.to_le_bytes()).collect();
                c.write_bytes(*va, &b)?;
            }
        }
        Ok(())
    };
    answer_or_wait(c, ready, keys, timeout, write_back)
}

fn sys_select<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let sets = FdSets::read(c, c.arg(0), [c.arg(1), c.arg(2), c.arg(3)])?;
    let timeout = if c.arg(4) == 0 {
        None
    } else {
        let b = c.read_bytes(c.arg(4), 16)?;
        let s = i64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
        let us = i64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
        if s < 0 || us < 0 {
            return Err(Errno::EINVAL);
        }
        Some(
            (s as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add((us as u64).saturating_mul(1000)),
        )
    };
    select_common(c, sets, timeout)
}

fn sys_pselect6<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let sets = FdSets::read(c, c.arg(0), [c.arg(1), c.arg(2), c.arg(3)])?;
    let timeout = if c.arg(4) == 0 {
        None
    } else {
        Some(read_timespec(c, c.arg(4))?)
    };
    select_common(c, sets, timeout)
}
