//! Descriptors: open/creat/close, lseek, dup*, fcntl (flags and record
//! locks), ioctl (the tty requests).

use spin_fs::{Errno, LockKind, LockRange, OpenFlags, SysResult, Whence};
use spin_kernel::{Arch, RegisterFile};

use super::fs::at_path;
use super::{Call, Done, SysFn};
use crate::abi::{x86_64::layout as x86, OpenBits};

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("open", sys_open as SysFn<R>),
        ("openat", sys_openat),
        ("close", sys_close),
        ("lseek", sys_lseek),
        ("dup", sys_dup),
        ("dup2", sys_dup2),
        ("dup3", sys_dup3),
        ("fcntl", sys_fcntl),
        ("ioctl", sys_ioctl),
    ]);
}

/// Calls only x86-64 has under these names.
pub(super) fn register_x86_64<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.push(("creat", sys_creat as SysFn<R>));
}

/// Guest `O_*` bits (numbered as in `o`) → the file system's flags.
pub(crate) fn open_flags(o: &OpenBits, bits: u64) -> SysResult<OpenFlags> {
    let acc = bits & o.ACCMODE;
    if acc == 3 {
        return Err(Errno::EINVAL);
    }
    if bits & o.TMPFILE == o.TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(OpenFlags {
        read: acc == 0 || acc == o.RDWR,
        write: acc == o.WRONLY || acc == o.RDWR,
        create: bits & o.CREAT != 0,
        excl: bits & o.EXCL != 0,
        trunc: bits & o.TRUNC != 0,
        append: bits & o.APPEND != 0,
        nonblock: bits & o.NONBLOCK != 0,
        directory: bits & o.DIRECTORY != 0,
        nofollow: bits & o.NOFOLLOW != 0,
        path_only: bits & o.PATH != 0,
    })
}

/// The file system's flags → guest `O_*` bits (F_GETFL).
fn flag_bits(o: &OpenBits, f: &OpenFlags) -> u64 {
    let mut b = match (f.read, f.write) {
        (true, true) => o.RDWR,
        (false, true) => o.WRONLY,
        _ => 0,
    };
    if f.append {
        b |= o.APPEND;
    }
    if f.nonblock {
        b |= o.NONBLOCK;
    }
    if f.path_only {
        b |= o.PATH;
    }
    b
}

fn open_common<R: RegisterFile>(
    c: &mut Call<'_, R>,
    dirfd: u64,
    path_va: u64,
    flags: u64,
    mode: u64,
) -> SysResult<Done> {
    let path = c.path(path_va)?;
    let (cwd, path) = at_path(c, dirfd, path)?;
    let o = c.m.abi.o;
    let of = open_flags(o, flags)?;
    let umask = c.proc().umask;
    let file = if path == b"/proc/self/exe" {
        let exe = c.proc().exe.clone();
        c.m.vfs.open(&cwd, &exe, of, mode as u32, umask)?
    } else {
        c.m.vfs.open(&cwd, &path, of, mode as u32, umask)?
    };
    if of.trunc && of.write {
        if let Some(b) = file.backing() {
            c.m.mm.file_changed(b.id(), 0, u64::MAX);
        }
    }
    let fd = c.proc_mut().fds.insert(file, flags & o.CLOEXEC != 0)?;
    Ok(Done::Val(fd as u64))
}

fn sys_open<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    open_common(
        c,
        c.m.abi.misc.AT_FDCWD as u64,
        c.arg(0),
        c.arg(1),
        c.arg(2),
    )
}

/// x86-64 `creat(path, mode)`: `open(path, O_CREAT|O_WRONLY|O_TRUNC, mode)`.
fn sys_creat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let o = c.m.abi.o;
    let flags = o.CREAT | o.WRONLY | o.TRUNC;
    open_common(c, c.m.abi.misc.AT_FDCWD as u64, c.arg(0), flags, c.arg(1))
}

fn sys_openat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    open_common(c, c.arg(0), c.arg(1), c.arg(2), c.arg(3))
}

fn sys_close<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let pid = c.pid;
    let fd = c.arg(0) as i32;
    let f = c.proc_mut().fds.close(fd)?;
    f.release_locks(pid);
    Ok(Done::Val(0))
}

fn sys_lseek<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    let whence = match c.arg(2) {
        0 => Whence::Set,
        1 => Whence::Cur,
        2 => Whence::End,
        _ => return Err(Errno::EINVAL),
    };
    Ok(Done::Val(f.seek(c.arg(1) as i64, whence)?))
}

fn sys_dup<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    Ok(Done::Val(c.proc_mut().fds.insert(f, false)? as u64))
}

fn dup_to<R: RegisterFile>(
    c: &mut Call<'_, R>,
    old: u64,
    new: u64,
    cloexec: bool,
) -> SysResult<Done> {
    let f = c.fd(old)?;
    if new as i32 as i64 != new as i64 || (new as i32) < 0 {
        return Err(Errno::EBADF);
    }
    let pid = c.pid;
    if let Some(prev) = c.proc_mut().fds.insert_at(new as i32, f, cloexec)? {
        prev.release_locks(pid);
    }
    Ok(Done::Val(new))
}

fn sys_dup2<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(0) == c.arg(1) {
        c.fd(c.arg(0))?;
        return Ok(Done::Val(c.arg(1)));
    }
    dup_to(c, c.arg(0), c.arg(1), false)
}

fn sys_dup3<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let cloexec = c.m.abi.o.CLOEXEC;
    if c.arg(0) == c.arg(1) || c.arg(2) & !cloexec != 0 {
        return Err(Errno::EINVAL);
    }
    dup_to(c, c.arg(0), c.arg(1), c.arg(2) & cloexec != 0)
}

fn read_flock<R: RegisterFile>(
    c: &Call<'_, R>,
    va: u64,
    f: &spin_fs::OpenFile,
) -> SysResult<LockRange> {
    let b = c.read_bytes(va, 32)?;
    let ty = u16::from_le_bytes([b[0], b[1]]);
    let whence = u16::from_le_bytes([b[2], b[3]]);
    let start = i64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    let len = i64::from_le_bytes(b[16..24].try_into().expect("8 bytes"));
    let misc = c.m.abi.misc;
    let kind = match ty {
        t if t == misc.F_RDLCK => LockKind::Read,
        t if t == misc.F_WRLCK => LockKind::Write,
        t if t == misc.F_UNLCK => LockKind::Unlock,
        _ => return Err(Errno::EINVAL),
    };
    let base: i64 = match whence {
        0 => 0,
        1 => f.seek(0, Whence::Cur)? as i64,
        2 => f.stat()?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let mut s = base.checked_add(start).ok_or(Errno::EOVERFLOW)?;
    let mut l = len;
    if l < 0 {
        s += l;
        l = -l;
    }
    if s < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(LockRange {
        kind,
        start: s as u64,
        len: l as u64,
        pid: c.pid,
    })
}

fn sys_fcntl<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let fd = c.arg(0);
    let f = c.fd(fd)?;
    let (misc, o) = (c.m.abi.misc, c.m.abi.o);
    match c.arg(1) {
        cmd if cmd == misc.F_DUPFD || cmd == misc.F_DUPFD_CLOEXEC => {
            let cloexec = cmd == misc.F_DUPFD_CLOEXEC;
            let min = c.arg(2) as i32;
            if min < 0 {
                return Err(Errno::EINVAL);
            }
            Ok(Done::Val(
                c.proc_mut().fds.insert_from(min, f, cloexec)? as u64
            ))
        }
        cmd if cmd == misc.F_GETFD => Ok(Done::Val(u64::from(c.proc().fds.cloexec(fd as i32)?))),
        cmd if cmd == misc.F_SETFD => {
            let on = c.arg(2) & 1 != 0;
            c.proc_mut().fds.set_cloexec(fd as i32, on)?;
            Ok(Done::Val(0))
        }
        cmd if cmd == misc.F_GETFL => Ok(Done::Val(flag_bits(o, &f.flags()))),
        cmd if cmd == misc.F_SETFL => {
            f.set_nonblock(c.arg(2) & o.NONBLOCK != 0);
            f.set_append(c.arg(2) & o.APPEND != 0);
            Ok(Done::Val(0))
        }
        cmd if cmd == misc.F_GETLK => {
            let want = read_flock(c, c.arg(2), &f)?;
            let mut b = c.read_bytes(c.arg(2), 32)?;
            match f.get_lock(want)? {
                None => b[0..2].copy_from_slice(&misc.F_UNLCK.to_le_bytes()),
                Some(l) => {
                    let ty = match l.kind {
                        LockKind::Read => misc.F_RDLCK,
                        _ => misc.F_WRLCK,
                    };
                    b[0..2].copy_from_slice(&ty.to_le_bytes());
                    b[2..4].copy_from_slice(&0u16.to_le_bytes());
                    b[8..16].copy_from_slice(&l.start.to_le_bytes());
                    b[16..24].copy_from_slice(&l.len.to_le_bytes());
                    b[24..28].copy_from_slice(&l.pid.to_le_bytes());
                }
            }
            c.write_bytes(c.arg(2), &b)?;
            Ok(Done::Val(0))
        }
        cmd if cmd == misc.F_SETLK || cmd == misc.F_SETLKW => {
            let want = read_flock(c, c.arg(2), &f)?;
            match want.kind {
                LockKind::Read if !f.flags().read => return Err(Errno::EBADF),
                LockKind::Write if !f.flags().write => return Err(Errno::EBADF),
                _ => {}
            }
            match f.set_lock(want) {
                Err(Errno::EAGAIN) if cmd == misc.F_SETLKW => {
                    if c.signal_pending() {
                        return Err(Errno::EINTR);
                    }
                    c.block_on(f.wait_key())
                }
                Err(e) => Err(e),
                Ok(()) => Ok(Done::Val(0)),
            }
        }
        // F_SETOWN/F_GETOWN: accepted, no effect.
        cmd if cmd == misc.F_SETOWN || cmd == misc.F_GETOWN => Ok(Done::Val(0)),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_ioctl<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    let misc = c.m.abi.misc;
    let req = c.arg(1);
    let tty_req = [misc.TCGETS, misc.TCSETS, misc.TIOCGWINSZ, misc.TIOCGPGRP];
    if tty_req.contains(&req) {
        if !f.is_tty() {
            return Err(Errno::ENOTTY);
        }
        if req == misc.TIOCGWINSZ {
            // 24 rows, 80 columns.
            let mut b = [0u8; 8];
            b[0..2].copy_from_slice(&24u16.to_le_bytes());
            b[2..4].copy_from_slice(&80u16.to_le_bytes());
            c.write_bytes(c.arg(2), &b)?;
        } else if req == misc.TCGETS {
            c.write_bytes(c.arg(2), &cooked_termios(c.m.abi.arch))?;
        } else if req == misc.TIOCGPGRP {
            let pg = c.proc().pgid;
            c.write_u32(c.arg(2), pg)?;
        }
        return Ok(Done::Val(0));
    }
    if req == misc.FIONREAD {
        let n = if f.poll().readable { 1u32 } else { 0 };
        c.write_u32(c.arg(2), n)?;
        return Ok(Done::Val(0));
    }
    if req == misc.FIONBIO {
        let on = c.read_u32(c.arg(2))? != 0;
        f.set_nonblock(on);
        return Ok(Done::Val(0));
    }
    Err(Errno::ENOTTY)
}

/// The kernel `struct termios` of a cooked terminal, as `TCGETS` returns it:
/// ICRNL | IXON, OPOST | ONLCR, B38400 | CS8 | CREAD, ISIG | ICANON | ECHO
/// (Alpha: 44 bytes, `c_cc` before `c_line`, its own bit values; x86-64: 36
/// bytes, the generic values, default control characters).
pub(crate) fn cooked_termios(arch: Arch) -> Vec<u8> {
    match arch {
        Arch::Alpha => {
            let mut b = vec![0u8; 44];
            b[0..4].copy_from_slice(&0x0500u32.to_le_bytes());
            b[4..8].copy_from_slice(&0x0005u32.to_le_bytes());
            b[8..12].copy_from_slice(&0x0bf0u32.to_le_bytes());
            b[12..16].copy_from_slice(&0x0088u32.to_le_bytes());
            b
        }
        Arch::X86_64 => {
            let mut b = vec![0u8; x86::TERMIOS_SIZE];
            // ICRNL 0o400 | IXON 0o2000.
            b[0..4].copy_from_slice(&0o2400u32.to_le_bytes());
            // OPOST 1 | ONLCR 4.
            b[4..8].copy_from_slice(&0o5u32.to_le_bytes());
            // B38400 0o17 | CS8 0o60 | CREAD 0o200.
            b[8..12].copy_from_slice(&0o277u32.to_le_bytes());
            // ISIG 1 | ICANON 2 | ECHO 0o10 | ECHOE 0o20 | ECHOK 0o40 | IEXTEN 0o100000.
            b[12..16].copy_from_slice(&0o100073u32.to_le_bytes());
            // c_line 0, then c_cc: VINTR ^C, VQUIT ^\, VERASE DEL, VKILL ^U,
            // VEOF ^D, VTIME 0, VMIN 1, ..., VSUSP ^Z.
            let cc: [u8; 11] = [3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a];
            b[17..17 + cc.len()].copy_from_slice(&cc);
            b
        }
    }
}
