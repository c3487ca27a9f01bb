//! Shared helpers for the scheduler's integration tests.

#![allow(dead_code)]

use std::sync::Arc;

use spin_kernel::cap::Authority;
use spin_kernel::machine::new_guest_ram;
use spin_kernel::{GlobalScheduler, Kernel, KernelConfig, Nanos, Pick, SchedParams, StrandId};
use spin_scheduler::{Scheduler, SchedulerConfig};

/// A booted kernel, its authority and a runtime bound to it.
pub fn boot(config: SchedulerConfig) -> (Arc<Kernel>, Authority, Scheduler) {
    let ram = new_guest_ram(1 << 20).expect("1 MiB of guest RAM");
    let (kernel, authority) = Kernel::boot(ram, KernelConfig::default());
    let sched = Scheduler::new(kernel.id(), config).expect("valid config");
    (kernel, authority, sched)
}

/// Parameters with a priority and a weight.
pub fn params(priority: u8, weight: u32) -> SchedParams {
    SchedParams {
        priority,
        weight,
        reservation: None,
    }
}

/// A deliberately starving policy: always runs the lowest id, so a CPU-bound
/// strand with a low id starves every other one.
#[derive(Debug, Default)]
pub struct LowestIdOnly {
    set: std::collections::BTreeSet<StrandId>,
}

impl GlobalScheduler for LowestIdOnly {
    fn name(&self) -> &'static str {
        "lowest-id-only"
    }
    fn enqueue(&mut self, strand: StrandId, _params: &SchedParams, _now: Nanos) {
        self.set.insert(strand);
    }
    fn remove(&mut self, strand: StrandId) -> bool {
        self.set.remove(&strand)
    }
    fn pick_next(&mut self, _now: Nanos) -> Option<Pick> {
        let strand = self.set.pop_first()?;
        Some(Pick {
            strand,
            quantum: 1_000_000,
        })
    }
    fn charge(&mut self, _strand: StrandId, _params: &SchedParams, _ran: Nanos, _now: Nanos) {}
    fn drain(&mut self) -> Vec<StrandId> {
        std::mem::take(&mut self.set).into_iter().collect()
    }
    fn len(&self) -> usize {
        self.set.len()
    }
}
