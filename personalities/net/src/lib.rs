//! # spin-net — the shared network stack as a protocol graph of events
//!
//! As in SPIN, a packet climbs the graph by raising kernel events:
//! `Ether.PacketArrived` → (guard: ethertype) → `IP.PacketArrived` /
//! `ARP.PacketArrived` → (guard: protocol) → `ICMP.PacketArrived` /
//! `UDP.PacketArrived` → (guard: port) → an extension. Each layer is a
//! handler on the event below it that raises the next; sending is the
//! `SendPacket` event, whose primary handler routes, resolves and transmits.
//! The events are `spin_kernel::event::Event`s, so equality guards on the
//! declared keys (ethertype, protocol, ICMP type, UDP ports) are indexed by
//! the kernel's dispatcher.
//!
//! * [`wire`] — checked packet wrappers (Ethernet, ARP, IPv4, ICMP, UDP).
//! * [`events`] — the events, their arguments and guard constructors.
//! * [`stack`] — [`NetStack`] (interface config, layers, timers) and the
//!   [`NetHandle`] extensions use to send.
//! * [`nic`] — the [`Nic`] trait and an in-memory pair.
//! * [`arp_cache`], [`reassembly`] — bounded state with timeouts.
//! * [`socket`] — UDP and TCP sockets ([`UdpSocket`], [`TcpListener`],
//!   [`TcpStream`]) for the UNIX mound and the vmm's port forwarding.
//! * [`tcp`] — the TCP engine, whose per-port handlers sit on
//!   `TCP.PacketArrived`.
//! * [`ext`] — in-kernel extensions: UDP echo, UDP and TCP forwarding.
//! * [`telemetry`] — per-layer counters and [`NetTelemetry`].
//!
//! A malformed packet is dropped and counted by layer and reason; nothing a
//! wire delivers can panic the stack.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod arp_cache;
pub mod events;
pub mod ext;
pub mod nic;
pub mod reassembly;
pub mod socket;
pub mod stack;
pub mod tcp;
pub mod telemetry;
pub mod wire;

pub use events::NetEvents;
pub use nic::{FaultConfig, FaultCounts, FaultyNic, MemNic, Nic, NicError};
pub use socket::{Readiness, Shutdown, SockError, UdpSocket, Waker};
pub use stack::{NetConfig, NetError, NetHandle, NetStack};
pub use tcp::{TcpConfig, TcpListener, TcpState, TcpStream};
pub use telemetry::{DropReason, Layer, NetTelemetry};
