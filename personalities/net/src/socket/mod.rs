//! The socket layer: UDP and TCP endpoints for the UNIX mound's socket
//! calls and for the vmm's port forwarding.
//!
//! In SPIN's style the socket layer is an extension of the protocol graph: a
//! [`UdpSocket`] is one more handler on `UDP.PacketArrived`, guarded (indexed)
//! by its port; TCP sockets are views of connections of the TCP engine,
//! whose per-port handlers sit on `TCP.PacketArrived`. Nothing bypasses the
//! events.
//!
//! All socket types are `Send + Sync` and used through `&self` from any
//! thread; nothing blocks — an operation that would wait returns
//! [`SockError::WouldBlock`], and a [`Waker`] says when to try again.
//! Dropping a socket closes it.

mod udp;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

pub use crate::tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;

/// Called when a socket's readiness may have changed. Never called with a
/// stack lock held; it must not block (typically it wakes a poller).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// What a socket can do now without blocking (poll's events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A receive (or accept) would not block.
    pub readable: bool,
    /// A send would not block.
    pub writable: bool,
    /// EOF seen or the connection was reset.
    pub hangup: bool,
    /// `take_error()` would return an error.
    pub error: bool,
}

/// Why a socket operation failed (each maps to one errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SockError {
    /// Nothing to do now; try again when the waker is called (EAGAIN).
    #[error("the operation would block")]
    WouldBlock,
    /// The local address is taken (EADDRINUSE).
    #[error("the address is already in use")]
    AddrInUse,
    /// The local address is not one of ours (EADDRNOTAVAIL).
    #[error("the address is not available on this host")]
    AddrNotAvailable,
    /// The peer answered the connection request with a reset (ECONNREFUSED).
    #[error("the connection was refused")]
    ConnectionRefused,
    /// The peer reset the connection (ECONNRESET).
    #[error("the connection was reset by the peer")]
    ConnectionReset,
    /// The connection was aborted locally (ECONNABORTED).
    #[error("the connection was aborted")]
    ConnectionAborted,
    /// The socket is not connected (ENOTCONN).
    #[error("the socket is not connected")]
    NotConnected,
    /// The socket is already connected (EISCONN).
    #[error("the socket is already connected")]
    AlreadyConnected,
    /// The connection is still being set up (EINPROGRESS / EALREADY).
    #[error("the connection is in progress")]
    InProgress,
    /// The peer stopped answering (ETIMEDOUT).
    #[error("the connection timed out")]
    TimedOut,
    /// The datagram is bigger than UDP carries (EMSGSIZE).
    #[error("the message is too long")]
    MessageTooLong,
    /// A bad argument (EINVAL).
    #[error("invalid argument")]
    InvalidInput,
    /// Writing after shutdown or reset (EPIPE).
    #[error("the connection's sending side is shut down")]
    BrokenPipe,
    /// No route to the destination (ENETUNREACH / EHOSTUNREACH).
    #[error("the destination is unreachable")]
    Unreachable,
}

/// Which directions `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receiving.
    Read,
    /// No more sending: a FIN follows the data already queued.
    Write,
    /// Both.
    Both,
}

/// First ephemeral port (IANA's dynamic range, as the brief's API says).
pub const EPHEMERAL_FIRST: u16 = 49152;
/// Last ephemeral port.
pub const EPHEMERAL_LAST: u16 = 65535;

/// Picks a free port in the ephemeral range for which `taken` is false,
/// starting at a random point so that reused stacks do not collide.
pub(crate) fn pick_ephemeral(start: u64, taken: impl Fn(u16) -> bool) -> Option<u16> {
    let n = u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
    (0..n)
        .map(|i| EPHEMERAL_FIRST + ((start + i) % n) as u16)
        .find(|&p| !taken(p))
}

/// Whether `ip` may be a socket's local address on a stack at `ours`.
pub(crate) fn local_ip_ok(ip: Ipv4Addr, ours: Ipv4Addr) -> bool {
    ip.is_unspecified() || ip == ours || ip.is_loopback()
}

/// The address a socket bound to `local` sends to `dst` from.
pub(crate) fn source_ip(local: SocketAddrV4, dst: Ipv4Addr, ours: Ipv4Addr) -> Ipv4Addr {
    if !local.ip().is_unspecified() {
        *local.ip()
    } else if dst.is_loopback() {
        Ipv4Addr::LOCALHOST
    } else {
        ours
    }
}

#[cfg(test)]
mod tests;
