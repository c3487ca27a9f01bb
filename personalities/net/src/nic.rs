//! Network interfaces as the stack sees them: frames in, frames out.
//!
//! The real backends (a TAP device, user-mode port forwarding) live in
//! `vmm/`; this module has the trait and an in-memory pair for tests and
//! benchmarks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

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
}
