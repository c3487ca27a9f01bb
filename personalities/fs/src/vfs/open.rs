//! `open`: creating, following and opening every kind of location.

use std::fs::OpenOptions;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::sync::Arc;

use super::{mem_insert, Vfs};
use crate::host::{io_err, HostFile, HostLoc, Kind};
use crate::mem::MemInode;
use crate::open_file::{Object, OpenFile};
use crate::shared::lock;
use crate::types::{OpenFlags, R_OK, W_OK, X_OK};
use crate::walk::{FollowResult, Last, Loc, Stack, Walked};
use crate::{Errno, SysResult};

/// Where a new name in a directory is created.
pub(crate) enum Parent {
    Mem(Arc<MemInode>),
    Host(HostLoc),
}

/// The place names are created in directory `dir`: the in-memory
/// directory itself, or the host directory backing it.
pub(crate) fn create_parent(dir: &Loc) -> SysResult<Parent> {
    match dir {
        Loc::Mem(m) => {
            let st = m.state();
            Ok(match &st.dir()?.backing {
                Some(b) => Parent::Host(b.clone()),
                None => Parent::Mem(Arc::clone(m)),
            })
        }
        Loc::Host(h, Kind::Dir) => Ok(Parent::Host(h.clone())),
        Loc::Proc(_) => Err(Errno::EACCES),
        _ => Err(Errno::ENOTDIR),
    }
}

impl Vfs {
    /// Opens `path` (relative to `cwd`). `mode` (less `umask`) applies when
    /// `O_CREAT` creates the file. Returns a new open file description.
    pub fn open(
        &self,
        cwd: &[u8],
        path: &[u8],
        flags: OpenFlags,
        mode: u32,
        umask: u32,
    ) -> SysResult<Arc<OpenFile>> {
        if flags.create && flags.directory && !flags.path_only {
            // Linux 6.4+: the combination is refused outright.
            return Err(Errno::EINVAL);
        }
        if flags.create && !flags.path_only {
            let _ns = lock(&self.ns);
            let walked = self.tree.walk(cwd, path)?;
            self.open_create(walked, flags, mode & !umask & 0o7777)
        } else {
            let stack = self.tree.resolve(cwd, path, !flags.nofollow)?;
            self.open_existing(stack, flags)
        }
    }

    fn open_create(&self, mut w: Walked, flags: OpenFlags, perm: u32) -> SysResult<Arc<OpenFile>> {
        let mut depth = 0;
        loop {
            let name = match &w.last {
                Last::Name(n) => n.clone(),
                _ if flags.excl => return Err(Errno::EEXIST),
                _ => return Err(Errno::EISDIR),
            };
            // Linux refuses O_CREAT with a trailing slash before looking.
            if w.must_dir {
                return Err(Errno::EISDIR);
            }
            if let Some(loc) = self.tree.lookup(w.stack.top(), &name)? {
                if flags.excl {
                    return Err(Errno::EEXIST);
                }
                if loc.is_symlink() {
                    if flags.nofollow {
                        return Err(Errno::ELOOP);
                    }
                    let must_dir = w.must_dir;
                    match self.tree.follow_link(w.stack, &loc, &mut depth)? {
                        FollowResult::Walked(next) => {
                            w = Walked {
                                must_dir: next.must_dir || must_dir,
                                ..next
                            };
                            continue;
                        }
                        FollowResult::Object(f) => return f.reopen(flags),
                    }
                }
                if loc.is_dir() {
                    return Err(Errno::EISDIR);
                }
                let mut stack = w.stack;
                stack.push(&name, loc);
                return self.open_existing(stack, flags);
            }
            let path = w.stack.path_of(&name);
            return match create_parent(w.stack.top())? {
                Parent::Mem(dir) => {
                    if !dir.permits(W_OK | X_OK) {
                        return Err(Errno::EACCES);
                    }
                    let file = MemInode::new_file(self.shared(), perm);
                    mem_insert(&dir, &name, Arc::clone(&file))?;
                    let key = file.ino;
                    Ok(OpenFile::new(
                        self.shared(),
                        Object::MemFile(file),
                        Some(path),
                        flags,
                        key,
                    ))
                }
                Parent::Host(h) => {
                    h.writable()?;
                    let host_path = h.child(&name).path();
                    let created = OpenOptions::new()
                        .read(flags.read)
                        .write(true)
                        .create_new(true)
                        .mode(perm)
                        .open(&host_path)
                        .map_err(io_err)?;
                    let file = if flags.write {
                        created
                    } else {
                        // std cannot create without write access; reopen.
                        drop(created);
                        OpenOptions::new()
                            .read(true)
                            .open(&host_path)
                            .map_err(io_err)?
                    };
                    self.host_open_file(file, h.mount.writable, path, flags)
                }
            };
        }
    }

    fn host_open_file(
        &self,
        file: std::fs::File,
        writable: bool,
        path: Vec<u8>,
        flags: OpenFlags,
    ) -> SysResult<Arc<OpenFile>> {
        let meta = file.metadata().map_err(io_err)?;
        let id = self.shared().host_id(meta.dev(), meta.ino());
        let hf = Arc::new(HostFile { file, id, writable });
        Ok(OpenFile::new(
            self.shared(),
            Object::HostFile(hf),
            Some(path),
            flags,
            id,
        ))
    }

    /// The identity of a location for locks and the notifier.
    pub(crate) fn loc_key(&self, loc: &Loc) -> u64 {
        match loc {
            Loc::Mem(m) => m.ino,
            Loc::Host(h, _) => h
                .lstat()
                .map(|m| self.shared().host_id(m.dev(), m.ino()))
                .unwrap_or(0),
            Loc::Proc(p) => p.ino(),
            Loc::Reopen(f) => f.wait_key(),
        }
    }

    pub(crate) fn open_existing(&self, stack: Stack, flags: OpenFlags) -> SysResult<Arc<OpenFile>> {
        let loc = stack.top().clone();
        let path = stack.path();
        if flags.path_only {
            let key = self.loc_key(&loc);
            let flags = OpenFlags {
                read: false,
                write: false,
                ..flags
            };
            return Ok(OpenFile::new(
                self.shared(),
                Object::Path(loc),
                Some(path),
                flags,
                key,
            ));
        }
        if let Loc::Reopen(f) = &loc {
            return f.reopen(flags);
        }
        let kind = loc.kind();
        if flags.directory && kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if kind == Kind::Symlink {
            return Err(Errno::ELOOP);
        }
        let mut want = 0;
        if flags.read {
            want |= R_OK;
        }
        if flags.write || flags.trunc {
            want |= W_OK;
        }
        if kind == Kind::Dir {
            if flags.write {
                return Err(Errno::EISDIR);
            }
            if !loc.permits(self.shared(), want & R_OK) {
                return Err(Errno::EACCES);
            }
            let key = self.loc_key(&loc);
            let parent = stack.parent().clone();
            return Ok(OpenFile::new(
                self.shared(),
                Object::Dir { loc, parent },
                Some(path),
                flags,
                key,
            ));
        }
        if let Loc::Host(h, _) = &loc {
            if flags.write || flags.trunc {
                h.writable()?;
            }
        }
        if !loc.permits(self.shared(), want) {
            return Err(Errno::EACCES);
        }
        match loc {
            Loc::Mem(m) => match m.device() {
                None => {
                    if flags.trunc {
                        m.set_len(0)?;
                    }
                    let key = m.ino;
                    Ok(OpenFile::new(
                        self.shared(),
                        Object::MemFile(m),
                        Some(path),
                        flags,
                        key,
                    ))
                }
                Some(crate::device::DeviceKind::Tty) => {
                    let console = lock(&self.tty).clone().ok_or(Errno::ENXIO)?;
                    let key = console.id;
                    Ok(OpenFile::new(
                        self.shared(),
                        Object::Console(console),
                        Some(path),
                        flags,
                        key,
                    ))
                }
                Some(kind) => {
                    let key = m.ino;
                    Ok(OpenFile::new(
                        self.shared(),
                        Object::Device(m, kind),
                        Some(path),
                        flags,
                        key,
                    ))
                }
            },
            Loc::Host(h, Kind::File) => {
                let host_path = h.path();
                if flags.trunc && !flags.write {
                    OpenOptions::new()
                        .write(true)
                        .open(&host_path)
                        .and_then(|f| f.set_len(0))
                        .map_err(io_err)?;
                }
                let file = OpenOptions::new()
                    .read(flags.read || !flags.write)
                    .write(flags.write)
                    .truncate(flags.trunc && flags.write)
                    .open(&host_path)
                    .map_err(io_err)?;
                self.host_open_file(file, h.mount.writable, path, flags)
            }
            // Host devices, FIFOs and sockets are never opened: a FIFO
            // would block the host thread.
            _ => Err(Errno::ENXIO),
        }
    }
}
