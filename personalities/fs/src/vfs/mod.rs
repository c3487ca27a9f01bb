//! The per-mound namespace: an in-memory root with `/dev`, `/tmp` and
//! `/proc`, host directories mounted into it, pipes and consoles.
//!
//! # Lock rules
//!
//! * `Vfs::ns` (the namespace mutex) is outermost. Every operation that
//!   changes names (create, link, unlink, mkdir, rmdir, rename, symlink,
//!   mount) holds it for its whole walk and change, so such operations are
//!   serialized and see a stable tree. Lookups, reads and writes do not take
//!   it.
//! * Each in-memory inode has one mutex. Holding `ns`, code may hold several
//!   (parents before children); without `ns`, code holds at most one at a
//!   time. So no cycle can form.
//! * An open file description's state mutex (offset, flags, listing) may be
//!   held while taking inode mutexes or doing host I/O, never the reverse.
//! * The record-lock table, pipe and console buffers, the random generator
//!   and the host-id map are leaves: nothing else is taken while they are
//!   held.
//! * The [`Notifier`] is called with none of these held (it may call back
//!   into the Vfs). Dropping the last `Arc` of a pipe end notifies from
//!   `Drop`, so callers should drop open files outside their own locks, or
//!   keep the notifier to a non-blocking wake-up.
//! * A [`ProcResolver`] may be called with `ns` held (see its docs).

mod namespace;
mod open;

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::console::Console;
use crate::device::DeviceKind;
use crate::host::{io_err, HostLoc, HostMount};
use crate::mem::MemInode;
use crate::open_file::{Object, OpenFile};
use crate::path;
use crate::pipe::{End, Pipe};
use crate::shared::{lock, Owner, Shared};
use crate::walk::Tree;
use crate::{Errno, Notifier, ProcResolver, SysResult};
use spin_kernel::rng::Rng;

/// One mound's file namespace. Shared as `Arc<Vfs>`; every method takes
/// `&self`.
pub struct Vfs {
    tree: Tree,
    ns: Mutex<()>,
    tty: Mutex<Option<Arc<Console>>>,
}

impl std::fmt::Debug for Vfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vfs")
            .field("space_used", &self.space_used())
            .finish_non_exhaustive()
    }
}

/// Adds `child` to the in-memory directory `dir` as `name`, keeping link
/// counts (a subdirectory adds one to its parent). `ENOENT` if `dir` was
/// removed, `EEXIST` if the name is taken.
pub(crate) fn mem_insert(dir: &MemInode, name: &[u8], child: Arc<MemInode>) -> SysResult<()> {
    let child_is_dir = child.is_dir();
    let mut st = dir.state();
    if st.meta.nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let d = st.dir_mut()?;
    if d.entries.contains_key(name) {
        return Err(Errno::EEXIST);
    }
    d.entries.insert(name.to_vec(), child);
    if child_is_dir {
        st.meta.nlink = st.meta.nlink.saturating_add(1);
    }
    st.meta.touch_modified();
    Ok(())
}

impl Vfs {
    /// A namespace with `/dev` (`null`, `zero`, `full`, `random`,
    /// `urandom`, `tty`), `/tmp` (mode 1777) and an empty `/proc`.
    pub fn new(notifier: Arc<dyn Notifier>) -> Arc<Vfs> {
        let shared = Shared::new(notifier);
        let root = MemInode::new_dir(&shared, 0o755);
        let vfs = Vfs {
            tree: Tree { root, shared },
            ns: Mutex::new(()),
            tty: Mutex::new(None),
        };
        let sh = &vfs.tree.shared;
        let dev = MemInode::new_dir(sh, 0o755);
        for (name, kind) in DeviceKind::ALL {
            // A fresh directory has room for every name: cannot fail.
            let _ = mem_insert(&dev, name, MemInode::new_device(sh, kind));
        }
        let tmp = MemInode::new_dir(sh, 0o1777);
        let proc = MemInode::new_dir(sh, 0o555);
        if let Ok(d) = proc.state().dir_mut() {
            d.proc_root = true;
        }
        for (name, dir) in [(&b"dev"[..], dev), (b"tmp", tmp), (b"proc", proc)] {
            let _ = mem_insert(&vfs.tree.root, name, dir);
        }
        Arc::new(vfs)
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.tree.shared
    }

    /// Makes the host directory `host` visible at the absolute guest path
    /// `guest` (creating in-memory directories up to it). Read-only unless
    /// `writable` (writes fail with `EROFS`). Entries the in-memory tree
    /// has at that point (such as `/dev` when mounting at `/`) stay visible
    /// above the host's.
    pub fn mount_host(&self, guest: &[u8], host: &Path, writable: bool) -> SysResult<()> {
        let meta = std::fs::metadata(host).map_err(io_err)?;
        if !meta.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let root = host.canonicalize().map_err(io_err)?;
        let parsed = path::parse(guest)?;
        if !parsed.absolute {
            return Err(Errno::EINVAL);
        }
        let _ns = lock(&self.ns);
        let mut cur = Arc::clone(&self.tree.root);
        for comp in parsed.components {
            if path::is_dot(comp) {
                return Err(Errno::EINVAL);
            }
            let (existing, backing) = {
                let st = cur.state();
                let d = st.dir()?;
                (d.entries.get(comp).cloned(), d.backing.clone())
            };
            cur = match existing {
                Some(next) if next.is_dir() => next,
                Some(_) => return Err(Errno::ENOTDIR),
                None => {
                    let next = MemInode::new_dir(self.shared(), 0o755);
                    if let Ok(d) = next.state().dir_mut() {
                        d.backing = backing.map(|b| b.child(comp));
                    }
                    mem_insert(&cur, comp, Arc::clone(&next))?;
                    next
                }
            };
        }
        let mut st = cur.state();
        let d = st.dir_mut()?;
        d.backing = Some(HostLoc::root(Arc::new(HostMount { root, writable })));
        d.mount_point = true;
        Ok(())
    }

    /// Reseeds the generator behind `/dev/urandom`, `/dev/random` and
    /// [`Self::random_bytes`] (the default seed is 0).
    pub fn set_urandom_seed(&self, seed: u64) {
        *lock(&self.shared().rng) = Rng::new(seed);
    }

    /// Fills `buf` from the seeded generator (`getrandom`).
    pub fn random_bytes(&self, buf: &mut [u8]) {
        lock(&self.shared().rng).fill(buf);
    }

    /// A new pipe: (read end, write end), [`crate::PIPE_CAPACITY`] bytes.
    pub fn pipe(&self) -> (Arc<OpenFile>, Arc<OpenFile>) {
        let p = Pipe::new(self.shared());
        p.open_end(End::Read);
        p.open_end(End::Write);
        let read = OpenFile::new(
            self.shared(),
            Object::Pipe(Arc::clone(&p), End::Read),
            None,
            crate::OpenFlags::read_only(),
            p.id,
        );
        let write = OpenFile::new(
            self.shared(),
            Object::Pipe(Arc::clone(&p), End::Write),
            None,
            crate::OpenFlags::write_only(),
            p.id,
        );
        (read, write)
    }

    /// A description of a personality's own object (a socket) with a fresh
    /// wait key; `read`/`write` select the access it grants.
    pub fn open_special(
        &self,
        object: Arc<dyn crate::SpecialFile>,
        flags: crate::OpenFlags,
    ) -> Arc<OpenFile> {
        let key = self.shared().next_id();
        OpenFile::new(self.shared(), Object::Special(object), None, flags, key)
    }

    /// A console description over host streams (see [`crate::console`]).
    /// Input is read by a background thread, so `read` never blocks: empty
    /// → `EAGAIN`, and the notifier fires when data or end of file arrives;
    /// no input stream reads as end of file. Output is written and flushed
    /// on each write; no output stream swallows writes. The first console
    /// created becomes `/dev/tty` (see [`Self::set_tty`]).
    pub fn console(
        &self,
        input: Option<Box<dyn std::io::Read + Send>>,
        output: Option<Box<dyn std::io::Write + Send>>,
    ) -> Arc<OpenFile> {
        self.stream(input, output, true)
    }

    /// Like [`console`](Self::console), but a terminal only if `terminal`:
    /// a host stream that is a pipe, a file or a log must not look like a
    /// tty to the guest (`isatty`, stdio buffering, `ls` columns). Only a
    /// terminal becomes `/dev/tty`.
    pub fn stream(
        &self,
        input: Option<Box<dyn std::io::Read + Send>>,
        output: Option<Box<dyn std::io::Write + Send>>,
        terminal: bool,
    ) -> Arc<OpenFile> {
        let c = Console::new(self.shared(), input, output, terminal);
        if terminal {
            lock(&self.tty).get_or_insert_with(|| Arc::clone(&c));
        }
        let id = c.id;
        OpenFile::new(
            self.shared(),
            Object::Console(c),
            None,
            crate::OpenFlags::read_write(),
            id,
        )
    }

    /// Makes the console behind `file` the one `/dev/tty` opens; `ENOTTY`
    /// if `file` is not a console.
    pub fn set_tty(&self, file: &OpenFile) -> SysResult<()> {
        let c = file.console().ok_or(Errno::ENOTTY)?;
        *lock(&self.tty) = Some(c);
        Ok(())
    }

    /// Installs the provider of `/proc/self` (see [`ProcResolver`]).
    pub fn set_proc_resolver(&self, resolver: Arc<dyn ProcResolver>) {
        *self
            .shared()
            .proc
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(resolver);
    }

    /// Caps the bytes in-memory files may hold together (default 1 GiB);
    /// writes past it fail with `ENOSPC`.
    pub fn set_space_limit(&self, bytes: u64) {
        self.shared().set_limit(bytes);
    }

    /// Bytes in-memory files hold now.
    pub fn space_used(&self) -> u64 {
        self.shared().used()
    }

    /// The `(uid, gid)` the guest runs as and owns files as (default: the
    /// host user's). Permissions are checked against mode bits for it;
    /// uid 0 bypasses them as on Linux.
    pub fn owner(&self) -> (u32, u32) {
        let o = self.shared().owner();
        (o.uid, o.gid)
    }

    /// Changes the guest identity (see [`Self::owner`]).
    pub fn set_owner(&self, uid: u32, gid: u32) {
        self.shared().set_owner(Owner { uid, gid });
    }

    /// Creates (or replaces) an in-memory regular file holding `data`,
    /// creating missing parent directories (mode 0755): for seeding
    /// `/etc/passwd` and the like before the guest starts.
    pub fn put_file(&self, path: &[u8], data: &[u8], mode: u32) -> SysResult<()> {
        let parsed = path::parse(path)?;
        if !parsed.absolute {
            return Err(Errno::EINVAL);
        }
        let mut prefix = Vec::new();
        if let Some((_, dirs)) = parsed.components.split_last() {
            for comp in dirs {
                prefix.push(b'/');
                prefix.extend_from_slice(comp);
                match self.mkdir(b"/", &prefix, 0o755, 0) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let flags = crate::OpenFlags {
            write: true,
            create: true,
            trunc: true,
            ..Default::default()
        };
        let f = self.open(b"/", path, flags, mode, 0)?;
        let mut done = 0;
        while done < data.len() {
            done += f.write(&data[done..])?;
        }
        self.chmod(b"/", path, mode)
    }
}

#[cfg(test)]
mod tests;
