//! State shared by every CPU of one machine: LL/SC reservations and the
//! `imb` generation.
//!
//! A reservation is the 16-byte-aligned physical block an `ldx_l` read. A
//! store by any *other* CPU into that block clears it, and `stx_c` succeeds
//! only if its CPU still holds the reservation *and* an atomic
//! compare-exchange against the value `ldx_l` read succeeds — the
//! compare-exchange makes the conditional store atomic with respect to
//! racing stores, the reservation catches a store of an equal value.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Most CPUs one machine can have.
pub const MAX_CPUS: usize = 64;
const NONE: u64 = u64::MAX;
const BLOCK: u64 = !15;

/// Per-machine multiprocessor state.
pub(crate) struct Shared {
    slots: Box<[AtomicU64]>,
    /// Bit `i` set: CPU `i` may hold a reservation (set before its slot is
    /// written, cleared only by CPU `i` itself), so a store that sees no
    /// other CPU's bit needs no snoop.
    held: AtomicU64,
    cpus: AtomicUsize,
    imb: AtomicU64,
}

impl Shared {
    /// State for a machine with no CPUs yet.
    pub fn new() -> Shared {
        Shared {
            slots: (0..MAX_CPUS).map(|_| AtomicU64::new(NONE)).collect(),
            held: AtomicU64::new(0),
            cpus: AtomicUsize::new(0),
            imb: AtomicU64::new(0),
        }
    }

    /// Records that CPU `index` exists (stores start snooping for it).
    pub fn add_cpu(&self, index: usize) {
        self.cpus.fetch_max(index + 1, Ordering::AcqRel);
    }

    /// Number of CPU slots in use.
    pub fn cpus(&self) -> usize {
        self.cpus.load(Ordering::Acquire).min(MAX_CPUS)
    }

    /// CPU `me` reserves the block holding physical address `pa` (before
    /// it reads the value: a store that misses the reservation then happens
    /// before that read).
    pub fn reserve(&self, me: usize, pa: u64) {
        self.held.fetch_or(1 << me, Ordering::SeqCst);
        self.slots[me].store(pa & BLOCK, Ordering::SeqCst);
    }

    /// Whether CPU `me` still holds a reservation on `pa`'s block.
    pub fn holds(&self, me: usize, pa: u64) -> bool {
        self.slots[me].load(Ordering::SeqCst) == pa & BLOCK
    }

    /// Drops CPU `me`'s reservation.
    pub fn release(&self, me: usize) {
        self.slots[me].store(NONE, Ordering::SeqCst);
        self.held.fetch_and(!(1 << me), Ordering::SeqCst);
    }

    /// CPU `me` stored to `pa`: clear every other CPU's reservation on that block.
    #[inline]
    pub fn snoop(&self, pa: u64, me: usize) {
        let others = self.held.load(Ordering::SeqCst) & !(1 << me);
        if others == 0 {
            return;
        }
        let block = pa & BLOCK;
        for (i, s) in self.slots[..self.cpus()].iter().enumerate() {
            if others & 1 << i != 0 && s.load(Ordering::Relaxed) == block {
                let _ = s.compare_exchange(block, NONE, Ordering::SeqCst, Ordering::Relaxed);
            }
        }
    }

    /// Address of the reservation bitmask, for compiled code (stable while
    /// the `Shared` lives).
    pub fn held_addr(&self) -> usize {
        &self.held as *const AtomicU64 as usize
    }

    /// The current `imb` generation.
    pub fn imb_generation(&self) -> u64 {
        self.imb.load(Ordering::Acquire)
    }

    /// Announces an `imb` to every CPU; returns the new generation.
    pub fn bump_imb(&self) -> u64 {
        self.imb.fetch_add(1, Ordering::AcqRel) + 1
    }
}
