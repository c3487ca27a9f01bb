//! The in-memory tree: inodes for directories, regular files, symbolic links
//! and device nodes.
//!
//! Each inode has one mutex over its metadata and contents. Directory
//! entries hold `Arc`s to their children, so an unlinked file stays alive
//! while an open file description holds it; its space is returned to the
//! Vfs quota when the last reference goes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::device::DeviceKind;
use crate::host::HostLoc;
use crate::shared::{lock, now, Shared};
use crate::types::{Stat, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use crate::{Errno, PageBacking, SysResult};

/// Device number of every Vfs's in-memory tree.
pub const MEM_DEV: u64 = 0x2b;

/// Preferred I/O size reported for in-memory files, in bytes.
const BLKSIZE: u32 = 4096;

/// Directory link count past which `link` fails with `EMLINK`.
pub const LINK_MAX: u32 = 65_000;

/// Ownership, permissions and times of an inode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    /// Type and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Meta {
    /// Marks a change of contents (`mtime` and `ctime`).
    pub fn touch_modified(&mut self) {
        let t = now();
        self.mtime = t;
        self.ctime = t;
    }

    /// Marks a change of metadata only (`ctime`).
    pub fn touch_changed(&mut self) {
        self.ctime = now();
    }
}

/// A directory's entries.
#[derive(Default)]
pub(crate) struct MemDir {
    /// Children by name (never `.` or `..`).
    pub entries: BTreeMap<Vec<u8>, Arc<MemInode>>,
    /// Host directory whose entries show through beneath ours: set on mount
    /// points and on directories created to reach a mount point inside
    /// another mount. Names not in `entries` are looked up, created and
    /// removed there.
    pub backing: Option<HostLoc>,
    /// A mount point: cannot be removed or renamed.
    pub mount_point: bool,
    /// `/proc`: `self` appears here when a resolver is installed.
    pub proc_root: bool,
}

/// What an inode holds.
pub(crate) enum Body {
    Dir(MemDir),
    File(Vec<u8>),
    Symlink(Vec<u8>),
    Device(DeviceKind),
}

/// The lock-protected part of an inode.
pub(crate) struct MemState {
    pub meta: Meta,
    pub body: Body,
}

impl MemState {
    pub fn dir(&self) -> SysResult<&MemDir> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    pub fn dir_mut(&mut self) -> SysResult<&mut MemDir> {
        match &mut self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Size in bytes as `stat` reports it.
    pub fn size(&self) -> u64 {
        match &self.body {
            Body::Dir(_) => u64::from(BLKSIZE),
            Body::File(data) => data.len() as u64,
            Body::Symlink(t) => t.len() as u64,
            Body::Device(_) => 0,
        }
    }
}

/// One in-memory inode.
pub(crate) struct MemInode {
    /// Inode number (from the Vfs's deterministic counter).
    pub ino: u64,
    shared: Arc<Shared>,
    state: Mutex<MemState>,
}

impl MemInode {
    fn new(shared: &Arc<Shared>, mode: u32, nlink: u32, rdev: u64, body: Body) -> Arc<MemInode> {
        let t = now();
        let owner = shared.owner();
        Arc::new(MemInode {
            ino: shared.next_id(),
            shared: Arc::clone(shared),
            state: Mutex::new(MemState {
                meta: Meta {
                    mode,
                    nlink,
                    uid: owner.uid,
                    gid: owner.gid,
                    rdev,
                    atime: t,
                    mtime: t,
                    ctime: t,
                },
                body,
            }),
        })
    }

    /// A new, unlinked directory (`nlink` 2 once entered in a parent).
    pub fn new_dir(shared: &Arc<Shared>, perm: u32) -> Arc<MemInode> {
        Self::new(
            shared,
            S_IFDIR | (perm & 0o7777),
            2,
            0,
            Body::Dir(MemDir::default()),
        )
    }

    /// A new empty regular file with one link.
    pub fn new_file(shared: &Arc<Shared>, perm: u32) -> Arc<MemInode> {
        Self::new(
            shared,
            S_IFREG | (perm & 0o7777),
            1,
            0,
            Body::File(Vec::new()),
        )
    }

    /// A new symbolic link with one link.
    pub fn new_symlink(shared: &Arc<Shared>, target: &[u8]) -> Arc<MemInode> {
        Self::new(
            shared,
            S_IFLNK | 0o777,
            1,
            0,
            Body::Symlink(target.to_vec()),
        )
    }

    /// A new character device node.
    pub fn new_device(shared: &Arc<Shared>, kind: DeviceKind) -> Arc<MemInode> {
        Self::new(
            shared,
            S_IFCHR | kind.perm(),
            1,
            kind.rdev(),
            Body::Device(kind),
        )
    }

    /// Locks the inode.
    pub fn state(&self) -> MutexGuard<'_, MemState> {
        lock(&self.state)
    }

    /// Type and permission bits.
    pub fn mode(&self) -> u32 {
        self.state().meta.mode
    }

    pub fn is_dir(&self) -> bool {
        self.mode() & S_IFMT == S_IFDIR
    }

    pub fn stat(&self) -> Stat {
        let st = self.state();
        let m = &st.meta;
        let size = st.size();
        let blocks = match st.body {
            Body::File(_) => size.div_ceil(u64::from(BLKSIZE)) * u64::from(BLKSIZE / 512),
            Body::Dir(_) => 8,
            _ => 0,
        };
        Stat {
            dev: MEM_DEV,
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: BLKSIZE,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }

    /// Reads file contents at `offset`; short at end of file.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let st = self.state();
        let Body::File(data) = &st.body else {
            return Err(Errno::EINVAL);
        };
        let Ok(off) = usize::try_from(offset) else {
            return Ok(0);
        };
        if off >= data.len() {
            return Ok(0);
        }
        let n = buf.len().min(data.len() - off);
        buf[..n].copy_from_slice(&data[off..off + n]);
        Ok(n)
    }

    /// Writes `data` at `offset` (or at the end when `offset` is `None`,
    /// for `O_APPEND`), growing the file; returns the end offset written.
    /// `ENOSPC` past the Vfs quota, `EFBIG` past the largest offset.
    pub fn write_at(&self, offset: Option<u64>, data: &[u8]) -> SysResult<u64> {
        let mut st = self.state();
        let Body::File(contents) = &mut st.body else {
            return Err(Errno::EINVAL);
        };
        let off = offset.unwrap_or(contents.len() as u64);
        if data.is_empty() {
            return Ok(off);
        }
        let end = off
            .checked_add(data.len() as u64)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or(Errno::EFBIG)?;
        let old = contents.len() as u64;
        if end > old {
            self.shared.reserve(end - old)?;
        }
        let (Ok(off), Ok(end_us)) = (usize::try_from(off), usize::try_from(end)) else {
            self.shared.release(end.saturating_sub(old));
            return Err(Errno::EFBIG);
        };
        if end_us > contents.len() {
            if contents.try_reserve(end_us - contents.len()).is_err() {
                self.shared.release(end - old);
                return Err(Errno::ENOSPC);
            }
            contents.resize(end_us, 0);
        }
        contents[off..end_us].copy_from_slice(data);
        st.meta.touch_modified();
        Ok(end)
    }

    /// Sets the file's length, zero-filling growth.
    pub fn set_len(&self, len: u64) -> SysResult<()> {
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let mut st = self.state();
        let Body::File(contents) = &mut st.body else {
            return Err(Errno::EINVAL);
        };
        let old = contents.len() as u64;
        if len > old {
            self.shared.reserve(len - old)?;
            let Ok(new_len) = usize::try_from(len) else {
                self.shared.release(len - old);
                return Err(Errno::EFBIG);
            };
            if contents.try_reserve(new_len - contents.len()).is_err() {
                self.shared.release(len - old);
                return Err(Errno::ENOSPC);
            }
            contents.resize(new_len, 0);
        } else if len < old {
            // len < old <= usize::MAX, so the conversion cannot fail.
            contents.truncate(usize::try_from(len).unwrap_or(contents.len()));
            // Give memory back after a big shrink (SQLite truncates journals).
            if contents.capacity() > contents.len().saturating_mul(2).max(4096) {
                contents.shrink_to(contents.len());
            }
            self.shared.release(old - len);
        }
        st.meta.touch_modified();
        Ok(())
    }

    /// Symlink target.
    pub fn symlink_target(&self) -> Option<Vec<u8>> {
        match &self.state().body {
            Body::Symlink(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// Device kind of a device node.
    pub fn device(&self) -> Option<DeviceKind> {
        match &self.state().body {
            Body::Device(k) => Some(*k),
            _ => None,
        }
    }

    /// Whether the owner may access this inode (`R_OK|W_OK|X_OK` mask).
    pub fn permits(&self, want: u32) -> bool {
        let m = self.state().meta;
        self.shared.permits(m.mode, m.uid, m.gid, want)
    }
}

impl Drop for MemInode {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Body::File(data) = &st.body {
            self.shared.release(data.len() as u64);
        }
    }
}

impl PageBacking for MemInode {
    fn id(&self) -> u64 {
        self.ino
    }

    fn size(&self) -> u64 {
        self.state().size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        MemInode::read_at(self, offset, buf)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> SysResult<usize> {
        let mut st = self.state();
        let Body::File(contents) = &mut st.body else {
            return Err(Errno::EINVAL);
        };
        let Ok(off) = usize::try_from(offset) else {
            return Ok(0);
        };
        if off >= contents.len() {
            return Ok(0);
        }
        let n = data.len().min(contents.len() - off);
        contents[off..off + n].copy_from_slice(&data[..n]);
        if n > 0 {
            st.meta.touch_modified();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests_support::NullNotifier;

    fn shared() -> Arc<Shared> {
        Shared::new(Arc::new(NullNotifier))
    }

    #[test]
    fn file_grows_shrinks_and_accounts_space() {
        let sh = shared();
        let f = MemInode::new_file(&sh, 0o644);
        assert_eq!(f.write_at(Some(10), b"abc").unwrap(), 13);
        assert_eq!(sh.used(), 13);
        let mut buf = [9u8; 20];
        assert_eq!(f.read_at(0, &mut buf).unwrap(), 13);
        assert_eq!(&buf[..13], b"\0\0\0\0\0\0\0\0\0\0abc");
        assert_eq!(f.read_at(13, &mut buf).unwrap(), 0);
        assert_eq!(f.read_at(u64::MAX, &mut buf).unwrap(), 0);
        assert_eq!(f.write_at(None, b"de").unwrap(), 15);
        f.set_len(4).unwrap();
        assert_eq!(sh.used(), 4);
        assert_eq!(f.stat().size, 4);
        drop(f);
        assert_eq!(sh.used(), 0);
    }

    #[test]
    fn quota_and_huge_offsets() {
        let sh = shared();
        sh.set_limit(100);
        let f = MemInode::new_file(&sh, 0o644);
        assert_eq!(f.write_at(Some(99), b"xy"), Err(Errno::ENOSPC));
        assert_eq!(f.write_at(Some(u64::MAX - 1), b"xy"), Err(Errno::EFBIG));
        assert_eq!(f.set_len(1 << 40), Err(Errno::ENOSPC));
        assert_eq!(f.set_len(u64::MAX), Err(Errno::EINVAL));
        assert_eq!(sh.used(), 0);
        f.write_at(Some(0), &[1; 100]).unwrap();
        assert_eq!(sh.used(), 100);
    }

    #[test]
    fn page_backing_never_extends() {
        let sh = shared();
        let f = MemInode::new_file(&sh, 0o644);
        f.write_at(Some(0), b"hello").unwrap();
        let b: Arc<dyn PageBacking> = f.clone();
        assert_eq!(b.id(), f.ino);
        assert_eq!(b.write_at(3, b"XYZ").unwrap(), 2);
        assert_eq!(b.write_at(9, b"XYZ").unwrap(), 0);
        let mut buf = [0u8; 8];
        assert_eq!(b.read_at(0, &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"helXY");
        assert_eq!(b.size(), 5);
    }

    #[test]
    fn stat_reports_kinds() {
        let sh = shared();
        let d = MemInode::new_dir(&sh, 0o755);
        let l = MemInode::new_symlink(&sh, b"target");
        let st = d.stat();
        assert!(st.is_dir());
        assert_eq!(st.nlink, 2);
        assert_eq!(st.dev, MEM_DEV);
        assert!(l.stat().is_symlink());
        assert_eq!(l.stat().size, 6);
        assert_ne!(d.ino, l.ino);
        assert_eq!(d.read_at(0, &mut [0u8; 4]), Err(Errno::EINVAL));
    }
}
