//! # spin-unix-mm — the UNIX mound's memory manager
//!
//! SPIN puts no address-space model in the kernel: each mound builds its own on
//! the kernel's `PhysAddr` (frames under a per-mound quota, `Reclaim` event) and
//! `Translation` (address-space contexts) services. This crate is the UNIX
//! mound's: Linux-style virtual memory at the machine's page granularity
//! (8 KiB on Alpha).
//!
//! * [`MemoryManager`] — one per mound. Owns the *frame table* (every frame the
//!   mound holds, its reverse map `frame → [(space, va)]` whose length is the
//!   copy-on-write reference count), the *swap store* (a host temp file with a
//!   slot allocator), the registry of file objects (the mound's page cache:
//!   `MAP_SHARED` file pages, and the untouched pages of private file mappings,
//!   which map the cached frames read-only and copy on write — so processes
//!   running one program share its text), and the handler answering `PhysAddr.Reclaim`
//!   for its mound: an LRU clock over resident frames using the translation's
//!   accessed bits. Clean file and never-written zero pages are dropped, dirty
//!   private pages go to swap, dirty shared file pages are written back.
//! * [`Vm`] — one process address space: regions (VMAs), a software page table
//!   (`va → frame | swap slot`), demand-zero and file-backed faults, stack
//!   growth, copy-on-write [`Vm::fork`], `mmap`/`munmap`/`mprotect`/`mremap`/
//!   `madvise`/`msync`/`brk`, and user copies that fault pages in like a guest
//!   access would.
//! * [`exec`] — ELF validation and demand-paged loading ([`exec::load_elf`]) and
//!   the initial process stack ([`exec::build_stack`]).
//!
//! ## Lock order
//!
//! Outermost first; a thread holding one may only take those below it.
//!
//! 0. The list of file pagers (HOOK for spin-dbpager, `file_pager.rs`);
//!    never held while a pager is called.
//! 1. `VmCore::state` (a process's regions and page table). Several at once
//!    only in ascending Vm id order (fork: parent then child; eviction: every
//!    space mapping the victim frame).
//! 2. `MemoryManager::objects` (the registry of file objects).
//! 3. `SharedObj::pages` (one file or shared object's page map), one at a time.
//! 4. `MemoryManager::frames` (the frame table).
//! 5. `MemoryManager::swap` (the swap slot table).
//! 6. Kernel-internal leaf locks (an `AddressSpace`'s entries, `PhysAddr`'s
//!    state) taken inside kernel calls.
//!
//! **Re-entrancy (DESIGN §8).** `PhysAddrService::allocate` may raise
//! `PhysAddr.Reclaim` synchronously on the calling thread, and our own handler
//! then takes locks 1–5. So no lock of this crate is ever held across
//! `allocate`: the fault path decides what to do under the Vm lock (pinning
//! the copy-on-write source frame or swap slot so reclaim leaves it alone),
//! drops every lock, allocates and fills the frame, then re-takes the locks
//! and installs the page only if nothing changed meanwhile (else it frees the
//! frame and retries). Only the fault path allocates frames.
//!
//! User copies ([`Vm::read`]/[`Vm::write`]) hold the Vm lock while they touch
//! guest memory, so eviction and fork (which unmap or write-protect under that
//! lock) never race a copy in flight.
//!
//! Dropping the last `Arc` of a Vm or a shared object tears it down, taking
//! locks 2–5; so such `Arc`s (temporaries in eviction, regions removed by
//! `munmap`) are only ever dropped with none of locks 2–5 held (a Vm lock is
//! fine).
//!
//! **Contract with the file system.** [`spin_fs::PageBacking`] methods are
//! called with these locks held (page-ins, write-back on eviction), so they
//! must never call back into the memory manager, and callers must not hold a
//! lock that a `PageBacking` method takes while calling a memory-manager
//! method that may fault or reclaim (user copies, `handle_fault`, `mmap` with
//! populate) or [`MemoryManager::writeback`]/[`MemoryManager::file_changed`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod exec;
mod file_pager;
mod frames;
mod layout;
mod manager;
mod reclaim;
mod scratch;
mod shared;
mod stats;
mod swap;
mod types;
mod vm;

pub use exec::{
    build_stack, build_stack_for, load_elf, AuxvMachine, Creds, ElfImage, ExecError, TlsInfo,
};
pub use file_pager::{FileMapping, FilePager};
pub use layout::Layout;
pub use manager::MemoryManager;
pub use spin_kernel::{Access, MoundId, Prot};
pub use stats::MmStats;
pub use types::{Fault, MapFlags, RegionInfo, RegionKind};
pub use vm::Vm;
