//! The TCP engine: connections, listeners and the per-port handlers that
//! put them in the protocol graph.
//!
//! Every local port in use (a listener's, or a connection's) has one
//! handler on `TCP.PacketArrived` guarded (indexed) by that port; it finds
//! the connection by its address pair, or the port's listener. A listener
//! and the connections it accepted share the port and its handler. An
//! extension installed on the same event with the same guard (the TCP
//! forwarder) sees the port's traffic too, control segments included.
//!
//! Locking: one mutex over the engine's tables. Nothing is sent, no waker is
//! called and no event is raised while it is held: work under the lock
//! collects [`Effects`], which the caller carries out afterwards.
//!
//! Files: this one holds the configuration, the states and the engine's
//! tables; `engine.rs` the engine at work on a stack (its lock, segments
//! arriving, timers); `ports.rs` the ports and their handlers;
//! `sockets.rs` the socket-facing [`TcpListener`] and [`TcpStream`];
//! `conn/` one connection's state machine; `seq.rs` sequence arithmetic.

mod conn;
mod engine;
mod ports;
pub(crate) mod seq;
mod sockets;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::SocketAddrV4;

use spin_kernel::event::HandlerId;
use spin_kernel::rng::Rng;

use crate::socket::{Readiness, Waker};
use crate::telemetry::DropReason;
use conn::{Conn, Seg};

pub use sockets::{TcpListener, TcpStream};

/// TCP limits and timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// Default send buffer, bytes.
    pub send_buffer: usize,
    /// Default receive buffer (the window we offer), bytes.
    pub recv_buffer: usize,
    /// First retransmission timeout, ms (RFC 6298: 1 s).
    pub rto_initial_ms: u64,
    /// Smallest retransmission timeout, ms (Linux: 200).
    pub rto_min_ms: u64,
    /// Largest retransmission timeout, ms.
    pub rto_max_ms: u64,
    /// Retransmissions of data before the connection times out.
    pub max_retries: u32,
    /// Retransmissions of a SYN (or SYN-ACK) before giving up.
    pub syn_retries: u32,
    /// TIME_WAIT's length (2 × MSL), ms.
    pub time_wait_ms: u64,
    /// How long a closed socket's connection waits in FIN_WAIT_2, ms.
    pub fin_wait2_ms: u64,
    /// Delayed ACK timer, ms (every second full segment is ACKed at once).
    pub delayed_ack_ms: u64,
    /// Out-of-order segments a connection keeps.
    pub max_out_of_order: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            rto_initial_ms: 1000,
            rto_min_ms: 200,
            rto_max_ms: 60_000,
            max_retries: 8,
            syn_retries: 5,
            time_wait_ms: 1000,
            fin_wait2_ms: 60_000,
            delayed_ack_ms: 40,
            max_out_of_order: 256,
        }
    }
}

/// A connection's state (RFC 9293 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    /// No connection (never opened, or finished).
    Closed,
    /// Waiting for connection requests.
    Listen,
    /// SYN sent, waiting for the SYN-ACK.
    SynSent,
    /// SYN received and answered, waiting for the ACK.
    SynRcvd,
    /// Open both ways.
    Established,
    /// We closed; our FIN is not yet acknowledged.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed first, then we did; waiting for the last ACK.
    LastAck,
    /// Both closed; waiting out stray segments.
    TimeWait,
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRcvd => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
        })
    }
}

/// A connection's number in the engine.
pub(crate) type ConnId = u64;

struct Listener {
    local: SocketAddrV4,
    backlog: usize,
    /// Established, not yet accepted.
    ready: VecDeque<ConnId>,
    waker: Option<Waker>,
}

struct Port {
    users: usize,
    /// The engine's handler; `None` for a port reserved by an extension
    /// that handles its segments itself.
    handler: Option<HandlerId>,
}

/// The engine's tables.
pub(crate) struct Engine {
    cfg: TcpConfig,
    conns: HashMap<ConnId, Conn>,
    /// `(local, remote)` → connection, for connections still in the graph.
    by_pair: HashMap<(SocketAddrV4, SocketAddrV4), ConnId>,
    listeners: HashMap<u16, Listener>,
    ports: HashMap<u16, Port>,
    /// Ports bound by stream sockets that have neither listened nor
    /// connected yet (no handler: segments to them are refused).
    bound: HashSet<u16>,
    /// Connections still holding their port and pair (not yet detached).
    attached: HashMap<ConnId, ()>,
    /// Connections a socket holds.
    owned: HashMap<ConnId, ()>,
    next_id: ConnId,
    rng: Rng,
}

/// What a socket could see of a connection, before an operation: it is
/// woken if that moved.
#[derive(Clone, Copy)]
struct Seen {
    readiness: Readiness,
    readable: usize,
    queued: usize,
}

impl Seen {
    fn of(c: &Conn) -> Seen {
        Seen {
            readiness: c.readiness(),
            readable: c.readable_bytes(),
            queued: c.queued_bytes(),
        }
    }

    /// New readiness, more to read, or more room to write.
    fn changed(&self, c: &Conn) -> bool {
        self.readiness != c.readiness()
            || c.readable_bytes() > self.readable
            || c.queued_bytes() < self.queued
    }
}

/// What to do once the engine's lock is released.
#[derive(Default)]
pub(crate) struct Effects {
    segs: Vec<Seg>,
    wake: Vec<Waker>,
    drops: Vec<DropReason>,
}

impl Engine {
    pub(crate) fn new(cfg: TcpConfig, seed: u64) -> Engine {
        Engine {
            cfg,
            conns: HashMap::new(),
            by_pair: HashMap::new(),
            listeners: HashMap::new(),
            ports: HashMap::new(),
            bound: HashSet::new(),
            attached: HashMap::new(),
            owned: HashMap::new(),
            next_id: 1,
            // Separate from the stack's other draws, same seed: replayable.
            rng: Rng::new(seed ^ 0x0074_6370_5f69_7373),
        }
    }

    /// Whether `port` is taken for an ephemeral pick or an explicit
    /// `connect` (a bound socket gives its own port up first).
    fn port_taken(&self, port: u16) -> bool {
        self.ports.contains_key(&port) || self.bound.contains(&port)
    }

    fn iss(&mut self) -> u32 {
        self.rng.next_u64() as u32
    }

    /// Connections held (TIME_WAIT included) and listeners.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.conns.len(), self.listeners.len())
    }

    /// The earliest timer of any connection.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.conns.values().filter_map(Conn::deadline).min()
    }
}

#[cfg(test)]
mod tests;
