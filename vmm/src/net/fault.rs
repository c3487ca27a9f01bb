//! Seeded fault injection on a NIC: a fraction of frames dropped,
//! duplicated or reordered, in both directions, each counted.
//!
//! The kernels of these machines have no `netem`, so lossy-link tests get
//! their loss here. Decisions come from [`spin_kernel::rng::Rng`] seeded
//! from the configuration: the same seed and the same frames give the same
//! faults. A reordered frame is held back and delivered right after the
//! next frame in its direction (or at the next poll if none follows).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spin_kernel::rng::Rng;
use spin_net::{Nic, NicError};

use super::Faults;

/// What the injector did, counted.
#[derive(Debug, Default)]
pub struct FaultCounters {
    drops: AtomicU64,
    dups: AtomicU64,
    reorders: AtomicU64,
}

/// A snapshot of [`FaultCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSnapshot {
    /// Frames dropped.
    pub drops: u64,
    /// Frames duplicated.
    pub dups: u64,
    /// Frames reordered.
    pub reorders: u64,
}

impl FaultCounters {
    /// The counts now.
    pub fn snapshot(&self) -> FaultSnapshot {
        FaultSnapshot {
            drops: self.drops.load(Ordering::Relaxed),
            dups: self.dups.load(Ordering::Relaxed),
            reorders: self.reorders.load(Ordering::Relaxed),
        }
    }
}

enum Fate {
    Deliver,
    Drop,
    Duplicate,
    Reorder,
}

/// One direction's state: its generator, the frame held back, and frames
/// ready to be received (duplicates, released held frames).
struct Direction {
    rng: Rng,
    held: Option<Vec<u8>>,
    ready: VecDeque<Vec<u8>>,
}

impl Direction {
    fn new(seed: u64) -> Direction {
        Direction {
            rng: Rng::new(seed),
            held: None,
            ready: VecDeque::new(),
        }
    }

    /// A uniform draw in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn fate(&mut self, f: &Faults) -> Fate {
        // One draw per fault kind, so changing one fraction does not shift
        // the others' decisions.
        let (d, u, r) = (self.unit(), self.unit(), self.unit());
        if d < f.drop {
            Fate::Drop
        } else if u < f.duplicate {
            Fate::Duplicate
        } else if r < f.reorder {
            Fate::Reorder
        } else {
            Fate::Deliver
        }
    }
}

/// A NIC wrapper that injects faults; see the module docs.
pub struct FaultyNic {
    inner: Arc<dyn Nic>,
    faults: Faults,
    tx: Mutex<Direction>,
    rx: Mutex<Direction>,
    counters: Arc<FaultCounters>,
}

fn lock(m: &Mutex<Direction>) -> std::sync::MutexGuard<'_, Direction> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FaultyNic {
    /// Wraps `inner` with `faults`.
    pub fn new(inner: Arc<dyn Nic>, faults: Faults) -> FaultyNic {
        FaultyNic {
            inner,
            faults,
            tx: Mutex::new(Direction::new(faults.seed)),
            rx: Mutex::new(Direction::new(faults.seed ^ 0x9e37_79b9_7f4a_7c15)),
            counters: Arc::default(),
        }
    }

    /// The injector's counters.
    pub fn counters(&self) -> Arc<FaultCounters> {
        self.counters.clone()
    }

    /// Sends a frame held back for reordering, if any (called on every
    /// receive poll so a held frame never waits for long).
    fn flush_held_tx(&self) {
        let held = lock(&self.tx).held.take();
        if let Some(f) = held {
            let _ = self.inner.transmit(f);
        }
    }
}

impl Nic for FaultyNic {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        let (fate, held) = {
            let mut d = lock(&self.tx);
            let fate = d.fate(&self.faults);
            let held = if matches!(fate, Fate::Drop | Fate::Reorder) {
                None
            } else {
                d.held.take()
            };
            (fate, held)
        };
        match fate {
            Fate::Drop => {
                self.counters.drops.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Fate::Reorder => {
                self.counters.reorders.fetch_add(1, Ordering::Relaxed);
                let previous = lock(&self.tx).held.replace(frame);
                match previous {
                    Some(p) => self.inner.transmit(p),
                    None => Ok(()),
                }
            }
            Fate::Duplicate => {
                self.counters.dups.fetch_add(1, Ordering::Relaxed);
                let r = self.inner.transmit(frame.clone());
                let _ = self.inner.transmit(frame);
                if let Some(h) = held {
                    let _ = self.inner.transmit(h);
                }
                r
            }
            Fate::Deliver => {
                let r = self.inner.transmit(frame);
                if let Some(h) = held {
                    let _ = self.inner.transmit(h);
                }
                r
            }
        }
    }

    fn receive(&self) -> Option<Vec<u8>> {
        self.flush_held_tx();
        loop {
            if let Some(f) = lock(&self.rx).ready.pop_front() {
                return Some(f);
            }
            let Some(frame) = self.inner.receive() else {
                // Nothing more is coming now: release a held frame.
                return lock(&self.rx).held.take();
            };
            let mut d = lock(&self.rx);
            match d.fate(&self.faults) {
                Fate::Drop => {
                    self.counters.drops.fetch_add(1, Ordering::Relaxed);
                }
                Fate::Reorder => {
                    self.counters.reorders.fetch_add(1, Ordering::Relaxed);
                    if let Some(p) = d.held.replace(frame) {
                        return Some(p);
                    }
                }
                Fate::Duplicate => {
                    self.counters.dups.fetch_add(1, Ordering::Relaxed);
                    d.ready.push_back(frame.clone());
                    if let Some(h) = d.held.take() {
                        d.ready.push_back(h);
                    }
                    return Some(frame);
                }
                Fate::Deliver => {
                    if let Some(h) = d.held.take() {
                        d.ready.push_back(h);
                    }
                    return Some(frame);
                }
            }
        }
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_net::MemNic;

    fn faulty(f: Faults) -> (FaultyNic, MemNic) {
        let (a, b) = MemNic::pair(100_000);
        (FaultyNic::new(Arc::new(a), f), b)
    }

    fn drain(n: &dyn Nic) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| n.receive()).collect()
    }

    #[test]
    fn no_faults_is_transparent() {
        let (n, peer) = faulty(Faults::default());
        for i in 0..100u8 {
            n.transmit(vec![i]).unwrap();
            peer.transmit(vec![i]).unwrap();
        }
        let want: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i]).collect();
        assert_eq!(drain(&peer), want);
        assert_eq!(drain(&n), want);
        assert_eq!(n.counters().snapshot(), FaultSnapshot::default());
    }

    #[test]
    fn drops_are_about_the_fraction_counted_and_seeded() {
        let run = |seed| {
            let (n, peer) = faulty(Faults {
                drop: 0.3,
                seed,
                ..Faults::default()
            });
            for i in 0..10_000u32 {
                n.transmit(i.to_le_bytes().to_vec()).unwrap();
            }
            let got = drain(&peer);
            (got, n.counters().snapshot())
        };
        let (got, c) = run(7);
        assert_eq!(got.len() as u64 + c.drops, 10_000);
        assert!((2_700..3_300).contains(&c.drops), "{c:?}");
        let (again, c2) = run(7);
        assert_eq!((got.clone(), c), (again, c2), "same seed, same faults");
        let (other, _) = run(8);
        assert_ne!(got, other);
    }

    #[test]
    fn duplicates_and_reorders_keep_every_frame() {
        let (n, peer) = faulty(Faults {
            duplicate: 0.1,
            reorder: 0.1,
            seed: 3,
            ..Faults::default()
        });
        for i in 0..1_000u32 {
            peer.transmit(i.to_le_bytes().to_vec()).unwrap();
        }
        let got: Vec<u32> = drain(&n)
            .into_iter()
            .map(|f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]))
            .collect();
        let c = n.counters().snapshot();
        assert!(c.dups > 50 && c.reorders > 50, "{c:?}");
        assert_eq!(got.len() as u64, 1_000 + c.dups);
        let mut unique = got.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique, (0..1_000).collect::<Vec<u32>>(), "nothing lost");
        assert!(got.windows(2).any(|w| w[0] > w[1]), "some out of order");
    }
}
