//! The kernel object: one per host machine, assembling the core services.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cap::{Authority, Cap};
use crate::domain::{Domain, Export, NameServer};
use crate::machine::{Arch, GuestRam};
use crate::mem::{PhysAddrService, Translation};
use crate::strand::Strands;
use crate::telemetry::{DomainTelemetry, EventSource, FrameTelemetry, KernelSnapshot};

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
    booted: Instant,
    ram: Arc<GuestRam>,
    /// Frames of guest RAM.
    pub phys: Arc<PhysAddrService>,
    /// Address-space contexts and fault events.
    pub translation: Arc<Translation>,
    /// Strands and their events.
    pub strands: Arc<Strands>,
    /// Domains by name.
    pub nameserver: NameServer,
    events: Mutex<Vec<Arc<dyn EventSource>>>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("id", &self.id)
            .field("arch", &self.arch)
            .finish()
    }
}

/// The name of the public kernel interface domain.
pub const SPIN_PUBLIC: &str = "SpinPublic";

impl Kernel {
    /// Boots a kernel over `ram`. Returns it with the [`Authority`] that only
    /// trusted boot code receives (swap the scheduler, trusted installs, mint).
    ///
    /// The public kernel interface is exported as the domain `SpinPublic`, the
    /// combination of the `Memory` domain (`PhysAddr`, `Translation`) and the
    /// `Strand` domain.
    pub fn boot(ram: Arc<GuestRam>, config: KernelConfig) -> (Arc<Kernel>, Authority) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = KernelId(NEXT.fetch_add(1, Ordering::Relaxed));
        let shift = config.arch.page_shift();
        let phys = Arc::new(PhysAddrService::new(
            &ram,
            shift,
            config.colors,
            config.reserved_frames,
        ));
        let translation = Arc::new(Translation::new(ram.clone(), shift));
        let strands = Arc::new(Strands::new());
        let memory = Domain::create(
            "Memory",
            vec![
                Export::new::<PhysAddrService>("PhysAddr", phys.clone()),
                Export::new::<Translation>("Translation", translation.clone()),
            ],
            vec![],
        );
        let strand_domain = Domain::create(
            "Strand",
            vec![Export::new::<Strands>("Strand", strands.clone())],
            vec![],
        );
        let public = Domain::combine(SPIN_PUBLIC, &memory, &strand_domain)
            .expect("the Memory and Strand domains export disjoint names");
        let nameserver = NameServer::new();
        for d in [public, memory, strand_domain] {
            nameserver
                .export(d, None)
                .expect("a fresh nameserver has no names taken");
        }
        let events: Vec<Arc<dyn EventSource>> = vec![
            Arc::new(phys.reclaim.clone()),
            Arc::new(translation.page_not_present.clone()),
            Arc::new(translation.protection_fault.clone()),
            Arc::new(translation.bad_address.clone()),
            Arc::new(strands.block.clone()),
            Arc::new(strands.unblock.clone()),
            Arc::new(strands.checkpoint.clone()),
            Arc::new(strands.resume.clone()),
        ];
        let kernel = Kernel {
            id,
            arch: config.arch,
            booted: Instant::now(),
            ram,
            phys,
            translation,
            strands,
            nameserver,
            events: Mutex::new(events),
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

    /// The public kernel interface domain.
    pub fn public_domain(&self) -> Cap<Domain> {
        self.nameserver
            .import(SPIN_PUBLIC, &crate::event::Principal::kernel("kernel"))
            .expect("boot registered SpinPublic without an authorizer")
    }

    /// Adds an event (e.g. a mound's own) to the telemetry snapshot.
    pub fn register_event(&self, event: Arc<dyn EventSource>) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }

    /// A snapshot of the kernel's state for telemetry.
    pub fn snapshot(&self) -> KernelSnapshot {
        let events: Vec<Arc<dyn EventSource>> = self
            .events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        KernelSnapshot {
            kernel: self.id.0,
            arch: self.arch,
            host_us: self.booted.elapsed().as_micros() as u64,
            domains: self
                .nameserver
                .describe()
                .into_iter()
                .map(|(name, exports, unresolved)| DomainTelemetry {
                    name,
                    exports,
                    unresolved,
                })
                .collect(),
            events: events.iter().map(|e| e.event_telemetry()).collect(),
            frames: FrameTelemetry {
                page_size: self.phys.frame_size(),
                total: self.phys.total_frames(),
                free: self.phys.free_frames(),
                owners: self.phys.owners(),
                map: self.phys.frame_map(128),
            },
            strands: self.strands.telemetry(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::new_guest_ram;
    use crate::mem::FrameAttrs;
    use crate::strand::{MoundId, SchedParams};

    #[test]
    fn boot_exports_public_interface_and_snapshot_serializes() {
        let ram = new_guest_ram(64 * 8192).unwrap();
        let (k, auth) = Kernel::boot(ram, KernelConfig::default());
        assert_eq!(auth.swap_scheduler.kernel(), k.id());
        let public = k.public_domain();
        assert!(public.lookup::<PhysAddrService>("PhysAddr").is_some());
        assert!(public.lookup::<Strands>("Strand").is_some());
        assert!(
            public.lookup::<Strands>("PhysAddr").is_none(),
            "typed lookup"
        );
        k.phys.allocate(MoundId(1), FrameAttrs::default()).unwrap();
        let s = k.strands.create("init", MoundId(1), SchedParams::default());
        k.strands.unblock(s, 0);
        let snap = k.snapshot();
        assert_eq!(snap.frames.total, 64);
        assert_eq!(snap.frames.free, 63);
        assert_eq!(snap.strands.len(), 1);
        assert!(snap
            .events
            .iter()
            .any(|e| e.name == "Strand.Unblock" && e.raises == 1));
        let json = serde_json::to_string(&snap).unwrap();
        let back: KernelSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
    }
}
