//! Name operations: stat, access, links, directories, rename, truncate,
//! chmod, chdir resolution.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::sync::Arc;

use super::open::{create_parent, Parent};
use super::{mem_insert, Vfs};
use crate::host::{io_err, Kind};
use crate::mem::{MemInode, LINK_MAX};
use crate::shared::lock;
use crate::types::{Stat, PATH_MAX, S_IFMT, W_OK, X_OK};
use crate::walk::{mem_dir_is_empty, Last, Loc, Stack};
use crate::{Errno, SysResult};

/// Which file system a name lives in, for `EXDEV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    Mem,
    Host(*const crate::host::HostMount),
    Proc,
}

fn domain_of(loc: &Loc) -> Domain {
    match loc {
        Loc::Mem(_) => Domain::Mem,
        Loc::Host(h, _) => Domain::Host(Arc::as_ptr(&h.mount)),
        Loc::Proc(_) | Loc::Reopen(_) => Domain::Proc,
    }
}

fn domain_of_parent(p: &Parent) -> Domain {
    match p {
        Parent::Mem(_) => Domain::Mem,
        Parent::Host(h) => Domain::Host(Arc::as_ptr(&h.mount)),
    }
}

/// Whether an in-memory node may not be removed or renamed: a mount point,
/// a directory leading to one, or an entry of a directory a host directory
/// backs.
fn mem_busy(parent: &Loc, child: &MemInode) -> bool {
    let backed = |m: &MemInode| {
        m.state()
            .dir()
            .map(|d| d.backing.is_some())
            .unwrap_or(false)
    };
    backed(child) || matches!(parent, Loc::Mem(p) if backed(p))
}

/// Removes `name` from `dir` and fixes link counts.
fn mem_remove(dir: &MemInode, name: &[u8]) -> SysResult<Arc<MemInode>> {
    let child = {
        let mut st = dir.state();
        let child = st.dir_mut()?.entries.remove(name).ok_or(Errno::ENOENT)?;
        st.meta.touch_modified();
        child
    };
    if child.is_dir() {
        let mut cst = child.state();
        cst.meta.nlink = 0;
        cst.meta.touch_changed();
        drop(cst);
        let mut st = dir.state();
        st.meta.nlink = st.meta.nlink.saturating_sub(1);
    } else {
        let mut cst = child.state();
        cst.meta.nlink = cst.meta.nlink.saturating_sub(1);
        cst.meta.touch_changed();
    }
    Ok(child)
}

fn mem_parent(loc: &Loc) -> Option<&Arc<MemInode>> {
    match loc {
        Loc::Mem(m) => Some(m),
        _ => None,
    }
}

/// A `(seconds, nanoseconds)` time as a host time; `EINVAL` when the
/// nanoseconds are out of range.
fn system_time((sec, nsec): (i64, i64)) -> SysResult<std::time::SystemTime> {
    let nsec = u32::try_from(nsec)
        .ok()
        .filter(|&n| n < 1_000_000_000)
        .ok_or(Errno::EINVAL)?;
    let epoch = std::time::UNIX_EPOCH;
    let t = if sec >= 0 {
        epoch.checked_add(std::time::Duration::new(sec.unsigned_abs(), nsec))
    } else {
        epoch
            .checked_sub(std::time::Duration::new(sec.unsigned_abs(), 0))
            .and_then(|t| t.checked_add(std::time::Duration::new(0, nsec)))
    };
    t.ok_or(Errno::EINVAL)
}

impl Vfs {
    /// `stat` (`follow`) or `lstat`.
    pub fn stat(&self, cwd: &[u8], path: &[u8], follow: bool) -> SysResult<Stat> {
        self.tree
            .resolve(cwd, path, follow)?
            .top()
            .stat(self.shared())
    }

    /// `access`: `mode` is `F_OK` or an `R_OK|W_OK|X_OK` mask; `EACCES`
    /// when the mode bits deny it, `EROFS` for `W_OK` on a read-only mount.
    pub fn access(&self, cwd: &[u8], path: &[u8], mode: u32) -> SysResult<()> {
        if mode & !7 != 0 {
            return Err(Errno::EINVAL);
        }
        let stack = self.tree.resolve(cwd, path, true)?;
        let loc = stack.top();
        if mode & W_OK != 0 {
            if let Loc::Host(h, Kind::File | Kind::Dir) = loc {
                h.writable()?;
            }
        }
        if loc.permits(self.shared(), mode) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// `readlink`: the target of a symbolic link; `EINVAL` for others.
    pub fn readlink(&self, cwd: &[u8], path: &[u8]) -> SysResult<Vec<u8>> {
        let stack = self.tree.resolve(cwd, path, false)?;
        self.tree.read_link(stack.top())
    }

    /// `symlink`: creates `linkpath` pointing at `target` (not checked).
    pub fn symlink(&self, target: &[u8], cwd: &[u8], linkpath: &[u8]) -> SysResult<()> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if target.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let _ns = lock(&self.ns);
        let (stack, name) = self.new_name(cwd, linkpath)?;
        match create_parent(stack.top())? {
            Parent::Mem(dir) => {
                if !dir.permits(W_OK | X_OK) {
                    return Err(Errno::EACCES);
                }
                mem_insert(&dir, &name, MemInode::new_symlink(self.shared(), target))
            }
            Parent::Host(h) => {
                h.writable()?;
                std::os::unix::fs::symlink(OsStr::from_bytes(target), h.child(&name).path())
                    .map_err(io_err)
            }
        }
    }

    /// Walks to the parent of a name about to be created: `EEXIST` if it
    /// exists (or is `/`, `.`, `..`), `ENOENT` for a trailing slash.
    fn new_name(&self, cwd: &[u8], path: &[u8]) -> SysResult<(Stack, Vec<u8>)> {
        let w = self.tree.walk(cwd, path)?;
        let Last::Name(name) = w.last else {
            return Err(Errno::EEXIST);
        };
        if self.tree.lookup(w.stack.top(), &name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        if w.must_dir {
            return Err(Errno::ENOENT);
        }
        Ok((w.stack, name))
    }

    /// `link`: a new name `new` for the file `old` (not following a final
    /// symbolic link). `EPERM` for directories, `EXDEV` across mounts.
    pub fn link(&self, cwd: &[u8], old: &[u8], new: &[u8]) -> SysResult<()> {
        let _ns = lock(&self.ns);
        let old_stack = self.tree.resolve(cwd, old, false)?;
        let oloc = old_stack.top().clone();
        let (stack, name) = self.new_name(cwd, new)?;
        let parent = create_parent(stack.top())?;
        if domain_of(&oloc) != domain_of_parent(&parent) {
            return Err(Errno::EXDEV);
        }
        if oloc.is_dir() {
            return Err(Errno::EPERM);
        }
        match (oloc, parent) {
            (Loc::Mem(file), Parent::Mem(dir)) => {
                if !dir.permits(W_OK | X_OK) {
                    return Err(Errno::EACCES);
                }
                if file.state().meta.nlink >= LINK_MAX {
                    return Err(Errno::EMLINK);
                }
                mem_insert(&dir, &name, Arc::clone(&file))?;
                let mut st = file.state();
                st.meta.nlink = st.meta.nlink.saturating_add(1);
                st.meta.touch_changed();
                Ok(())
            }
            (Loc::Host(h, _), Parent::Host(dir)) => {
                dir.writable()?;
                std::fs::hard_link(h.path(), dir.child(&name).path()).map_err(io_err)
            }
            _ => Err(Errno::EXDEV),
        }
    }

    /// `unlink`: removes a non-directory name (`EISDIR` for directories).
    pub fn unlink(&self, cwd: &[u8], path: &[u8]) -> SysResult<()> {
        let _ns = lock(&self.ns);
        let w = self.tree.walk(cwd, path)?;
        let Last::Name(name) = w.last else {
            return Err(Errno::EISDIR);
        };
        let loc = self
            .tree
            .lookup(w.stack.top(), &name)?
            .ok_or(Errno::ENOENT)?;
        if loc.is_dir() {
            return Err(Errno::EISDIR);
        }
        if w.must_dir {
            return Err(Errno::ENOTDIR);
        }
        match &loc {
            Loc::Mem(child) => {
                let parent = mem_parent(w.stack.top()).ok_or(Errno::EXDEV)?;
                if mem_busy(w.stack.top(), child) {
                    return Err(Errno::EBUSY);
                }
                if !parent.permits(W_OK | X_OK) {
                    return Err(Errno::EACCES);
                }
                mem_remove(parent, &name).map(drop)
            }
            Loc::Host(h, _) => {
                h.writable()?;
                std::fs::remove_file(h.path()).map_err(io_err)
            }
            Loc::Proc(_) | Loc::Reopen(_) => Err(Errno::EACCES),
        }
    }

    /// `mkdir` with `mode & !umask` permissions.
    pub fn mkdir(&self, cwd: &[u8], path: &[u8], mode: u32, umask: u32) -> SysResult<()> {
        let _ns = lock(&self.ns);
        let w = self.tree.walk(cwd, path)?;
        let Last::Name(name) = w.last else {
            return Err(Errno::EEXIST);
        };
        if self.tree.lookup(w.stack.top(), &name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let perm = mode & !umask & 0o1777;
        match create_parent(w.stack.top())? {
            Parent::Mem(dir) => {
                if !dir.permits(W_OK | X_OK) {
                    return Err(Errno::EACCES);
                }
                mem_insert(&dir, &name, MemInode::new_dir(self.shared(), perm))
            }
            Parent::Host(h) => {
                h.writable()?;
                std::fs::DirBuilder::new()
                    .mode(perm)
                    .create(h.child(&name).path())
                    .map_err(io_err)
            }
        }
    }

    /// `rmdir`: removes an empty directory.
    pub fn rmdir(&self, cwd: &[u8], path: &[u8]) -> SysResult<()> {
        let _ns = lock(&self.ns);
        let w = self.tree.walk(cwd, path)?;
        let name = match w.last {
            Last::Name(name) => name,
            Last::Dot => return Err(Errno::EINVAL),
            Last::DotDot => return Err(Errno::ENOTEMPTY),
            Last::Root => return Err(Errno::EBUSY),
        };
        let loc = self
            .tree
            .lookup(w.stack.top(), &name)?
            .ok_or(Errno::ENOENT)?;
        if !loc.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        match &loc {
            Loc::Mem(child) => {
                let parent = mem_parent(w.stack.top()).ok_or(Errno::EXDEV)?;
                if mem_busy(w.stack.top(), child) {
                    return Err(Errno::EBUSY);
                }
                if !parent.permits(W_OK | X_OK) {
                    return Err(Errno::EACCES);
                }
                if !mem_dir_is_empty(child)? {
                    return Err(Errno::ENOTEMPTY);
                }
                mem_remove(parent, &name).map(drop)
            }
            Loc::Host(h, _) => {
                h.writable()?;
                std::fs::remove_dir(h.path()).map_err(io_err)
            }
            Loc::Proc(_) | Loc::Reopen(_) => Err(Errno::EACCES),
        }
    }

    /// `rename`: atomically moves `old` to `new`, replacing a compatible
    /// `new`. `EXDEV` across mounts.
    pub fn rename(&self, cwd: &[u8], old: &[u8], new: &[u8]) -> SysResult<()> {
        let _ns = lock(&self.ns);
        let ow = self.tree.walk(cwd, old)?;
        let nw = self.tree.walk(cwd, new)?;
        let (Last::Name(oname), Last::Name(nname)) = (&ow.last, &nw.last) else {
            return Err(Errno::EBUSY);
        };
        let oloc = self
            .tree
            .lookup(ow.stack.top(), oname)?
            .ok_or(Errno::ENOENT)?;
        let nloc = self.tree.lookup(nw.stack.top(), nname)?;
        if !oloc.is_dir() && (ow.must_dir || nw.must_dir) {
            return Err(Errno::ENOTDIR);
        }
        let new_domain = match &nloc {
            Some(l) => domain_of(l),
            None => domain_of_parent(&create_parent(nw.stack.top())?),
        };
        if domain_of(&oloc) != new_domain {
            return Err(Errno::EXDEV);
        }
        if let Some(n) = &nloc {
            if n.same(&oloc) {
                return Ok(());
            }
        }
        match (&oloc, new_domain) {
            (Loc::Host(h, _), Domain::Host(_)) => {
                h.writable()?;
                let dest = match (&nloc, create_parent(nw.stack.top())?) {
                    (Some(Loc::Host(n, _)), _) => n.path(),
                    (_, Parent::Host(p)) => p.child(nname).path(),
                    _ => return Err(Errno::EXDEV),
                };
                std::fs::rename(h.path(), dest).map_err(io_err)
            }
            (Loc::Mem(moved), Domain::Mem) => {
                let victim = match &nloc {
                    Some(Loc::Mem(v)) => Some(v),
                    Some(_) => return Err(Errno::EXDEV),
                    None => None,
                };
                self.rename_mem(&ow.stack, oname, moved, &nw.stack, nname, victim)
            }
            _ => Err(Errno::EXDEV),
        }
    }

    fn rename_mem(
        &self,
        old_stack: &Stack,
        oname: &[u8],
        moved: &Arc<MemInode>,
        new_stack: &Stack,
        nname: &[u8],
        victim: Option<&Arc<MemInode>>,
    ) -> SysResult<()> {
        let (Some(op), Some(np)) = (mem_parent(old_stack.top()), mem_parent(new_stack.top()))
        else {
            return Err(Errno::EXDEV);
        };
        if mem_busy(old_stack.top(), moved) || victim.is_some_and(|v| mem_busy(new_stack.top(), v))
        {
            return Err(Errno::EBUSY);
        }
        let moved_loc = Loc::Mem(Arc::clone(moved));
        if moved.is_dir() {
            if new_stack.contains(&moved_loc) {
                return Err(Errno::EINVAL);
            }
            if let Some(v) = victim {
                if !v.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                if !mem_dir_is_empty(v)? {
                    return Err(Errno::ENOTEMPTY);
                }
            }
        } else if victim.is_some_and(|v| v.is_dir()) {
            return Err(Errno::EISDIR);
        }
        if !op.permits(W_OK | X_OK) || !np.permits(W_OK | X_OK) {
            return Err(Errno::EACCES);
        }
        if np.state().meta.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        if victim.is_some() {
            mem_remove(np, nname)?;
        }
        let node = {
            let mut st = op.state();
            let node = st.dir_mut()?.entries.remove(oname).ok_or(Errno::ENOENT)?;
            if node.is_dir() {
                st.meta.nlink = st.meta.nlink.saturating_sub(1);
            }
            st.meta.touch_modified();
            node
        };
        node.state().meta.touch_changed();
        // Cannot fail: np is alive and the name was freed above.
        mem_insert(np, nname, node)
    }

    /// `truncate`: sets a regular file's length (`EISDIR` for directories,
    /// `EINVAL` for other types or a length past `i64::MAX`).
    pub fn truncate(&self, cwd: &[u8], path: &[u8], len: u64) -> SysResult<()> {
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let stack = self.tree.resolve(cwd, path, true)?;
        let loc = stack.top();
        match loc.kind() {
            Kind::Dir => return Err(Errno::EISDIR),
            Kind::File => {}
            _ => return Err(Errno::EINVAL),
        }
        if let Loc::Host(h, _) = loc {
            h.writable()?;
        }
        if !loc.permits(self.shared(), W_OK) {
            return Err(Errno::EACCES);
        }
        match loc {
            Loc::Mem(m) => m.set_len(len),
            Loc::Host(h, _) => std::fs::OpenOptions::new()
                .write(true)
                .open(h.path())
                .and_then(|f| f.set_len(len))
                .map_err(io_err),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `chmod`: sets the permission bits (`mode & 07777`).
    pub fn chmod(&self, cwd: &[u8], path: &[u8], mode: u32) -> SysResult<()> {
        let stack = self.tree.resolve(cwd, path, true)?;
        match stack.top() {
            Loc::Mem(m) => {
                let mut st = m.state();
                st.meta.mode = (st.meta.mode & S_IFMT) | (mode & 0o7777);
                st.meta.touch_changed();
                Ok(())
            }
            Loc::Host(h, _) => {
                h.writable()?;
                std::fs::set_permissions(h.path(), std::fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(io_err)
            }
            Loc::Proc(_) | Loc::Reopen(_) => Err(Errno::EPERM),
        }
    }

    /// `utimensat`: sets access and modification times (`None` leaves one
    /// unchanged; the ABI layer turns `UTIME_NOW` into the current time).
    /// Changes `ctime` to now. A final symbolic link is followed when
    /// `follow` (times of host symbolic links themselves are left alone).
    pub fn set_times(
        &self,
        cwd: &[u8],
        path: &[u8],
        atime: Option<(i64, i64)>,
        mtime: Option<(i64, i64)>,
        follow: bool,
    ) -> SysResult<()> {
        let stack = self.tree.resolve(cwd, path, follow)?;
        match stack.top() {
            Loc::Mem(m) => {
                let mut st = m.state();
                if let Some(t) = atime {
                    st.meta.atime = t;
                }
                if let Some(t) = mtime {
                    st.meta.mtime = t;
                }
                st.meta.touch_changed();
                Ok(())
            }
            Loc::Host(_, Kind::Symlink) => Ok(()),
            Loc::Host(h, _) => {
                h.writable()?;
                let mut times = std::fs::FileTimes::new();
                if let Some(t) = atime {
                    times = times.set_accessed(system_time(t)?);
                }
                if let Some(t) = mtime {
                    times = times.set_modified(system_time(t)?);
                }
                std::fs::File::open(h.path())
                    .and_then(|f| f.set_times(times))
                    .map_err(io_err)
            }
            Loc::Proc(_) | Loc::Reopen(_) => Err(Errno::EPERM),
        }
    }

    /// For `chdir`: the canonical absolute path of directory `path`
    /// (`ENOTDIR`, `ENOENT`, `EACCES` without search permission).
    pub fn resolve_dir(&self, cwd: &[u8], path: &[u8]) -> SysResult<Vec<u8>> {
        let stack = self.tree.resolve(cwd, path, true)?;
        let loc = stack.top();
        if !loc.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !loc.permits(self.shared(), X_OK) {
            return Err(Errno::EACCES);
        }
        Ok(stack.path())
    }
}
