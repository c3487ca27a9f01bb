//! `/proc/self`: the per-process part of `/proc`, answered by the
//! personality through a [`ProcResolver`].
//!
//! The fs does not know which process is calling; the resolver does (for
//! example from a thread-local the system-call layer sets around each call).
//! Without a resolver `/proc` is an empty directory.

use std::sync::Arc;

use crate::host::Kind;
use crate::open_file::OpenFile;
use crate::shared::{now, Shared};
use crate::types::{Stat, DT_DIR, DT_LNK, S_IFDIR, S_IFLNK};
use crate::walk::Loc;
use crate::{Errno, SysResult};

/// Device number reported for `/proc/self` nodes.
pub const PROC_DEV: u64 = 0x2c;
/// Inode numbers of `/proc/self` nodes start here (far above the counter).
const PROC_INO_BASE: u64 = 1 << 40;

/// Answers `/proc/self/...` for the calling process.
///
/// Called from inside path walks, possibly with the Vfs namespace mutex
/// held: implementations must not call back into the Vfs, and should only
/// take locks that callers never hold across a Vfs call.
pub trait ProcResolver: Send + Sync {
    /// Target of `/proc/self/exe`: the guest path of the running executable.
    fn exe(&self) -> Option<Vec<u8>>;
    /// The open file behind descriptor `fd`.
    fn fd(&self, fd: i32) -> Option<Arc<OpenFile>>;
    /// The open descriptors, ascending.
    fn fds(&self) -> Vec<i32>;
}

/// A node under `/proc/self`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcNode {
    /// `/proc/self`.
    SelfDir,
    /// `/proc/self/fd`.
    FdDir,
    /// `/proc/self/exe`.
    Exe,
    /// `/proc/self/fd/N`.
    Fd(i32),
}

/// Where a `/proc/self` link leads.
pub(crate) enum ProcTarget {
    Path(Vec<u8>),
    Object(Arc<OpenFile>),
}

fn resolver(shared: &Shared) -> SysResult<Arc<dyn crate::ProcResolver>> {
    shared.resolver().ok_or(Errno::ENOENT)
}

/// What `readlink` shows for an open file: its path, or a Linux-style
/// description for pathless objects.
pub(crate) fn describe(file: &OpenFile) -> Vec<u8> {
    match file.path() {
        Some(p) => p,
        None if file.is_tty() => b"/dev/tty".to_vec(),
        None => format!("pipe:[{}]", file.wait_key()).into_bytes(),
    }
}

impl ProcNode {
    pub fn kind(self) -> Kind {
        match self {
            ProcNode::SelfDir | ProcNode::FdDir => Kind::Dir,
            ProcNode::Exe | ProcNode::Fd(_) => Kind::Symlink,
        }
    }

    pub fn ino(self) -> u64 {
        match self {
            ProcNode::SelfDir => PROC_INO_BASE + 1,
            ProcNode::FdDir => PROC_INO_BASE + 2,
            ProcNode::Exe => PROC_INO_BASE + 3,
            ProcNode::Fd(n) => PROC_INO_BASE + 16 + u64::from(n.unsigned_abs()),
        }
    }

    pub fn stat(self, shared: &Shared) -> SysResult<Stat> {
        let owner = shared.owner();
        let t = now();
        let (mode, size) = match self {
            ProcNode::SelfDir | ProcNode::FdDir => (S_IFDIR | 0o555, 0),
            ProcNode::Exe | ProcNode::Fd(_) => {
                (S_IFLNK | 0o777, self.readlink(shared)?.len() as u64)
            }
        };
        Ok(Stat {
            dev: PROC_DEV,
            ino: self.ino(),
            mode,
            nlink: if self.kind() == Kind::Dir { 2 } else { 1 },
            uid: owner.uid,
            gid: owner.gid,
            size,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        })
    }

    pub fn lookup(self, shared: &Shared, name: &[u8]) -> SysResult<Option<Loc>> {
        match self {
            ProcNode::SelfDir => Ok(match name {
                b"exe" => Some(Loc::Proc(ProcNode::Exe)),
                b"fd" => Some(Loc::Proc(ProcNode::FdDir)),
                _ => None,
            }),
            ProcNode::FdDir => {
                let fd = std::str::from_utf8(name)
                    .ok()
                    .filter(|s| !s.starts_with('+'))
                    .and_then(|s| s.parse::<i32>().ok());
                match fd {
                    Some(fd) if fd >= 0 && resolver(shared)?.fd(fd).is_some() => {
                        Ok(Some(Loc::Proc(ProcNode::Fd(fd))))
                    }
                    _ => Ok(None),
                }
            }
            ProcNode::Exe | ProcNode::Fd(_) => Err(Errno::ENOTDIR),
        }
    }

    pub fn readlink(self, shared: &Shared) -> SysResult<Vec<u8>> {
        match self {
            ProcNode::Exe => resolver(shared)?.exe().ok_or(Errno::ENOENT),
            ProcNode::Fd(fd) => resolver(shared)?
                .fd(fd)
                .map(|f| describe(&f))
                .ok_or(Errno::ENOENT),
            ProcNode::SelfDir | ProcNode::FdDir => Err(Errno::EINVAL),
        }
    }

    pub fn target(self, shared: &Shared) -> SysResult<ProcTarget> {
        match self {
            ProcNode::Exe => resolver(shared)?
                .exe()
                .map(ProcTarget::Path)
                .ok_or(Errno::ENOENT),
            ProcNode::Fd(fd) => {
                let file = resolver(shared)?.fd(fd).ok_or(Errno::ENOENT)?;
                Ok(match file.path() {
                    Some(p) => ProcTarget::Path(p),
                    None => ProcTarget::Object(file),
                })
            }
            ProcNode::SelfDir | ProcNode::FdDir => Err(Errno::EINVAL),
        }
    }

    /// Entries (without `.` and `..`) as `(name, ino, d_type)`.
    pub fn list(self, shared: &Shared) -> SysResult<Vec<(Vec<u8>, u64, u8)>> {
        match self {
            ProcNode::SelfDir => Ok(vec![
                (b"exe".to_vec(), ProcNode::Exe.ino(), DT_LNK),
                (b"fd".to_vec(), ProcNode::FdDir.ino(), DT_DIR),
            ]),
            ProcNode::FdDir => Ok(resolver(shared)?
                .fds()
                .into_iter()
                .filter(|&fd| fd >= 0)
                .map(|fd| (fd.to_string().into_bytes(), ProcNode::Fd(fd).ino(), DT_LNK))
                .collect()),
            ProcNode::Exe | ProcNode::Fd(_) => Err(Errno::ENOTDIR),
        }
    }
}
