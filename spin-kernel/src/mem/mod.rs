//! Memory services: `PhysAddr` (frames), `VirtAddr` (ranges) and `Translation`
//! (address-space contexts and their mappings).
//!
//! No address-space model lives here: each mound's memory manager builds its
//! own from these three services.

pub mod phys;
pub mod translation;
pub mod virt;

use serde::{Deserialize, Serialize};

pub use phys::{FrameAttrs, FrameOwner, PhysAddrService, PhysError, ReclaimArgs};
pub use translation::{AddressSpace, FaultArgs, MapError, Mapping, Translation};
pub use virt::{VirtAddrService, VirtError, VirtRange};

/// A guest physical address (an offset into the machine's [`crate::GuestRam`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PhysAddr(pub u64);

/// A guest virtual address inside one address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VirtAddr(pub u64);

/// Page protection bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Prot(u8);

impl Prot {
    /// No access.
    pub const NONE: Prot = Prot(0);
    /// Readable.
    pub const READ: Prot = Prot(1);
    /// Writable.
    pub const WRITE: Prot = Prot(2);
    /// Executable.
    pub const EXEC: Prot = Prot(4);
    /// Read + write.
    pub const RW: Prot = Prot(3);
    /// Read + execute.
    pub const RX: Prot = Prot(5);
    /// Read + write + execute.
    pub const RWX: Prot = Prot(7);

    /// Builds a protection from its raw bits (only the low three are kept).
    pub const fn from_bits(bits: u8) -> Prot {
        Prot(bits & 7)
    }
    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }
    /// Union of two protections.
    pub const fn union(self, other: Prot) -> Prot {
        Prot(self.0 | other.0)
    }
    /// `self` without the bits of `other`.
    pub const fn without(self, other: Prot) -> Prot {
        Prot(self.0 & !other.0)
    }
    /// Whether this protection permits `access`.
    pub const fn permits(self, access: crate::Access) -> bool {
        match access {
            crate::Access::Read => self.contains(Prot::READ),
            crate::Access::Write => self.contains(Prot::WRITE),
            crate::Access::Execute => self.contains(Prot::EXEC),
        }
    }
}

impl std::fmt::Debug for Prot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = if self.contains(Prot::READ) { 'r' } else { '-' };
        let w = if self.contains(Prot::WRITE) { 'w' } else { '-' };
        let x = if self.contains(Prot::EXEC) { 'x' } else { '-' };
        write!(f, "{r}{w}{x}")
    }
}

/// One page-table entry as a CPU sees it after a successful walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pte {
    /// Guest physical address of the frame (page aligned).
    pub frame: PhysAddr,
    /// Permitted accesses.
    pub prot: Prot,
    /// The page's dirty bit after the walk (set by this walk if it was a
    /// write). A machine whose MMU sets dirty bits itself may map the page
    /// writable on a read walk when this is already set: the next write
    /// would change nothing.
    pub dirty: bool,
}

/// Why a page walk failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WalkFault {
    /// No mapping for the page.
    NotPresent,
    /// A mapping exists but does not permit the access.
    Protection,
}

/// The small trait through which a machine's MMU reaches the kernel's
/// translations (a software TLB fills from it; KVM builds page tables from it).
pub trait PageTable: Send + Sync {
    /// Address-space identifier, unique for the life of the kernel.
    fn asid(&self) -> u64;
    /// log2 of the page size.
    fn page_shift(&self) -> u32;
    /// Bumped whenever a mapping is removed, its frame changes, its protection is
    /// lowered, or its dirty bit is cleared. A CPU that cached translations with an
    /// older generation must drop them before its next access.
    fn generation(&self) -> u64;
    /// Names the pages whose translations changed between generation `seen`
    /// and generation `upto` (`upto` as read from [`PageTable::generation`]),
    /// calling `pages(first va, page count)` for each change, and returns
    /// `true`; or returns `false` when it cannot (too far behind, or a change
    /// of the whole space) and the caller must drop everything. A CPU then
    /// keeps the rest of its cached translations: protecting one page costs
    /// one page's worth of TLB, as an `invlpg` does.
    fn changes_since(&self, _seen: u64, _upto: u64, _pages: &mut dyn FnMut(u64, u64)) -> bool {
        false
    }
    /// Walks the mapping for `va`, like a hardware page walker: on success it
    /// sets the page's accessed bit, and its dirty bit when `access` is a write.
    fn walk(&self, va: u64, access: crate::Access) -> Result<Pte, WalkFault>;
    /// The mapping for `va` and its accessed bit, setting neither bit: a
    /// machine installing translations ahead of use installs only pages
    /// already young, so only real accesses make a page young (a pager's
    /// reference bits stay true). `None`: not mapped, or a table that
    /// cannot tell (nothing is then installed ahead).
    fn peek(&self, _va: u64) -> Option<(Pte, bool)> {
        None
    }
}
