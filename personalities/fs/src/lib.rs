//! # spin-fs — the shared file-system extension
//!
//! Mounds that need files (the UNIX mound first) build their namespace from
//! this crate: an in-memory root per mound, host directories mounted into it,
//! device nodes, pipes and record locks. Everything here speaks [`Errno`];
//! a personality translates to its guest's numbers at its ABI boundary.
//!
//! * [`Vfs`] — one namespace per mound: `open`, `stat`, `mkdir`, `rename`,
//!   …, host mounts, pipes, the console. Its module docs give the lock rules.
//! * [`OpenFile`] — an open file description (shared by `dup` and `fork`).
//! * [`FdTable`] — one process's descriptors.
//! * [`SpecialFile`] — objects the personality implements (sockets) behind
//!   ordinary descriptions.
//! * [`Notifier`] — how the fs tells the scheduler that a blocked strand
//!   may continue: nothing here ever blocks; would-block is `EAGAIN` plus a
//!   notification on the object's [`OpenFile::wait_key`] later.
//! * [`ProcResolver`] — the personality's answer to `/proc/self/...`.
//! * [`PageBacking`] — file pages for the memory manager's `mmap`.
//!
//! Guest paths are byte strings; the cwd passed to every call is an
//! absolute guest path (as [`Vfs::resolve_dir`] returns). For the `*at`
//! calls, pass the directory description's [`OpenFile::path`] as the cwd.
//! Directory listings are a cursor on the description: [`OpenFile::getdents`]
//! returns entries, [`OpenFile::unread`] gives back those that did not fit,
//! and [`DirEntry::off`] is the `d_off` that `seek` accepts.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod console;
pub mod device;
mod dir;
pub mod errno;
mod fd_table;
mod host;
mod lock;
mod mem;
mod open_file;
mod path;
mod pipe;
mod proc;
mod shared;
mod special;
pub mod types;
mod vfs;
mod walk;

pub use device::DeviceKind;
pub use errno::{Errno, SysResult};
pub use fd_table::{FdTable, DEFAULT_FD_LIMIT};
pub use mem::MEM_DEV;
pub use open_file::{OpenFile, CONSOLE_DEV, PIPE_DEV, SPECIAL_DEV};
pub use proc::{ProcResolver, PROC_DEV};
pub use shared::DEFAULT_SPACE_LIMIT;
pub use special::SpecialFile;
pub use types::*;
pub use vfs::Vfs;

/// A file whose pages a memory manager can map (`mmap` of a regular file).
///
/// The memory manager reads a page on a fault of a private or shared file
/// mapping and writes dirty shared pages back. `id` names the file (not the
/// open description): two opens of one file return the same id, so shared
/// mappings of it share frames.
pub trait PageBacking: Send + Sync {
    /// Identity of the underlying file, stable while it exists.
    fn id(&self) -> u64;
    /// Current size in bytes.
    fn size(&self) -> u64;
    /// Reads at `offset`; returns bytes read (short at end of file).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize>;
    /// Writes at `offset` without extending past the current size (mmap
    /// writeback never grows a file); returns bytes written.
    fn write_at(&self, offset: u64, data: &[u8]) -> SysResult<usize>;
}

/// Told whenever the readiness of object `key` may have changed: pipe data
/// written or read, a pipe end closed, console input or end of file
/// arrived, a record lock released or weakened.
///
/// Called from any thread (console input arrives on a host thread), never
/// while a spin-fs lock is held, so it may call back into the fs. It may be
/// called from `Drop` of the last `Arc<OpenFile>` of a pipe end, i.e. with
/// whatever locks the dropping caller holds: keep it to a non-blocking
/// wake-up (set a flag, send on a channel).
pub trait Notifier: Send + Sync {
    /// Object `key` may have become ready.
    fn notify(&self, key: u64);
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn shared_types_are_send_and_sync() {
        send_sync::<crate::Vfs>();
        send_sync::<crate::OpenFile>();
        send_sync::<crate::FdTable>();
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::sync::Mutex;

    /// Ignores notifications.
    pub struct NullNotifier;

    impl crate::Notifier for NullNotifier {
        fn notify(&self, _key: u64) {}
    }

    /// Records every notification.
    #[derive(Default)]
    pub struct Recorder(pub Mutex<Vec<u64>>);

    impl Recorder {
        pub fn take(&self) -> Vec<u64> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    impl crate::Notifier for Recorder {
        fn notify(&self, key: u64) {
            self.0.lock().unwrap().push(key);
        }
    }
}
