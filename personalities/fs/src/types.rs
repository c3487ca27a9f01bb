//! The neutral value types of the file-system API: open flags, `stat`
//! results, directory entries, record-lock ranges, readiness.
//!
//! Mode, `S_IF*` and `DT_*` values are Linux's, which every architecture the
//! mound runs shares; open flags are plain booleans because their bit values
//! differ per architecture (the ABI layer translates).

/// File-type bits of a mode (`S_IFMT`).
pub const S_IFMT: u32 = 0o170_000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140_000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120_000;
/// Regular file.
pub const S_IFREG: u32 = 0o100_000;
/// Block device.
pub const S_IFBLK: u32 = 0o060_000;
/// Directory.
pub const S_IFDIR: u32 = 0o040_000;
/// Character device.
pub const S_IFCHR: u32 = 0o020_000;
/// FIFO (pipe).
pub const S_IFIFO: u32 = 0o010_000;

/// `d_type`: unknown.
pub const DT_UNKNOWN: u8 = 0;
/// `d_type`: FIFO.
pub const DT_FIFO: u8 = 1;
/// `d_type`: character device.
pub const DT_CHR: u8 = 2;
/// `d_type`: directory.
pub const DT_DIR: u8 = 4;
/// `d_type`: block device.
pub const DT_BLK: u8 = 6;
/// `d_type`: regular file.
pub const DT_REG: u8 = 8;
/// `d_type`: symbolic link.
pub const DT_LNK: u8 = 10;
/// `d_type`: socket.
pub const DT_SOCK: u8 = 12;

/// `access` mode bit: read.
pub const R_OK: u32 = 4;
/// `access` mode bit: write.
pub const W_OK: u32 = 2;
/// `access` mode bit: execute / search.
pub const X_OK: u32 = 1;
/// `access` mode: existence only.
pub const F_OK: u32 = 0;

/// Longest path accepted, in bytes, counting the terminating NUL the guest
/// passed (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Longest path component, in bytes (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Symbolic links followed in one lookup before `ELOOP` (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
/// Capacity of a pipe, in bytes.
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Writes to a pipe up to this many bytes are atomic (`PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;

/// The `d_type` matching a mode's file type.
pub fn dtype_of_mode(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFREG => DT_REG,
        S_IFDIR => DT_DIR,
        S_IFLNK => DT_LNK,
        S_IFCHR => DT_CHR,
        S_IFBLK => DT_BLK,
        S_IFIFO => DT_FIFO,
        S_IFSOCK => DT_SOCK,
        _ => DT_UNKNOWN,
    }
}

/// Linux's `makedev` for device numbers (`rdev`, `dev`).
pub const fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// How a file is opened; the ABI layer translates the guest's `O_*` bits.
///
/// `O_RDONLY` is `read: true`, `O_WRONLY` is `write: true`, `O_RDWR` both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenFlags {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// `O_CREAT`.
    pub create: bool,
    /// `O_EXCL` (with `create`: fail if the name exists, never follow).
    pub excl: bool,
    /// `O_TRUNC`.
    pub trunc: bool,
    /// `O_APPEND`.
    pub append: bool,
    /// `O_NONBLOCK` (recorded for the caller; the fs itself never blocks).
    pub nonblock: bool,
    /// `O_DIRECTORY`.
    pub directory: bool,
    /// `O_NOFOLLOW`.
    pub nofollow: bool,
    /// `O_PATH`: a handle for `fstat`, `fchdir` and `*at` lookups only.
    pub path_only: bool,
}

impl OpenFlags {
    /// `O_RDONLY`.
    pub fn read_only() -> Self {
        OpenFlags {
            read: true,
            ..Default::default()
        }
    }
    /// `O_WRONLY`.
    pub fn write_only() -> Self {
        OpenFlags {
            write: true,
            ..Default::default()
        }
    }
    /// `O_RDWR`.
    pub fn read_write() -> Self {
        OpenFlags {
            read: true,
            write: true,
            ..Default::default()
        }
    }
}

/// What `stat` reports, in Linux's units (sizes in bytes, `blocks` in
/// 512-byte units, times as `(seconds, nanoseconds)` since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// Device of the file system holding the file.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// `S_IFMT` type bits and permission bits.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, for device nodes.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O size in bytes.
    pub blksize: u32,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Last access.
    pub atime: (i64, i64),
    /// Last modification.
    pub mtime: (i64, i64),
    /// Last status change.
    pub ctime: (i64, i64),
}

impl Stat {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }
}

/// Origin of a `seek`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whence {
    /// `SEEK_SET`.
    Set,
    /// `SEEK_CUR`.
    Cur,
    /// `SEEK_END`.
    End,
}

/// One directory entry returned by [`crate::OpenFile::getdents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// `DT_*` type.
    pub kind: u8,
    /// Name, without a slash.
    pub name: Vec<u8>,
    /// Directory position just after this entry: the `d_off` to report, and
    /// a value `seek(off, Whence::Set)` accepts to continue from there.
    pub off: u64,
}

/// The kind of a record lock (`F_RDLCK`, `F_WRLCK`, `F_UNLCK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Shared lock.
    Read,
    /// Exclusive lock.
    Write,
    /// Release.
    Unlock,
}

/// A byte range lock request or holder (`struct flock`, already made
/// absolute: the ABI layer resolves `l_whence` and negative `l_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRange {
    /// Kind of lock.
    pub kind: LockKind,
    /// First byte.
    pub start: u64,
    /// Length in bytes; 0 means "to end of file, however it grows".
    pub len: u64,
    /// Owning process.
    pub pid: u32,
}

/// What `poll` would report for an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// A read would not return `EAGAIN` (`POLLIN`).
    pub readable: bool,
    /// A write would not return `EAGAIN` (`POLLOUT`).
    pub writable: bool,
    /// The other end is gone (`POLLHUP`).
    pub hangup: bool,
    /// An error is pending, e.g. a pipe with no readers (`POLLERR`).
    pub error: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makedev_matches_linux() {
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(136, 0), 0x8800);
        assert_eq!(makedev(5, 0), 0x500);
    }

    #[test]
    fn dtype_follows_mode() {
        assert_eq!(dtype_of_mode(S_IFDIR | 0o755), DT_DIR);
        assert_eq!(dtype_of_mode(S_IFLNK | 0o777), DT_LNK);
        assert_eq!(dtype_of_mode(0), DT_UNKNOWN);
    }
}
