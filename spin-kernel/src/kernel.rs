//! The kernel object: one per host machine, assembling the core services.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cap::Authority;
use crate::machine::{Arch, GuestRam};
use crate::mem::{PhysAddrService, Translation};

/// Identifies one kernel instance in this host process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KernelId(pub u64);

/// How to build a kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KernelConfig {
    /// Architecture of the machine it runs on (sets the page size).
    pub arch: Arch,
    /// Cache colors for `PhysAddr`.
    pub colors: u32,
    /// Frames at the bottom of RAM never handed out (boot structures).
    pub reserved_frames: u64,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            arch: Arch::Alpha,
            colors: 8,
            reserved_frames: 0,
        }
    }
}

/// The SPIN kernel: core services shared by every mound.
pub struct Kernel {
    id: KernelId,
    arch: Arch,
    ram: Arc<GuestRam>,
    /// Frames of guest RAM.
    pub phys: PhysAddrService,
    /// Address-space contexts and fault events.
    pub translation: Translation,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("id", &self.id).field("arch", &self.arch).finish()
    }
}

impl Kernel {
    /// Boots a kernel over `ram`. Returns it with the [`Authority`] that only
    /// trusted boot code receives (swap the scheduler, trusted installs, mint).
    pub fn boot(ram: Arc<GuestRam>, config: KernelConfig) -> (Arc<Kernel>, Authority) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = KernelId(NEXT.fetch_add(1, Ordering::Relaxed));
        let shift = config.arch.page_shift();
        let kernel = Kernel {
            id,
            arch: config.arch,
            phys: PhysAddrService::new(&ram, shift, config.colors, config.reserved_frames),
            translation: Translation::new(ram.clone(), shift),
            ram,
        };
        (Arc::new(kernel), Authority::new(id))
    }

    /// This kernel's id.
    pub fn id(&self) -> KernelId {
        self.id
    }

    /// The machine architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Guest RAM.
    pub fn ram(&self) -> &Arc<GuestRam> {
        &self.ram
    }
}
