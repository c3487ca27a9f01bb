//! Small public value types of the memory-manager interface.

use serde::{Deserialize, Serialize};
use spin_kernel::Prot;

/// Why a fault could not be resolved; the caller turns it into a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Fault {
    /// No region maps the address (`SIGSEGV`, `SEGV_MAPERR`).
    #[error("no mapping at the faulting address")]
    MapErr,
    /// A region maps it but forbids the access (`SIGSEGV`, `SEGV_ACCERR`).
    #[error("the mapping does not permit the access")]
    AccErr,
    /// A file-backed page lies wholly beyond the end of its file, or the file
    /// could not be read (`SIGBUS`).
    #[error("file-backed page beyond the end of the file")]
    Bus,
    /// No frame could be had, even after reclaim (the process is killed).
    #[error("out of memory")]
    Oom,
}

/// `mmap` flags, already decoded from the guest's architecture-specific bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapFlags {
    /// `MAP_SHARED`: writes reach the file and other mappings of it.
    pub shared: bool,
    /// `MAP_PRIVATE`: copy-on-write.
    pub private: bool,
    /// `MAP_FIXED`: exactly at `addr`, replacing what is there.
    pub fixed: bool,
    /// `MAP_FIXED_NOREPLACE`: exactly at `addr`, `EEXIST` if anything is there.
    pub fixed_noreplace: bool,
    /// `MAP_ANONYMOUS`: no file; pages start zeroed.
    pub anonymous: bool,
    /// `MAP_POPULATE`: fault every page in now.
    pub populate: bool,
    /// `MAP_GROWSDOWN`: a stack-like region that grows down on faults below it.
    pub growsdown: bool,
    /// `MAP_STACK`: a hint only (as on Linux).
    pub stack: bool,
    /// `MAP_NORESERVE`: accepted; nothing is reserved in advance anyway.
    pub noreserve: bool,
}

impl MapFlags {
    /// `MAP_PRIVATE | MAP_ANONYMOUS`.
    pub const fn private_anon() -> MapFlags {
        MapFlags {
            shared: false,
            private: true,
            fixed: false,
            fixed_noreplace: false,
            anonymous: true,
            populate: false,
            growsdown: false,
            stack: false,
            noreserve: false,
        }
    }

    /// `MAP_SHARED | MAP_ANONYMOUS`.
    pub const fn shared_anon() -> MapFlags {
        MapFlags {
            shared: true,
            private: false,
            ..MapFlags::private_anon()
        }
    }

    /// `MAP_PRIVATE` of a file.
    pub const fn private_file() -> MapFlags {
        MapFlags {
            anonymous: false,
            ..MapFlags::private_anon()
        }
    }

    /// `MAP_SHARED` of a file.
    pub const fn shared_file() -> MapFlags {
        MapFlags {
            anonymous: false,
            ..MapFlags::shared_anon()
        }
    }

    /// The same flags with `MAP_FIXED` set.
    pub const fn with_fixed(self) -> MapFlags {
        MapFlags {
            fixed: true,
            ..self
        }
    }
}

/// What a region holds, for `/proc/self/maps` and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// Anonymous memory.
    Anon,
    /// The `brk` heap (`[heap]`).
    Heap,
    /// The process stack (`[stack]`).
    Stack,
    /// A file mapping (private or shared).
    File,
}

/// One region (VMA) of an address space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInfo {
    /// First address (page aligned).
    pub start: u64,
    /// First address past the region (page aligned).
    pub end: u64,
    /// Protection as requested by the process.
    pub prot: Prot,
    /// `MAP_SHARED` (else private).
    pub shared: bool,
    /// What the region holds.
    pub kind: RegionKind,
    /// The mapped file's id ([`spin_fs::PageBacking::id`]), if file-backed.
    pub file_id: Option<u64>,
    /// Byte offset in the file of `start` (0 for anonymous regions).
    pub offset: u64,
    /// Pages of this region resident in this address space.
    pub resident_pages: u64,
}
