//! File system calls: opening and naming files, descriptors, locks,
//! metadata and directories. Data transfer lives in `io`.

use spin_fs::{Errno, LockKind, LockRange, OpenFlags, Stat, SysResult, Whence};
use spin_kernel::RegisterFile;

use super::{sys_ok, Call, Done, SysFn};
use crate::abi::{x86_64::layout as x86, OpenBits};
use spin_kernel::Arch;

/// Calls only x86-64 has under these names (Alpha's `stat`/`fstat` numbers
/// are OSF/1's old forms, which the mound leaves unimplemented).
pub(super) fn register_x86_64<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("stat", sys_stat64 as SysFn<R>),
        ("lstat", sys_lstat64),
        ("fstat", sys_fstat64),
        ("newfstatat", sys_fstatat64),
        ("statfs", sys_statfs),
        ("fstatfs", sys_fstatfs),
        ("creat", sys_creat),
    ]);
}

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
        ("fstat64", sys_fstat64),
        ("stat64", sys_stat64),
        ("lstat64", sys_lstat64),
        ("fstatat64", sys_fstatat64),
        ("getdents64", sys_getdents64),
        ("mkdir", sys_mkdir),
        ("mkdirat", sys_mkdirat),
        ("rmdir", sys_rmdir),
        ("unlink", sys_unlink),
        ("unlinkat", sys_unlinkat),
        ("rename", sys_rename),
        ("renameat", sys_renameat),
        ("renameat2", sys_renameat2),
        ("chdir", sys_chdir),
        ("fchdir", sys_fchdir),
        ("getcwd", sys_getcwd),
        ("access", sys_access),
        ("faccessat", sys_faccessat),
        ("faccessat2", sys_faccessat),
        ("readlink", sys_readlink),
        ("readlinkat", sys_readlinkat),
        ("symlink", sys_symlink),
        ("link", sys_link),
        ("truncate", sys_truncate),
        ("ftruncate", sys_ftruncate),
        ("fsync", sys_fsync),
        ("fdatasync", sys_fsync),
        ("umask", sys_umask),
        ("chmod", sys_chmod),
        ("fchmod", sys_ok),
        ("fchmodat", sys_fchmodat),
        ("chown", sys_ok),
        ("fchown", sys_ok),
        ("lchown", sys_ok),
        ("fchownat", sys_ok),
        ("utimensat", sys_utimensat),
        ("sync", sys_ok),
        ("fadvise64", sys_ok),
    ]);
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

/// Resolves a `dirfd` + path pair to a (cwd, path) the file system takes.
fn at_path<R: RegisterFile>(
    c: &Call<'_, R>,
    dirfd: u64,
    path: Vec<u8>,
) -> SysResult<(Vec<u8>, Vec<u8>)> {
    if path.first() == Some(&b'/') || dirfd as i64 as i32 == c.m.abi.misc.AT_FDCWD as i32 {
        return Ok((c.proc().cwd.clone(), path));
    }
    let f = c.fd(dirfd)?;
    if !f.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let base = f.path().ok_or(Errno::EBADF)?;
    Ok((base, path))
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

/// Linux/Alpha `struct stat64` (136 bytes).
pub(crate) fn stat64_bytes(s: &Stat) -> [u8; 136] {
    let mut b = [0u8; 136];
    let mut put =
        |off: usize, v: u64, n: usize| b[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
    put(0, s.dev, 8);
    put(8, s.ino, 8);
    put(16, s.rdev, 8);
    put(24, s.size, 8);
    put(32, s.blocks, 8);
    put(40, u64::from(s.mode), 4);
    put(44, u64::from(s.uid), 4);
    put(48, u64::from(s.gid), 4);
    put(52, u64::from(s.blksize), 4);
    put(56, u64::from(s.nlink), 4);
    put(64, s.atime.0 as u64, 8);
    put(72, s.atime.1 as u64, 8);
    put(80, s.mtime.0 as u64, 8);
    put(88, s.mtime.1 as u64, 8);
    put(96, s.ctime.0 as u64, 8);
    put(104, s.ctime.1 as u64, 8);
    b
}

/// Linux/x86-64 `struct stat` (144 bytes; `stat`, `fstat`, `lstat`,
/// `newfstatat`).
pub(crate) fn stat_x86_64_bytes(s: &Stat) -> [u8; x86::STAT_SIZE] {
    let mut b = [0u8; x86::STAT_SIZE];
    let mut put =
        |off: usize, v: u64, n: usize| b[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
    put(0, s.dev, 8);
    put(8, s.ino, 8);
    put(x86::ST_NLINK, u64::from(s.nlink), 8);
    put(x86::ST_MODE, u64::from(s.mode), 4);
    put(x86::ST_UID, u64::from(s.uid), 4);
    put(x86::ST_GID, u64::from(s.gid), 4);
    put(x86::ST_RDEV, s.rdev, 8);
    put(x86::ST_SIZE, s.size, 8);
    put(x86::ST_BLKSIZE, u64::from(s.blksize), 8);
    put(x86::ST_BLOCKS, s.blocks, 8);
    let t = x86::ST_ATIME;
    put(t, s.atime.0 as u64, 8);
    put(t + 8, s.atime.1 as u64, 8);
    put(t + 16, s.mtime.0 as u64, 8);
    put(t + 24, s.mtime.1 as u64, 8);
    put(t + 32, s.ctime.0 as u64, 8);
    put(t + 40, s.ctime.1 as u64, 8);
    b
}

fn put_stat<R: RegisterFile>(c: &mut Call<'_, R>, va: u64, mut s: Stat) -> SysResult<Done> {
    s.uid = if s.uid == u32::MAX {
        c.m.cfg.uid
    } else {
        s.uid
    };
    match c.m.abi.arch {
        Arch::Alpha => c.write_bytes(va, &stat64_bytes(&s))?,
        Arch::X86_64 => c.write_bytes(va, &stat_x86_64_bytes(&s))?,
    }
    Ok(Done::Val(0))
}

/// Linux/x86-64 `struct statfs` for the mound's file system: a tmpfs-like
/// file system of the mound's memory, 4 KiB blocks.
fn statfs_bytes<R: RegisterFile>(c: &Call<'_, R>) -> [u8; x86::STATFS_SIZE] {
    let mut b = [0u8; x86::STATFS_SIZE];
    let phys = &c.m.kernel.phys;
    let per_frame = (phys.frame_size() / 4096).max(1);
    let fields: [u64; 7] = [
        0x0102_1994, // TMPFS_MAGIC
        4096,
        phys.total_frames() * per_frame,
        phys.free_frames() * per_frame,
        phys.free_frames() * per_frame,
        1 << 20,
        1 << 20,
    ];
    for (i, v) in fields.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    // f_fsid (two ints) at 56, f_namelen 64, f_frsize 72, f_flags 80.
    b[64..72].copy_from_slice(&255u64.to_le_bytes());
    b[72..80].copy_from_slice(&4096u64.to_le_bytes());
    b
}

fn sys_statfs<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.stat(&cwd, &p, true)?;
    let b = statfs_bytes(c);
    c.write_bytes(c.arg(1), &b)?;
    Ok(Done::Val(0))
}

fn sys_fstatfs<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    c.fd(c.arg(0))?;
    let b = statfs_bytes(c);
    c.write_bytes(c.arg(1), &b)?;
    Ok(Done::Val(0))
}

fn sys_fstat64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let s = c.fd(c.arg(0))?.stat()?;
    put_stat(c, c.arg(1), s)
}

fn stat_path<R: RegisterFile>(
    c: &mut Call<'_, R>,
    dirfd: u64,
    path_va: u64,
    flags: u64,
    out: u64,
) -> SysResult<Done> {
    let raw = if path_va == 0 {
        Vec::new()
    } else {
        c.proc().vm.read_cstr(path_va, super::PATH_MAX)?
    };
    if raw.is_empty() {
        if flags & c.m.abi.misc.AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let s = c.fd(dirfd)?.stat()?;
        return put_stat(c, out, s);
    }
    let (cwd, path) = at_path(c, dirfd, raw)?;
    let follow = flags & c.m.abi.misc.AT_SYMLINK_NOFOLLOW == 0;
    let path = if path == b"/proc/self/exe" && follow {
        c.proc().exe.clone()
    } else {
        path
    };
    let s = c.m.vfs.stat(&cwd, &path, follow)?;
    put_stat(c, out, s)
}

fn sys_stat64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    stat_path(c, c.m.abi.misc.AT_FDCWD as u64, c.arg(0), 0, c.arg(1))
}

fn sys_lstat64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    stat_path(
        c,
        c.m.abi.misc.AT_FDCWD as u64,
        c.arg(0),
        c.m.abi.misc.AT_SYMLINK_NOFOLLOW,
        c.arg(1),
    )
}

fn sys_fstatat64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    stat_path(c, c.arg(0), c.arg(1), c.arg(3), c.arg(2))
}

fn sys_getdents64<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    if !f.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let cap = c.arg(2).min(1 << 20) as usize;
    let entries = f.getdents(cap / 24 + 1)?;
    let mut out = Vec::with_capacity(cap);
    let mut used = 0usize;
    for (i, e) in entries.iter().enumerate() {
        let reclen = (19 + e.name.len() + 1 + 7) & !7;
        if out.len() + reclen > cap {
            f.unread(entries.len() - i);
            break;
        }
        used += 1;
        let start = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&((start + reclen) as u64).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(e.kind);
        out.extend_from_slice(&e.name);
        out.resize(start + reclen, 0);
    }
    if used == 0 && !entries.is_empty() {
        return Err(Errno::EINVAL);
    }
    c.write_bytes(c.arg(1), &out)?;
    Ok(Done::Val(out.len() as u64))
}

fn sys_mkdir<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    mkdir_at(c, c.m.abi.misc.AT_FDCWD as u64, c.arg(0), c.arg(1))
}

fn sys_mkdirat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    mkdir_at(c, c.arg(0), c.arg(1), c.arg(2))
}

fn mkdir_at<R: RegisterFile>(
    c: &mut Call<'_, R>,
    dirfd: u64,
    path: u64,
    mode: u64,
) -> SysResult<Done> {
    let p = c.path(path)?;
    let (cwd, p) = at_path(c, dirfd, p)?;
    let umask = c.proc().umask;
    c.m.vfs.mkdir(&cwd, &p, mode as u32, umask)?;
    Ok(Done::Val(0))
}

fn sys_rmdir<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.rmdir(&cwd, &p)?;
    Ok(Done::Val(0))
}

fn sys_unlink<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.unlink(&cwd, &p)?;
    Ok(Done::Val(0))
}

fn sys_unlinkat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(1))?;
    let (cwd, p) = at_path(c, c.arg(0), p)?;
    if c.arg(2) & c.m.abi.misc.AT_REMOVEDIR != 0 {
        c.m.vfs.rmdir(&cwd, &p)?;
    } else {
        c.m.vfs.unlink(&cwd, &p)?;
    }
    Ok(Done::Val(0))
}

fn rename_at<R: RegisterFile>(
    c: &mut Call<'_, R>,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
) -> SysResult<Done> {
    let o = c.path(old)?;
    let n = c.path(new)?;
    let (ocwd, o) = at_path(c, olddir, o)?;
    let (ncwd, n) = at_path(c, newdir, n)?;
    let o = if o.first() == Some(&b'/') {
        o
    } else {
        super::exec::absolute(&ocwd, &o)
    };
    c.m.vfs.rename(&ncwd, &o, &n)?;
    Ok(Done::Val(0))
}

fn sys_rename<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let at = c.m.abi.misc.AT_FDCWD as u64;
    rename_at(c, at, c.arg(0), at, c.arg(1))
}

fn sys_renameat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    rename_at(c, c.arg(0), c.arg(1), c.arg(2), c.arg(3))
}

fn sys_renameat2<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(4) != 0 {
        return Err(Errno::EINVAL);
    }
    rename_at(c, c.arg(0), c.arg(1), c.arg(2), c.arg(3))
}

fn sys_chdir<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    let cwd = c.proc().cwd.clone();
    let new = c.m.vfs.resolve_dir(&cwd, &p)?;
    c.proc_mut().cwd = new;
    Ok(Done::Val(0))
}

fn sys_fchdir<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    if !f.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    c.proc_mut().cwd = f.path().ok_or(Errno::EBADF)?;
    Ok(Done::Val(0))
}

fn sys_getcwd<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let mut cwd = c.proc().cwd.clone();
    cwd.push(0);
    if (c.arg(1) as usize) < cwd.len() {
        return Err(Errno::ERANGE);
    }
    c.write_bytes(c.arg(0), &cwd)?;
    Ok(Done::Val(cwd.len() as u64))
}

fn sys_access<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.access(&cwd, &p, c.arg(1) as u32)?;
    Ok(Done::Val(0))
}

fn sys_faccessat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(1))?;
    let (cwd, p) = at_path(c, c.arg(0), p)?;
    c.m.vfs.access(&cwd, &p, c.arg(2) as u32)?;
    Ok(Done::Val(0))
}

fn readlink_common<R: RegisterFile>(
    c: &mut Call<'_, R>,
    dirfd: u64,
    path: u64,
    buf: u64,
    size: u64,
) -> SysResult<Done> {
    let p = c.path(path)?;
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = if p == b"/proc/self/exe" {
        c.proc().exe.clone()
    } else if let Some(n) = p.strip_prefix(b"/proc/self/fd/") {
        let fd: u64 = std::str::from_utf8(n)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        c.fd(fd)
            .map_err(|_| Errno::ENOENT)?
            .path()
            .unwrap_or_else(|| b"pipe:[0]".to_vec())
    } else {
        let (cwd, p) = at_path(c, dirfd, p)?;
        c.m.vfs.readlink(&cwd, &p)?
    };
    let n = target.len().min(size as usize);
    c.write_bytes(buf, &target[..n])?;
    Ok(Done::Val(n as u64))
}

fn sys_readlink<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    readlink_common(
        c,
        c.m.abi.misc.AT_FDCWD as u64,
        c.arg(0),
        c.arg(1),
        c.arg(2),
    )
}

fn sys_readlinkat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    readlink_common(c, c.arg(0), c.arg(1), c.arg(2), c.arg(3))
}

fn sys_symlink<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let target = c.path(c.arg(0))?;
    let link = c.path(c.arg(1))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.symlink(&target, &cwd, &link)?;
    Ok(Done::Val(0))
}

fn sys_link<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let old = c.path(c.arg(0))?;
    let new = c.path(c.arg(1))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.link(&cwd, &old, &new)?;
    Ok(Done::Val(0))
}

fn sys_truncate<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    if (c.arg(1) as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let cwd = c.proc().cwd.clone();
    c.m.vfs.truncate(&cwd, &p, c.arg(1))?;
    Ok(Done::Val(0))
}

fn sys_ftruncate<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    if (c.arg(1) as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if !f.flags().write {
        return Err(Errno::EINVAL);
    }
    f.truncate(c.arg(1))?;
    if let Some(b) = f.backing() {
        c.m.mm.file_changed(b.id(), 0, u64::MAX);
    }
    Ok(Done::Val(0))
}

fn sys_fsync<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    if let Some(b) = f.backing() {
        c.m.mm.writeback(b.id());
    }
    f.fsync()?;
    Ok(Done::Val(0))
}

fn sys_umask<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let old = c.proc().umask;
    c.proc_mut().umask = (c.arg(0) as u32) & 0o777;
    Ok(Done::Val(u64::from(old)))
}

fn sys_chmod<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(0))?;
    let cwd = c.proc().cwd.clone();
    c.m.vfs.chmod(&cwd, &p, c.arg(1) as u32)?;
    Ok(Done::Val(0))
}

fn sys_fchmodat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let p = c.path(c.arg(1))?;
    let (cwd, p) = at_path(c, c.arg(0), p)?;
    c.m.vfs.chmod(&cwd, &p, c.arg(2) as u32)?;
    Ok(Done::Val(0))
}

/// `utimensat(dirfd, path, times, flags)`: the file must exist (`touch`
/// creates it on ENOENT) and the times be well formed; the file system keeps
/// its own modification times, so the new ones are not stored.
fn sys_utimensat<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let (dirfd, path_va, times, flags) = (c.arg(0), c.arg(1), c.arg(2), c.arg(3));
    let misc = c.m.abi.misc;
    if flags & !(misc.AT_SYMLINK_NOFOLLOW | misc.AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if times != 0 {
        let b = c.read_bytes(times, 32)?;
        for t in [&b[0..16], &b[16..32]] {
            let ns = i64::from_le_bytes(t[8..16].try_into().expect("8 bytes"));
            if ns != UTIME_NOW && ns != UTIME_OMIT && !(0..1_000_000_000).contains(&ns) {
                return Err(Errno::EINVAL);
            }
        }
    }
    if path_va == 0 {
        // futimens(fd, times).
        c.fd(dirfd)?;
        return Ok(Done::Val(0));
    }
    let p = c.path(path_va)?;
    let (cwd, p) = at_path(c, dirfd, p)?;
    let follow = flags & misc.AT_SYMLINK_NOFOLLOW == 0;
    c.m.vfs.stat(&cwd, &p, follow)?;
    Ok(Done::Val(0))
}
