//! Network interfaces as the stack sees them: frames in, frames out.
//!
//! The real backends (a TAP device, user-mode port forwarding) live in
//! `vmm/`; this module has the trait and an in-memory pair for tests and
//! benchmarks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spin_kernel::rng::Rng;

/// Why a frame could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NicError {
    /// The transmit queue is full; the frame was dropped.
    #[error("the NIC's transmit queue is full")]
    QueueFull,
    /// The link is down (the peer is gone).
    #[error("the NIC's link is down")]
    LinkDown,
    /// The frame is longer than the link carries.
    #[error("the frame is longer than the link's MTU")]
    TooBig,
}

/// A network interface: whole Ethernet frames (no FCS) in and out.
pub trait Nic: Send + Sync {
    /// Queues one frame for transmission.
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError>;
    /// Takes the next received frame, if any (never blocks).
    fn receive(&self) -> Option<Vec<u8>>;
    /// Largest IP packet the link carries, in bytes (1500 for Ethernet).
    fn mtu(&self) -> usize {
        1500
    }
}

type Queue = Arc<Mutex<VecDeque<Vec<u8>>>>;

/// One end of an in-memory link: what one end transmits, the other
/// receives. Each direction holds at most `capacity` frames.
#[derive(Debug, Clone)]
pub struct MemNic {
    rx: Queue,
    tx: Queue,
    capacity: usize,
}

fn lock(q: &Queue) -> std::sync::MutexGuard<'_, VecDeque<Vec<u8>>> {
    // A queue of owned frames stays whole even if a holder panicked.
    q.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemNic {
    /// Two connected ends.
    pub fn pair(capacity: usize) -> (MemNic, MemNic) {
        let a: Queue = Arc::default();
        let b: Queue = Arc::default();
        (
            MemNic {
                rx: a.clone(),
                tx: b.clone(),
                capacity,
            },
            MemNic {
                rx: b,
                tx: a,
                capacity,
            },
        )
    }

    /// A loopback: what it transmits, it receives.
    pub fn loopback(capacity: usize) -> MemNic {
        let q: Queue = Arc::default();
        MemNic {
            rx: q.clone(),
            tx: q,
            capacity,
        }
    }

    /// Frames waiting to be received at this end.
    pub fn pending(&self) -> usize {
        lock(&self.rx).len()
    }
}

impl Nic for MemNic {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        if frame.len() > self.mtu() + crate::wire::ethernet::HEADER_LEN {
            return Err(NicError::TooBig);
        }
        let mut q = lock(&self.tx);
        if q.len() >= self.capacity {
            return Err(NicError::QueueFull);
        }
        q.push_back(frame);
        Ok(())
    }

    fn receive(&self) -> Option<Vec<u8>> {
        lock(&self.rx).pop_front()
    }
}

/// What a [`FaultyNic`] does to the frames it transmits: each fraction is
/// a probability in `0.0..=1.0`, drawn per frame from a generator seeded
/// with `seed` (the same seed and traffic give the same faults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Fraction of frames dropped.
    pub drop: f64,
    /// Fraction of frames sent twice.
    pub duplicate: f64,
    /// Fraction of frames held back and sent after the next one.
    pub reorder: f64,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl FaultConfig {
    /// No faults.
    pub fn none(seed: u64) -> FaultConfig {
        FaultConfig {
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            seed,
        }
    }
}

/// What a [`FaultyNic`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Frames passed on unharmed (a reordered or duplicated frame counts
    /// once here too).
    pub passed: u64,
    /// Frames dropped.
    pub dropped: u64,
    /// Frames sent twice.
    pub duplicated: u64,
    /// Frames held back behind the next one.
    pub reordered: u64,
}

#[derive(Debug, Default)]
struct FaultCounters {
    passed: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
}

/// Fault injection around any NIC: drops, duplicates and reorders a given
/// fraction of the frames it transmits (seeded, so a run replays). Received
/// frames pass untouched — wrap both ends of a link for faults both ways.
/// A held-back frame goes out after the next transmitted frame, or at the
/// next `receive` call if none comes.
pub struct FaultyNic {
    inner: Arc<dyn Nic>,
    config: FaultConfig,
    state: Mutex<(Rng, Option<Vec<u8>>)>,
    counts: FaultCounters,
}

impl std::fmt::Debug for FaultyNic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyNic")
            .field("config", &self.config)
            .field("counts", &self.counts())
            .finish()
    }
}

impl FaultyNic {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Nic>, config: FaultConfig) -> FaultyNic {
        FaultyNic {
            inner,
            config,
            state: Mutex::new((Rng::new(config.seed), None)),
            counts: FaultCounters::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> FaultConfig {
        self.config
    }

    /// What it did so far.
    pub fn counts(&self) -> FaultCounts {
        let c = &self.counts;
        FaultCounts {
            passed: c.passed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            duplicated: c.duplicated.load(Ordering::Relaxed),
            reordered: c.reordered.load(Ordering::Relaxed),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, (Rng, Option<Vec<u8>>)> {
        // Plain data: whole even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn chance(rng: &mut Rng, p: f64) -> bool {
    // 2^53 steps: exact for any fraction a test would write.
    p > 0.0 && ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
}

impl Nic for FaultyNic {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        let c = &self.counts;
        let (fate, held) = {
            let mut st = self.held();
            let (rng, held) = &mut *st;
            let fate = if chance(rng, self.config.drop) {
                0
            } else if chance(rng, self.config.duplicate) {
                1
            } else if held.is_none() && chance(rng, self.config.reorder) {
                2
            } else {
                3
            };
            if fate == 2 {
                *held = Some(frame);
                c.reordered.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            (fate, held.take())
        };
        let r = match fate {
            0 => {
                c.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            1 => {
                c.duplicated.fetch_add(1, Ordering::Relaxed);
                c.passed.fetch_add(1, Ordering::Relaxed);
                let _ = self.inner.transmit(frame.clone());
                self.inner.transmit(frame)
            }
            _ => {
                c.passed.fetch_add(1, Ordering::Relaxed);
                self.inner.transmit(frame)
            }
        };
        if let Some(h) = held {
            c.passed.fetch_add(1, Ordering::Relaxed);
            let _ = self.inner.transmit(h);
        }
        r
    }

    fn receive(&self) -> Option<Vec<u8>> {
        let held = self.held().1.take();
        if let Some(h) = held {
            self.counts.passed.fetch_add(1, Ordering::Relaxed);
            let _ = self.inner.transmit(h);
        }
        self.inner.receive()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_carries_frames_both_ways_and_is_bounded() {
        let (a, b) = MemNic::pair(2);
        a.transmit(vec![1]).unwrap();
        a.transmit(vec![2]).unwrap();
        assert_eq!(a.transmit(vec![3]), Err(NicError::QueueFull));
        assert_eq!(b.receive(), Some(vec![1]));
        b.transmit(vec![9]).unwrap();
        assert_eq!(a.receive(), Some(vec![9]));
        assert_eq!(a.transmit(vec![0; 1515]), Err(NicError::TooBig));
        let l = MemNic::loopback(1);
        l.transmit(vec![5]).unwrap();
        assert_eq!(l.receive(), Some(vec![5]));
    }

    #[test]
    fn faulty_nic_drops_duplicates_and_reorders_by_its_seed() {
        let run = |seed| {
            let (a, b) = MemNic::pair(100_000);
            let f = FaultyNic::new(
                Arc::new(a),
                FaultConfig {
                    drop: 0.1,
                    duplicate: 0.1,
                    reorder: 0.1,
                    seed,
                },
            );
            for i in 0..10_000u32 {
                f.transmit(i.to_be_bytes().to_vec()).unwrap();
            }
            assert_eq!(f.receive(), None); // flushes a held frame
            let mut got = Vec::new();
            while let Some(x) = b.receive() {
                got.push(u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
            }
            (f.counts(), got)
        };
        let (c, got) = run(7);
        // Roughly the asked fractions, and accounting that adds up.
        for n in [c.dropped, c.duplicated, c.reordered] {
            assert!((700..1300).contains(&n), "{c:?}");
        }
        assert_eq!(c.passed + c.dropped, 10_000);
        assert_eq!(got.len() as u64, c.passed + c.duplicated);
        assert!(
            got.windows(2).any(|w| w[0] > w[1]),
            "something came out of order"
        );
        assert!(got.windows(2).any(|w| w[0] == w[1]), "something came twice");
        // The same seed replays exactly; another differs.
        assert_eq!(run(7), (c, got.clone()));
        assert_ne!(run(8).1, got);
    }
}
