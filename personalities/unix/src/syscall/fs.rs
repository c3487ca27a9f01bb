//! File system calls on names: metadata, directories, links, permissions.
//! Descriptors (open, dup, fcntl, locks, ioctl) live in `fd`, data transfer
//! in `io`.

use spin_fs::{Errno, Stat, SysResult};
use spin_kernel::RegisterFile;

use super::{sys_ok, Call, Done, SysFn};
use crate::abi::x86_64::layout as x86;
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
    ]);
}

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("fstat64", sys_fstat64 as SysFn<R>),
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
        ("fchmod", sys_fchmod),
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

/// Resolves a `dirfd` + path pair to a (cwd, path) the file system takes.
pub(super) fn at_path<R: RegisterFile>(
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

/// `fchmod(fd, mode)`: through the path the file was opened by; a pipe or
/// a console (no path) has no mode to change, as on Linux's pipefs.
fn sys_fchmod<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let f = c.fd(c.arg(0))?;
    if let Some(p) = f.path() {
        c.m.vfs.chmod(b"/", &p, c.arg(1) as u32)?;
    }
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
