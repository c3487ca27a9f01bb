//! Authority as types (after Tock): zero-sized capability markers that only the
//! kernel can create, handed out once at boot to trusted code. A function that
//! needs the authority takes a reference to the marker, so who may do what is
//! visible in signatures and costs nothing at run time.

use super::Cap;
use crate::KernelId;

/// The authority to replace the global scheduling policy.
#[derive(Debug)]
pub struct SwapSchedulerCap {
    kernel: KernelId,
}

impl SwapSchedulerCap {
    /// The kernel this authority belongs to; a scheduler refuses a foreign one.
    pub fn kernel(&self) -> KernelId {
        self.kernel
    }
}

/// The authority to install handlers on an event whose primary module restricts
/// installation to trusted code (e.g. `Translation` fault events of another mound).
#[derive(Debug)]
pub struct PrimaryInstallCap {
    kernel: KernelId,
}

impl PrimaryInstallCap {
    /// The kernel this authority belongs to.
    pub fn kernel(&self) -> KernelId {
        self.kernel
    }
}

/// The authority to mint capabilities for objects that trusted extensions own.
#[derive(Debug)]
pub struct Minter {
    _private: (),
}

impl Minter {
    /// Wraps `value` in a new capability.
    pub fn mint<T: Send + Sync + 'static>(&self, value: T) -> Cap<T> {
        Cap::new(value)
    }
}

/// Everything the kernel hands to its trusted boot code, exactly once per kernel.
#[derive(Debug)]
pub struct Authority {
    /// Swap the global scheduler.
    pub swap_scheduler: SwapSchedulerCap,
    /// Install handlers on restricted primary events.
    pub primary_install: PrimaryInstallCap,
    /// Mint capabilities.
    pub minter: Minter,
}

impl Authority {
    /// Only [`crate::Kernel::boot`] calls this.
    pub(crate) fn new(kernel: KernelId) -> Authority {
        Authority {
            swap_scheduler: SwapSchedulerCap { kernel },
            primary_install: PrimaryInstallCap { kernel },
            minter: Minter { _private: () },
        }
    }
}
