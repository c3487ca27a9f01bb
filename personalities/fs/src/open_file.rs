//! Open file descriptions: what a file descriptor refers to, shared by
//! `dup` and `fork` through an `Arc`.
//!
//! A description holds its object (an in-memory or host file, a device, a
//! directory, a pipe end, the console), the offset and the status flags.
//! Dropping the last `Arc` of a pipe end closes that end (and notifies).

use std::sync::{Arc, Mutex};

use crate::console::Console;
use crate::device::DeviceKind;
use crate::host::{io_err, stat_of, HostFile};
use crate::mem::MemInode;
use crate::pipe::{End, Pipe};
use crate::shared::{lock, now, Shared};
use crate::special::SpecialFile;
use crate::types::{
    makedev, DirEntry, LockKind, LockRange, OpenFlags, Readiness, Stat, Whence, S_IFCHR, S_IFIFO,
};
use crate::walk::Loc;
use crate::{Errno, PageBacking, SysResult};

/// Device number reported for pipes.
pub const PIPE_DEV: u64 = 0x2d;
/// Device number reported for consoles.
pub const CONSOLE_DEV: u64 = 0x2e;
/// Device number reported for personality objects (sockets).
pub const SPECIAL_DEV: u64 = 0x2f;

/// What a description refers to.
pub(crate) enum Object {
    MemFile(Arc<MemInode>),
    HostFile(Arc<HostFile>),
    Device(Arc<MemInode>, DeviceKind),
    /// A directory and its parent (for `..` in listings).
    Dir {
        loc: Loc,
        parent: Loc,
    },
    /// `O_PATH`.
    Path(Loc),
    Pipe(Arc<Pipe>, End),
    Console(Arc<Console>),
    /// An object the personality implements (a socket).
    Special(Arc<dyn SpecialFile>),
}

#[derive(Default)]
struct FileState {
    /// Byte offset, or entry index for directories.
    offset: u64,
    nonblock: bool,
    append: bool,
    /// Listing snapshot taken by the first `getdents` after a rewind.
    listing: Option<Vec<DirEntry>>,
}

/// An open file description.
pub struct OpenFile {
    shared: Arc<Shared>,
    object: Object,
    path: Option<Vec<u8>>,
    flags: OpenFlags,
    key: u64,
    state: Mutex<FileState>,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFile")
            .field(
                "path",
                &self
                    .path
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            )
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl OpenFile {
    /// A description of `object`; `key` is its identity for locks and the
    /// notifier. Pipe ends must already be counted with `Pipe::open_end`.
    pub(crate) fn new(
        shared: &Arc<Shared>,
        object: Object,
        path: Option<Vec<u8>>,
        flags: OpenFlags,
        key: u64,
    ) -> Arc<OpenFile> {
        let flags = OpenFlags {
            create: false,
            excl: false,
            trunc: false,
            ..flags
        };
        let state = FileState {
            nonblock: flags.nonblock,
            append: flags.append,
            ..FileState::default()
        };
        Arc::new(OpenFile {
            shared: Arc::clone(shared),
            object,
            path,
            flags,
            key,
            state: Mutex::new(state),
        })
    }

    /// A new description of the same pipe or console (opening
    /// `/proc/self/fd/N` of a pathless object).
    pub(crate) fn reopen(&self, flags: OpenFlags) -> SysResult<Arc<OpenFile>> {
        let object = match &self.object {
            Object::Pipe(p, _) => {
                let end = if flags.write { End::Write } else { End::Read };
                p.open_end(end);
                let flags = OpenFlags {
                    read: end == End::Read,
                    write: end == End::Write,
                    ..flags
                };
                return Ok(OpenFile::new(
                    &self.shared,
                    Object::Pipe(Arc::clone(p), end),
                    None,
                    flags,
                    self.key,
                ));
            }
            Object::Console(c) => Object::Console(Arc::clone(c)),
            _ => return Err(Errno::ENXIO),
        };
        Ok(OpenFile::new(&self.shared, object, None, flags, self.key))
    }

    /// The console behind a console description.
    pub(crate) fn console(&self) -> Option<Arc<Console>> {
        match &self.object {
            Object::Console(c) => Some(Arc::clone(c)),
            _ => None,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FileState> {
        lock(&self.state)
    }

    fn readable(&self) -> SysResult<()> {
        if self.flags.read && !self.flags.path_only {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    fn writable(&self) -> SysResult<()> {
        if self.flags.write && !self.flags.path_only {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    /// Reads at the offset and advances it. Pipes and the console: empty
    /// with writers alive → `EAGAIN` (park on [`Self::wait_key`] unless
    /// non-blocking); end of file → `Ok(0)`.
    pub fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        self.readable()?;
        match &self.object {
            Object::Pipe(p, _) => p.read(buf),
            Object::Console(c) => c.read(buf),
            Object::Special(o) => o.read(buf),
            Object::MemFile(_) | Object::HostFile(_) => {
                let mut st = self.state();
                let n = self.read_at(buf, st.offset)?;
                st.offset += n as u64;
                Ok(n)
            }
            _ => self.read_at(buf, 0),
        }
    }

    /// Writes at the offset (at the end with `O_APPEND`) and advances it.
    /// Pipes: full → `EAGAIN` or a partial count; no readers → `EPIPE`
    /// (the caller raises `SIGPIPE`).
    pub fn write(&self, data: &[u8]) -> SysResult<usize> {
        self.writable()?;
        match &self.object {
            Object::Pipe(p, _) => p.write(data),
            Object::Console(c) => c.write(data),
            Object::Special(o) => o.write(data),
            Object::MemFile(m) => {
                let mut st = self.state();
                let at = if st.append { None } else { Some(st.offset) };
                st.offset = m.write_at(at, data)?;
                Ok(data.len())
            }
            Object::HostFile(h) => {
                let mut st = self.state();
                let at = if st.append { h.size()? } else { st.offset };
                let n = h.write_at(at, data)?;
                st.offset = at + n as u64;
                Ok(n)
            }
            _ => self.write_at(data, 0),
        }
    }

    /// `pread`: reads at `off` without moving the offset; `ESPIPE` on pipes
    /// and the console.
    pub fn pread(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        self.readable()?;
        self.read_at(buf, off)
    }

    /// `pwrite`: writes at `off` without moving the offset.
    pub fn pwrite(&self, data: &[u8], off: u64) -> SysResult<usize> {
        self.writable()?;
        self.write_at(data, off)
    }

    fn read_at(&self, buf: &mut [u8], off: u64) -> SysResult<usize> {
        if off > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        match &self.object {
            Object::MemFile(m) => m.read_at(off, buf),
            Object::HostFile(h) => h.read_at(off, buf),
            Object::Device(_, kind) => Ok(match kind {
                DeviceKind::Null => 0,
                DeviceKind::Zero | DeviceKind::Full => {
                    buf.fill(0);
                    buf.len()
                }
                DeviceKind::Random | DeviceKind::Urandom => {
                    lock(&self.shared.rng).fill(buf);
                    buf.len()
                }
                DeviceKind::Tty => return Err(Errno::ENXIO),
            }),
            Object::Dir { .. } => Err(Errno::EISDIR),
            Object::Path(_) => Err(Errno::EBADF),
            Object::Pipe(..) | Object::Console(_) | Object::Special(_) => Err(Errno::ESPIPE),
        }
    }

    fn write_at(&self, data: &[u8], off: u64) -> SysResult<usize> {
        if off > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        match &self.object {
            Object::MemFile(m) => m.write_at(Some(off), data).map(|_| data.len()),
            Object::HostFile(h) => h.write_at(off, data),
            Object::Device(_, kind) => match kind {
                DeviceKind::Full if !data.is_empty() => Err(Errno::ENOSPC),
                DeviceKind::Tty => Err(Errno::ENXIO),
                _ => Ok(data.len()),
            },
            Object::Dir { .. } => Err(Errno::EISDIR),
            Object::Path(_) => Err(Errno::EBADF),
            Object::Pipe(..) | Object::Console(_) | Object::Special(_) => Err(Errno::ESPIPE),
        }
    }

    /// `lseek`. Directories accept positions from [`DirEntry::off`]
    /// (`Set` to 0 rewinds and rescans); devices always report 0.
    pub fn seek(&self, off: i64, whence: Whence) -> SysResult<u64> {
        let size = match &self.object {
            Object::MemFile(m) => m.stat().size,
            Object::HostFile(h) => h.size()?,
            Object::Device(..) => return Ok(0),
            Object::Dir { .. } => {
                if whence == Whence::End {
                    return Err(Errno::EINVAL);
                }
                0
            }
            Object::Path(_) => return Err(Errno::EBADF),
            Object::Pipe(..) | Object::Console(_) | Object::Special(_) => {
                return Err(Errno::ESPIPE)
            }
        };
        let mut st = self.state();
        let base = match whence {
            Whence::Set => 0,
            Whence::Cur => st.offset,
            Whence::End => size,
        };
        let new = i64::try_from(base)
            .ok()
            .and_then(|b| b.checked_add(off))
            .filter(|&n| n >= 0)
            .ok_or(Errno::EINVAL)? as u64;
        if new == 0 && matches!(self.object, Object::Dir { .. }) {
            st.listing = None;
        }
        st.offset = new;
        Ok(new)
    }

    /// `fstat`.
    pub fn stat(&self) -> SysResult<Stat> {
        let owner = self.shared.owner();
        let t = now();
        let inodeless = Stat {
            nlink: 1,
            uid: owner.uid,
            gid: owner.gid,
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        };
        match &self.object {
            Object::MemFile(m) | Object::Device(m, _) => Ok(m.stat()),
            Object::HostFile(h) => h.file.metadata().map(|m| stat_of(&m)).map_err(io_err),
            Object::Dir { loc, .. } | Object::Path(loc) => loc.stat(&self.shared),
            // Objects without an inode: owned by the mound's user, times
            // are now.
            Object::Pipe(p, _) => Ok(Stat {
                dev: PIPE_DEV,
                ino: p.id,
                mode: S_IFIFO | 0o600,
                blksize: 4096,
                ..inodeless
            }),
            Object::Special(o) => Ok(Stat {
                dev: SPECIAL_DEV,
                ino: self.key,
                mode: o.mode(),
                blksize: 4096,
                ..inodeless
            }),
            Object::Console(c) => Ok(Stat {
                dev: CONSOLE_DEV,
                ino: c.id,
                mode: S_IFCHR | 0o620,
                rdev: makedev(136, 0),
                blksize: 1024,
                ..inodeless
            }),
        }
    }

    /// `ftruncate`: `EINVAL` unless a regular file open for writing.
    pub fn truncate(&self, len: u64) -> SysResult<()> {
        if !self.flags.write || self.flags.path_only {
            return Err(if self.flags.path_only {
                Errno::EBADF
            } else {
                Errno::EINVAL
            });
        }
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        match &self.object {
            Object::MemFile(m) => m.set_len(len),
            Object::HostFile(h) => h.file.set_len(len).map_err(io_err),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The next directory entries (at most `max_entries_hint`, at least one
    /// while any remain; an empty result is the end), continuing from the
    /// description's position. The first call after open or a rewind takes
    /// a snapshot of the directory; entries are `.`, `..`, then names in
    /// order. A caller that cannot pack them all gives the rest back with
    /// [`Self::unread`].
    pub fn getdents(&self, max_entries_hint: usize) -> SysResult<Vec<DirEntry>> {
        let (loc, parent) = match &self.object {
            Object::Dir { loc, parent } => (loc, parent),
            Object::Path(_) => return Err(Errno::EBADF),
            _ => return Err(Errno::ENOTDIR),
        };
        let mut st = self.state();
        if st.listing.is_none() {
            st.listing = Some(crate::dir::list(&self.shared, loc, parent)?);
        }
        let pos = usize::try_from(st.offset).unwrap_or(usize::MAX);
        let out: Vec<DirEntry> = match &st.listing {
            Some(all) if pos < all.len() => {
                let n = max_entries_hint.max(1).min(all.len() - pos);
                all[pos..pos + n].to_vec()
            }
            _ => Vec::new(),
        };
        st.offset = st.offset.saturating_add(out.len() as u64);
        Ok(out)
    }

    /// Gives back the last `n` entries [`Self::getdents`] returned (they did
    /// not fit the guest's buffer); the next call returns them again.
    pub fn unread(&self, n: usize) {
        if matches!(self.object, Object::Dir { .. }) {
            let mut st = self.state();
            st.offset = st.offset.saturating_sub(n as u64);
        }
    }

    /// Access mode and status flags (`F_GETFL`).
    pub fn flags(&self) -> OpenFlags {
        let st = self.state();
        OpenFlags {
            nonblock: st.nonblock,
            append: st.append,
            ..self.flags
        }
    }

    /// Sets or clears `O_NONBLOCK`.
    pub fn set_nonblock(&self, on: bool) {
        self.state().nonblock = on;
    }

    /// Sets or clears `O_APPEND`.
    pub fn set_append(&self, on: bool) {
        self.state().append = on;
    }

    /// Whether this is a terminal (the console).
    pub fn is_tty(&self) -> bool {
        matches!(&self.object, Object::Console(c) if c.terminal)
    }

    /// The canonical absolute guest path it was opened by; `None` for pipes
    /// and consoles.
    pub fn path(&self) -> Option<Vec<u8>> {
        self.path.clone()
    }

    /// Whether it is a directory (also for `O_PATH` descriptions).
    pub fn is_dir(&self) -> bool {
        match &self.object {
            Object::Dir { .. } => true,
            Object::Path(loc) => loc.is_dir(),
            _ => false,
        }
    }

    /// The personality's object behind this description, if it is one.
    pub fn special(&self) -> Option<&Arc<dyn SpecialFile>> {
        match &self.object {
            Object::Special(o) => Some(o),
            _ => None,
        }
    }

    /// Whether it is a pipe end.
    pub fn is_pipe(&self) -> bool {
        matches!(self.object, Object::Pipe(..))
    }

    /// Bytes a read could return now without blocking (`FIONREAD`) for
    /// pipes; 0 otherwise.
    pub fn available(&self) -> usize {
        match &self.object {
            Object::Pipe(p, End::Read) => p.available(),
            Object::Special(o) => o.available(),
            _ => 0,
        }
    }

    /// What `poll` reports now.
    pub fn poll(&self) -> Readiness {
        match &self.object {
            Object::Pipe(p, end) => p.poll(*end),
            Object::Console(c) => c.poll(),
            Object::Special(o) => o.poll(),
            Object::Path(_) => Readiness {
                error: true,
                ..Readiness::default()
            },
            _ => Readiness {
                readable: true,
                writable: true,
                hangup: false,
                error: false,
            },
        }
    }

    /// The key the [`crate::Notifier`] uses for this object (the same for
    /// every description of one file, pipe or console).
    pub fn wait_key(&self) -> u64 {
        self.key
    }

    /// Pages of a regular file, for `mmap`.
    pub fn backing(&self) -> Option<Arc<dyn PageBacking>> {
        match &self.object {
            Object::MemFile(m) => Some(Arc::clone(m) as Arc<dyn PageBacking>),
            Object::HostFile(h) => Some(Arc::clone(h) as Arc<dyn PageBacking>),
            _ => None,
        }
    }

    /// `F_SETLK`: takes, changes or releases `range.pid`'s lock. A conflict
    /// with another pid's lock → `EAGAIN` (for `F_SETLKW` retry after the
    /// key is notified); a read lock needs the file open for reading and a
    /// write lock for writing (`EBADF`).
    pub fn set_lock(&self, range: LockRange) -> SysResult<()> {
        match range.kind {
            LockKind::Read => self.readable()?,
            LockKind::Write => self.writable()?,
            LockKind::Unlock if self.flags.path_only => return Err(Errno::EBADF),
            LockKind::Unlock => {}
        }
        let released = lock(&self.shared.locks).set(self.key, range)?;
        if released {
            self.shared.notifier.notify(self.key);
        }
        Ok(())
    }

    /// `F_GETLK`: the first lock of another pid that would block `range`.
    pub fn get_lock(&self, range: LockRange) -> SysResult<Option<LockRange>> {
        if self.flags.path_only {
            return Err(Errno::EBADF);
        }
        lock(&self.shared.locks).get(self.key, range)
    }

    /// Drops every lock `pid` holds on this file (POSIX: closing any
    /// descriptor of a file does this).
    pub fn release_locks(&self, pid: u32) {
        let released = lock(&self.shared.locks).release_pid(self.key, pid);
        if released {
            self.shared.notifier.notify(self.key);
        }
    }

    /// `fchmod`: sets the permission bits (`mode & 07777`). `EROFS` on a
    /// read-only mount; `EBADF` for `O_PATH`; pipes and consoles ignore it.
    pub fn chmod(&self, mode: u32) -> SysResult<()> {
        let loc = match &self.object {
            Object::MemFile(m) | Object::Device(m, _) => Loc::Mem(Arc::clone(m)),
            Object::Dir { loc, .. } => loc.clone(),
            Object::HostFile(h) => {
                if !h.writable {
                    return Err(Errno::EROFS);
                }
                return h
                    .file
                    .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777))
                    .map_err(io_err);
            }
            Object::Path(_) => return Err(Errno::EBADF),
            Object::Pipe(..) | Object::Console(_) | Object::Special(_) => return Ok(()),
        };
        match loc {
            Loc::Mem(m) => {
                let mut st = m.state();
                st.meta.mode = (st.meta.mode & crate::types::S_IFMT) | (mode & 0o7777);
                st.meta.touch_changed();
                Ok(())
            }
            Loc::Host(h, _) => {
                h.writable()?;
                std::fs::set_permissions(
                    h.path(),
                    std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
                )
                .map_err(io_err)
            }
            Loc::Proc(_) | Loc::Reopen(_) => Err(Errno::EPERM),
        }
    }

    /// `fsync`/`fdatasync`: flushes host files; `EINVAL` on pipes and the
    /// console.
    pub fn fsync(&self) -> SysResult<()> {
        match &self.object {
            Object::HostFile(h) => h.file.sync_data().map_err(io_err),
            Object::Pipe(..) | Object::Console(_) | Object::Special(_) => Err(Errno::EINVAL),
            Object::Path(_) => Err(Errno::EBADF),
            _ => Ok(()),
        }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if let Object::Pipe(p, end) = &self.object {
            p.close_end(*end);
        }
    }
}
