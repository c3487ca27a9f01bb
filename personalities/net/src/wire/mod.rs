//! Packet formats as checked wrappers over byte buffers, in smoltcp's style.
//!
//! Each format is a thin wrapper `Packet<T: AsRef<[u8]>>` whose
//! `new_checked` verifies every length the accessors rely on: once a wrapper
//! exists, no accessor can panic. Setters exist for `T: AsMut<[u8]>`, and the
//! `Repr` types turn a checked packet into a validated value and back
//! (`parse` / `emit`). [`build`] assembles whole frames for tests, tools and
//! peers.

pub mod arp;
pub mod build;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod tcp;
pub mod udp;

use serde::{Deserialize, Serialize};

/// Why a buffer is not a valid packet of some format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
pub enum WireError {
    /// The buffer is shorter than the format (or its own length field) needs.
    #[error("the packet is shorter than its header says")]
    Truncated,
    /// A field holds a value the format forbids.
    #[error("the packet has a malformed field")]
    Malformed,
    /// The checksum does not match the contents.
    #[error("the packet's checksum does not match")]
    Checksum,
    /// A valid packet of a kind this stack does not handle.
    #[error("the packet is of an unsupported kind")]
    Unsupported,
}
