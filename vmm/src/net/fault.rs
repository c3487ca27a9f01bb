//! Fault injection on the host's NIC, both ways, with spin-net's
//! [`FaultyNic`] (seeded drop / duplicate / reorder, counted).
//!
//! `FaultyNic` harms the frames it *transmits*. A TAP has no other end to
//! wrap, so received frames are run through a second `FaultyNic` (its own
//! seed) onto an in-memory loopback queue they are then received from: the
//! same fault model and counters in both directions, and one
//! implementation of it in the tree.

use std::sync::Arc;

use spin_net::{FaultConfig, FaultCounts, FaultyNic, MemNic, Nic, NicError};

use super::Faults;

/// The transmit side of a NIC only: `FaultyNic::receive` releases its
/// held-back frame and then receives from its inner NIC, which must not
/// take the real NIC's frames.
struct TxOnly(Arc<dyn Nic>);

impl Nic for TxOnly {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        self.0.transmit(frame)
    }
    fn receive(&self) -> Option<Vec<u8>> {
        None
    }
    fn mtu(&self) -> usize {
        self.0.mtu()
    }
}

/// Frames received at once into the faulty receive path, at most.
const RX_QUEUE: usize = 1024;

/// What the injector did, both directions together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSnapshot {
    /// Frames dropped.
    pub drops: u64,
    /// Frames duplicated.
    pub dups: u64,
    /// Frames reordered.
    pub reorders: u64,
}

/// A NIC with faults both ways; see the module docs.
pub struct FaultsBothWays {
    inner: Arc<dyn Nic>,
    tx: FaultyNic,
    rx: FaultyNic,
    rx_queue: MemNic,
}

/// Reads the counters of a [`FaultsBothWays`] after it went into the stack.
#[derive(Clone)]
pub struct FaultCounters(Arc<FaultsBothWays>);

impl FaultCounters {
    /// Both directions' counts.
    pub fn snapshot(&self) -> FaultSnapshot {
        let add = |a: FaultCounts, b: FaultCounts| FaultSnapshot {
            drops: a.dropped + b.dropped,
            dups: a.duplicated + b.duplicated,
            reorders: a.reordered + b.reordered,
        };
        add(self.0.tx.counts(), self.0.rx.counts())
    }
}

impl FaultsBothWays {
    /// Wraps `inner`; returns the NIC and a handle on its counters.
    pub fn new(inner: Arc<dyn Nic>, f: Faults) -> (Arc<FaultsBothWays>, FaultCounters) {
        let config = |seed| FaultConfig {
            drop: f.drop,
            duplicate: f.duplicate,
            reorder: f.reorder,
            seed,
        };
        let rx_queue = MemNic::loopback(RX_QUEUE);
        let nic = Arc::new(FaultsBothWays {
            tx: FaultyNic::new(Arc::new(TxOnly(inner.clone())), config(f.seed)),
            rx: FaultyNic::new(Arc::new(rx_queue.clone()), config(!f.seed)),
            rx_queue,
            inner,
        });
        (nic.clone(), FaultCounters(nic))
    }
}

impl Nic for FaultsBothWays {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        self.tx.transmit(frame)
    }

    fn receive(&self) -> Option<Vec<u8>> {
        // A held-back transmitted frame goes out at the next poll (TxOnly:
        // nothing is received through the transmit side).
        let _ = self.tx.receive();
        while self.rx_queue.pending() < RX_QUEUE / 2 {
            let Some(f) = self.inner.receive() else { break };
            let _ = self.rx.transmit(f);
        }
        // Also releases a held-back received frame behind the others.
        self.rx.receive()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faulty(f: Faults) -> (Arc<FaultsBothWays>, FaultCounters, MemNic) {
        let (a, b) = MemNic::pair(100_000);
        let (n, c) = FaultsBothWays::new(Arc::new(a), f);
        (n, c, b)
    }

    fn drain(n: &dyn Nic) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| n.receive()).collect()
    }

    #[test]
    fn no_faults_is_transparent() {
        let (n, c, peer) = faulty(Faults::default());
        for i in 0..100u8 {
            n.transmit(vec![i]).unwrap();
            peer.transmit(vec![i]).unwrap();
        }
        let want: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i]).collect();
        assert_eq!(drain(&peer), want);
        assert_eq!(drain(&*n), want);
        assert_eq!(c.snapshot(), FaultSnapshot::default());
    }

    #[test]
    fn drops_hit_both_directions_about_the_fraction_and_are_counted() {
        let (n, c, peer) = faulty(Faults {
            drop: 0.3,
            seed: 7,
            ..Faults::default()
        });
        for i in 0..5_000u32 {
            n.transmit(i.to_le_bytes().to_vec()).unwrap();
            peer.transmit(i.to_le_bytes().to_vec()).unwrap();
        }
        let sent = drain(&peer).len() as u64;
        let received = drain(&*n).len() as u64;
        let s = c.snapshot();
        assert_eq!(sent + received + s.drops, 10_000);
        assert!((1_300..1_700).contains(&(5_000 - sent)), "{sent}");
        assert!((1_300..1_700).contains(&(5_000 - received)), "{received}");
    }

    #[test]
    fn received_frames_are_duplicated_and_reordered_without_loss() {
        let (n, c, peer) = faulty(Faults {
            duplicate: 0.1,
            reorder: 0.1,
            seed: 3,
            ..Faults::default()
        });
        for i in 0..1_000u32 {
            peer.transmit(i.to_le_bytes().to_vec()).unwrap();
        }
        let got: Vec<u32> = drain(&*n)
            .into_iter()
            .map(|f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]))
            .collect();
        let s = c.snapshot();
        assert!(s.dups > 50 && s.reorders > 50, "{s:?}");
        assert_eq!(got.len() as u64, 1_000 + s.dups);
        let mut unique = got.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique, (0..1_000).collect::<Vec<u32>>(), "nothing lost");
        assert!(got.windows(2).any(|w| w[0] > w[1]), "some out of order");
    }
}
