//! Counters per layer (packets, drops by reason) and the serde snapshot
//! [`NetTelemetry`], which also carries the dispatcher's per-handler counters
//! (runs and guard misses) for every event of the graph.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use spin_kernel::event::EventTelemetry;

use crate::wire::WireError;

/// A layer of the protocol graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Ethernet input.
    Ether,
    /// ARP.
    Arp,
    /// IPv4 input (reassembly included).
    Ip,
    /// ICMP.
    Icmp,
    /// UDP.
    Udp,
    /// TCP (segments in; drops by reason).
    Tcp,
    /// Output: `SendPacket`, next-hop resolution and the NIC.
    Send,
}

impl Layer {
    /// Every layer, in graph order.
    pub const ALL: [Layer; 7] = [
        Layer::Ether,
        Layer::Arp,
        Layer::Ip,
        Layer::Icmp,
        Layer::Udp,
        Layer::Tcp,
        Layer::Send,
    ];
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// Shorter than its header or length field says.
    Truncated,
    /// A field holds a forbidden value.
    Malformed,
    /// Checksum mismatch.
    BadChecksum,
    /// A valid packet of a kind no layer handles (ethertype, IP version,
    /// protocol, ICMP type, ARP operation).
    Unsupported,
    /// Addressed to another host.
    NotForUs,
    /// No handler's guard accepted it (a UDP port without a listener).
    NoHandler,
    /// A fragment overlapped another with different bounds; the whole
    /// datagram was discarded.
    FragmentOverlap,
    /// Too many datagrams in reassembly or fragments in one.
    FragmentLimit,
    /// A datagram's fragments did not all arrive in time.
    FragmentTimeout,
    /// A datagram would exceed 65535 bytes.
    TooBig,
    /// No route to the destination (off-link, no gateway).
    NoRoute,
    /// The queue of packets waiting for ARP was full.
    ArpQueueFull,
    /// The next hop never answered ARP.
    ArpUnresolved,
    /// The NIC refused the frame.
    NicError,
    /// A socket's receive queue was full.
    SocketQueueFull,
    /// A TCP segment outside the receive window (answered with an ACK), or
    /// acknowledging data never sent.
    OutOfWindow,
    /// A TCP segment for a port whose handler has no matching connection
    /// (answered with a reset).
    NoConnection,
    /// A SYN to a listener whose backlog is full.
    BacklogFull,
    /// An out-of-order TCP segment beyond the reassembly bound.
    OutOfOrderLimit,
    /// A TCP segment that the state machine discards (a reset that fails the
    /// RFC 5961 checks, a segment without ACK, data after close, …).
    Rejected,
}

impl DropReason {
    /// Every reason, for tables.
    pub const ALL: [DropReason; 20] = [
        DropReason::Truncated,
        DropReason::Malformed,
        DropReason::BadChecksum,
        DropReason::Unsupported,
        DropReason::NotForUs,
        DropReason::NoHandler,
        DropReason::FragmentOverlap,
        DropReason::FragmentLimit,
        DropReason::FragmentTimeout,
        DropReason::TooBig,
        DropReason::NoRoute,
        DropReason::ArpQueueFull,
        DropReason::ArpUnresolved,
        DropReason::NicError,
        DropReason::SocketQueueFull,
        DropReason::OutOfWindow,
        DropReason::NoConnection,
        DropReason::BacklogFull,
        DropReason::OutOfOrderLimit,
        DropReason::Rejected,
    ];
}

impl From<WireError> for DropReason {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Truncated => DropReason::Truncated,
            WireError::Malformed => DropReason::Malformed,
            WireError::Checksum => DropReason::BadChecksum,
            WireError::Unsupported => DropReason::Unsupported,
        }
    }
}

const LAYERS: usize = Layer::ALL.len();
const REASONS: usize = DropReason::ALL.len();

/// The live counters (atomics, bumped from any thread).
#[derive(Debug, Default)]
pub struct Counters {
    packets: [AtomicU64; LAYERS],
    drops: [[AtomicU64; REASONS]; LAYERS],
    /// The TCP engine's own counters.
    pub tcp: TcpCounters,
}

/// The TCP engine's counters (segments in are the TCP layer's packets).
#[derive(Debug, Default)]
pub struct TcpCounters {
    /// Segments sent (retransmissions included).
    pub segments_out: AtomicU64,
    /// Segments sent again (timeouts, fast retransmit, NewReno partial ACKs).
    pub retransmits: AtomicU64,
    /// Fast retransmits (three duplicate ACKs).
    pub fast_retransmits: AtomicU64,
    /// Retransmission timeouts.
    pub timeouts: AtomicU64,
    /// Resets sent.
    pub resets_sent: AtomicU64,
    /// Connections that reached ESTABLISHED.
    pub established: AtomicU64,
    /// Connections given up after too many retransmissions.
    pub timed_out: AtomicU64,
}

impl TcpCounters {
    /// Adds one to a counter.
    #[inline]
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// A snapshot of the TCP counters, with the live connection count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpTelemetry {
    /// Segments received (the TCP layer's packets).
    pub segments_in: u64,
    /// Segments sent (retransmissions included).
    pub segments_out: u64,
    /// Segments sent again.
    pub retransmits: u64,
    /// Fast retransmits.
    pub fast_retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Resets sent.
    pub resets_sent: u64,
    /// Connections that reached ESTABLISHED.
    pub established: u64,
    /// Connections given up after too many retransmissions.
    pub timed_out: u64,
    /// Connections the engine holds now (TIME_WAIT included).
    pub connections: usize,
    /// Listening sockets.
    pub listeners: usize,
}

impl Counters {
    /// Counts a packet entering `layer` (for `Send`: a frame handed to the NIC).
    #[inline]
    pub fn packet(&self, layer: Layer) {
        self.packets[layer as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a drop at `layer` for `reason`.
    #[inline]
    pub fn drop(&self, layer: Layer, reason: DropReason) {
        self.drops[layer as usize][reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Packets counted at `layer`.
    pub fn packets(&self, layer: Layer) -> u64 {
        self.packets[layer as usize].load(Ordering::Relaxed)
    }

    /// Drops counted at `layer` for `reason`.
    pub fn drops(&self, layer: Layer, reason: DropReason) -> u64 {
        self.drops[layer as usize][reason as usize].load(Ordering::Relaxed)
    }

    /// All drops at all layers.
    pub fn total_drops(&self) -> u64 {
        self.drops
            .iter()
            .flatten()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The counters as a serializable table.
    pub fn layers(&self) -> Vec<LayerTelemetry> {
        Layer::ALL
            .iter()
            .map(|&layer| {
                let drops: BTreeMap<DropReason, u64> = DropReason::ALL
                    .iter()
                    .map(|&r| (r, self.drops(layer, r)))
                    .filter(|&(_, n)| n > 0)
                    .collect();
                LayerTelemetry {
                    layer,
                    packets: self.packets(layer),
                    dropped: drops.values().sum(),
                    drops,
                }
            })
            .collect()
    }
}

/// One layer's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerTelemetry {
    /// The layer.
    pub layer: Layer,
    /// Packets that entered it (for `Send`: frames handed to the NIC).
    pub packets: u64,
    /// Drops, all reasons.
    pub dropped: u64,
    /// Drops by reason (reasons with none left out).
    pub drops: BTreeMap<DropReason, u64>,
}

/// A snapshot of the network stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetTelemetry {
    /// Per-layer counters, in graph order.
    pub layers: Vec<LayerTelemetry>,
    /// Per-event dispatch counters, with each handler's runs and guard misses.
    pub events: Vec<EventTelemetry>,
    /// Resolved ARP entries.
    pub arp_entries: usize,
    /// Addresses being resolved (with packets waiting).
    pub arp_pending: usize,
    /// Datagrams in reassembly.
    pub reassembling: usize,
    /// TCP counters and connection count.
    #[serde(default)]
    pub tcp: TcpTelemetry,
}

impl NetTelemetry {
    /// One layer's counters.
    pub fn layer(&self, layer: Layer) -> &LayerTelemetry {
        self.layers
            .iter()
            .find(|l| l.layer == layer)
            .expect("every layer is in the table")
    }
}
