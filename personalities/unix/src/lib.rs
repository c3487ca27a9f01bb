//! # spin-unix — the UNIX mound
//!
//! Runs unmodified static Linux binaries on the SPIN kernel, as SPIN's UNIX
//! server did: a [`UnixMound`] is a SPIN extension with its own memory manager
//! (`spin-unix-mm`: demand paging, copy-on-write fork, mmap, reclaim), its own
//! strand package (every guest thread is a strand; blocking calls block the
//! strand, not the CPU), a file system built from the shared `spin-fs`
//! extension, and the Linux ABI, table-driven per architecture ([`abi`]).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod abi;
pub mod config;
pub mod ext;
mod mound;
mod process;
pub mod signal;
mod socket;
mod syscall;

pub use config::{CaptureWriter, GuestFile, HostMount, SharedWriter, Stdio, UnixConfig};
pub use mound::{UnixMound, UnixStats};
pub use spin_fs::Errno;
