//! # spin-fs — the shared file-system extension
//!
//! Mounds that need files (the UNIX mound first) build their namespace from
//! this crate: an in-memory root per mound, host directories mounted into it,
//! device nodes, pipes and record locks. Everything here speaks [`Errno`];
//! a personality translates to its guest's numbers at its ABI boundary.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod errno;

pub use errno::{Errno, SysResult};

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
