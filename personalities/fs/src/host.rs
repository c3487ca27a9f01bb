//! Host directories mounted into a Vfs.
//!
//! A guest name under a mount maps to the host path `root/rel`. Lookups go
//! one component at a time with `symlink_metadata` and host symbolic links
//! are resolved by the Vfs in the guest namespace, so no guest path can
//! reach a host file outside the mounted directory. Host files are opened
//! only when the guest opens them.

use std::ffi::OsStr;
use std::fs::{FileType, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::PathBuf;
use std::sync::Arc;

use crate::types::{dtype_of_mode, Stat};
use crate::{Errno, PageBacking, SysResult};

/// One host directory mounted into the guest namespace.
#[derive(Debug)]
pub(crate) struct HostMount {
    /// The host directory.
    pub root: PathBuf,
    /// Whether guest writes are allowed (else `EROFS`).
    pub writable: bool,
}

/// A location inside a host mount.
#[derive(Debug, Clone)]
pub(crate) struct HostLoc {
    pub mount: Arc<HostMount>,
    /// Path below the mount's root; empty for the root itself.
    pub rel: PathBuf,
}

/// Host file types the Vfs distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
    Device,
    /// FIFOs and sockets: never opened (opening a host FIFO would block the
    /// host thread).
    Other,
}

impl Kind {
    pub fn of(ft: FileType) -> Kind {
        if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_char_device() || ft.is_block_device() {
            Kind::Device
        } else {
            Kind::Other
        }
    }
}

/// Converts a host error.
pub(crate) fn io_err(e: std::io::Error) -> Errno {
    Errno::from_io(&e)
}

impl HostLoc {
    /// The mount's root.
    pub fn root(mount: Arc<HostMount>) -> HostLoc {
        HostLoc {
            mount,
            rel: PathBuf::new(),
        }
    }

    /// The host path.
    pub fn path(&self) -> PathBuf {
        if self.rel.as_os_str().is_empty() {
            self.mount.root.clone()
        } else {
            self.mount.root.join(&self.rel)
        }
    }

    /// The entry `name` inside this directory (`name` has no slash and is
    /// not `.` or `..`).
    pub fn child(&self, name: &[u8]) -> HostLoc {
        HostLoc {
            mount: Arc::clone(&self.mount),
            rel: self.rel.join(OsStr::from_bytes(name)),
        }
    }

    /// `EROFS` unless the mount is writable.
    pub fn writable(&self) -> SysResult<()> {
        if self.mount.writable {
            Ok(())
        } else {
            Err(Errno::EROFS)
        }
    }

    /// Metadata without following a final symbolic link.
    pub fn lstat(&self) -> SysResult<Metadata> {
        std::fs::symlink_metadata(self.path()).map_err(io_err)
    }

    /// Looks `name` up in this directory: `None` if absent.
    pub fn lookup(&self, name: &[u8]) -> SysResult<Option<(HostLoc, Kind)>> {
        let child = self.child(name);
        match std::fs::symlink_metadata(child.path()) {
            Ok(m) => Ok(Some((child, Kind::of(m.file_type())))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(e)),
        }
    }

    /// Entries of this directory as `(name, ino, d_type)`, sorted by name
    /// so listings are the same on every run.
    pub fn list(&self) -> SysResult<Vec<(Vec<u8>, u64, u8)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.path()).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name().as_bytes().to_vec();
            let (ino, kind) = match entry.metadata() {
                Ok(m) => (m.ino(), dtype_of_mode(m.mode())),
                Err(_) => (0, crate::types::DT_UNKNOWN),
            };
            out.push((name, ino, kind));
        }
        out.sort();
        Ok(out)
    }

    /// The target of a host symbolic link, as guest bytes.
    pub fn read_link(&self) -> SysResult<Vec<u8>> {
        std::fs::read_link(self.path())
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .map_err(io_err)
    }

    /// Whether two locations are the same host file.
    pub fn same_file(&self, other: &HostLoc) -> bool {
        match (self.lstat(), other.lstat()) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
}

/// `stat` of a host file from its metadata.
pub(crate) fn stat_of(m: &Metadata) -> Stat {
    Stat {
        dev: m.dev(),
        ino: m.ino(),
        mode: m.mode(),
        nlink: u32::try_from(m.nlink()).unwrap_or(u32::MAX),
        uid: m.uid(),
        gid: m.gid(),
        rdev: m.rdev(),
        size: m.size(),
        blksize: u32::try_from(m.blksize()).unwrap_or(4096),
        blocks: m.blocks(),
        atime: (m.atime(), m.atime_nsec()),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    }
}

/// An open host regular file.
#[derive(Debug)]
pub(crate) struct HostFile {
    pub file: std::fs::File,
    /// Identity for page sharing, locks and notifier keys.
    pub id: u64,
    /// Its mount is writable (for `fchmod`).
    pub writable: bool,
}

impl HostFile {
    pub fn size(&self) -> SysResult<u64> {
        self.file.metadata().map(|m| m.len()).map_err(io_err)
    }

    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return r.map_err(io_err),
            }
        }
    }

    pub fn write_at(&self, offset: u64, data: &[u8]) -> SysResult<usize> {
        if offset
            .checked_add(data.len() as u64)
            .filter(|&e| e <= i64::MAX as u64)
            .is_none()
        {
            return Err(Errno::EFBIG);
        }
        loop {
            match self.file.write_at(data, offset) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return r.map_err(io_err),
            }
        }
    }
}

impl PageBacking for HostFile {
    fn id(&self) -> u64 {
        self.id
    }

    fn size(&self) -> u64 {
        HostFile::size(self).unwrap_or(0)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        HostFile::read_at(self, offset, buf)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> SysResult<usize> {
        let size = HostFile::size(self)?;
        if offset >= size {
            return Ok(0);
        }
        let n = usize::try_from(size - offset).map_or(data.len(), |room| room.min(data.len()));
        HostFile::write_at(self, offset, &data[..n])
    }
}
