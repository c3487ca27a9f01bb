//! UDP sockets: a handler on `UDP.PacketArrived` guarded by the socket's port
//! (indexed) and by its address and peer filter, feeding a bounded queue.

use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spin_kernel::event::{Event, Guard, Handler, HandlerId, Principal};

use super::{local_ip_ok, pick_ephemeral, source_ip, Readiness, SockError, Waker};
use crate::events::{Bytes, IcmpArrived, UdpArrived};
use crate::stack::{lock, NetHandle};
use crate::telemetry::{DropReason, Layer};
use crate::wire::icmp;

/// Largest UDP payload over IPv4: 65535 − 20 (IP) − 8 (UDP).
pub const MAX_DATAGRAM: usize = 65_507;

/// Default receive queue capacity in payload bytes (Linux's default rmem).
pub const DEFAULT_RECV_CAPACITY: usize = 212_992;

struct Queue {
    datagrams: VecDeque<(SocketAddrV4, Bytes)>,
    bytes: usize,
    capacity: usize,
    waker: Option<Waker>,
}

struct Inner {
    local: SocketAddrV4,
    peer: Mutex<Option<SocketAddrV4>>,
    queue: Mutex<Queue>,
    dropped: AtomicU64,
    /// An ICMP error for the connected peer, reported by the next receive
    /// or send (or `SO_ERROR`), as Linux does.
    error: Mutex<Option<SockError>>,
}

/// What an ICMP destination-unreachable code means to a connected UDP
/// socket: Linux reports only the hard errors (its `icmp_err_convert`
/// table's fatal entries) unless `IP_RECVERR` is set.
fn hard_error(code: u8) -> Option<SockError> {
    match code {
        icmp::CODE_PORT_UNREACHABLE => Some(SockError::ConnectionRefused),
        // Protocol unreachable, unknown/isolated/prohibited net or host,
        // administratively filtered.
        2 | 6..=10 | 13 => Some(SockError::Unreachable),
        _ => None,
    }
}

/// The datagram an ICMP error quotes: (source, destination) of its UDP
/// header, from the quoted IP header and first 8 bytes.
fn quoted_udp(a: &IcmpArrived) -> Option<(SocketAddrV4, SocketAddrV4)> {
    let q = a.message.get(icmp::HEADER_LEN..)?;
    let ihl = usize::from(*q.first()? & 0x0f) * 4;
    if q.first()? >> 4 != 4 || ihl < 20 || *q.get(9)? != 17 {
        return None;
    }
    let ip = |o: usize| -> Option<std::net::Ipv4Addr> {
        let b: [u8; 4] = q.get(o..o + 4)?.try_into().ok()?;
        Some(b.into())
    };
    let port = |o: usize| -> Option<u16> { Some(u16::from_be_bytes([*q.get(o)?, *q.get(o + 1)?])) };
    Some((
        SocketAddrV4::new(ip(12)?, port(ihl)?),
        SocketAddrV4::new(ip(16)?, port(ihl + 2)?),
    ))
}

impl Inner {
    /// The guard beside the port: our address (when bound to one) and the
    /// connected peer (when connected).
    fn accepts(&self, d: &UdpArrived) -> bool {
        if !self.local.ip().is_unspecified() && d.dst.ip() != self.local.ip() {
            return false;
        }
        match *lock(&self.peer) {
            Some(p) => p == d.src,
            None => true,
        }
    }

    /// The guard of the socket's ICMP handler: an error about a datagram
    /// this socket sent to its connected peer.
    fn errors_on(&self, a: &IcmpArrived) -> bool {
        let Some(peer) = *lock(&self.peer) else {
            return false;
        };
        hard_error(a.code).is_some()
            && quoted_udp(a).is_some_and(|(src, dst)| {
                src.port() == self.local.port()
                    && (self.local.ip().is_unspecified() || src.ip() == self.local.ip())
                    && dst == peer
            })
    }

    fn icmp_error(&self, a: &IcmpArrived) {
        let Some(e) = hard_error(a.code) else {
            return;
        };
        *lock(&self.error) = Some(e);
        let waker = lock(&self.queue).waker.clone();
        if let Some(w) = waker {
            w();
        }
    }

    fn take_error(&self) -> Result<(), SockError> {
        match lock(&self.error).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn deliver(&self, d: &UdpArrived, net: &NetHandle) {
        let waker = {
            let mut q = lock(&self.queue);
            let len = d.payload.len();
            // A full queue drops; an empty one always takes one datagram
            // (as Linux does), so a capacity below a datagram still works.
            if !q.datagrams.is_empty() && q.bytes + len > q.capacity {
                drop(q);
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return net.counters().drop(Layer::Udp, DropReason::SocketQueueFull);
            }
            q.bytes += len;
            q.datagrams.push_back((d.src, d.payload.clone()));
            q.waker.clone()
        };
        if let Some(w) = waker {
            w();
        }
    }
}

/// A UDP socket. Dropping it closes it (uninstalls its handler and frees
/// the port).
pub struct UdpSocket {
    net: NetHandle,
    inner: Arc<Inner>,
    event: Event<UdpArrived, ()>,
    id: Option<HandlerId>,
    icmp: Event<IcmpArrived, ()>,
    icmp_id: Option<HandlerId>,
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.inner.local)
            .field("peer", &self.peer_addr())
            .finish()
    }
}

impl NetHandle {
    /// Binds a UDP socket. `local`'s ip is 0.0.0.0, our address or a
    /// loopback address; port 0 picks a free ephemeral port
    /// (49152..=65535). `AddrInUse` if the port is taken,
    /// `AddrNotAvailable` for a foreign address.
    pub fn udp_bind(&self, local: SocketAddrV4) -> Result<UdpSocket, SockError> {
        let _in = self.enter();
        if !local_ip_ok(*local.ip(), self.config().addr) {
            return Err(SockError::AddrNotAvailable);
        }
        let port = {
            let mut ports = lock(&self.shared.udp_ports);
            let port = if local.port() == 0 {
                let start = lock(&self.shared.rng).next_u64();
                pick_ephemeral(start, |p| ports.contains(&p)).ok_or(SockError::AddrInUse)?
            } else if ports.contains(&local.port()) {
                return Err(SockError::AddrInUse);
            } else {
                local.port()
            };
            ports.insert(port);
            port
        };
        let inner = Arc::new(Inner {
            local: SocketAddrV4::new(*local.ip(), port),
            peer: Mutex::new(None),
            queue: Mutex::new(Queue {
                datagrams: VecDeque::new(),
                bytes: 0,
                capacity: DEFAULT_RECV_CAPACITY,
                waker: None,
            }),
            dropped: AtomicU64::new(0),
            error: Mutex::new(None),
        });
        let (i, g, n) = (inner.clone(), inner.clone(), self.clone());
        let ev = self.events();
        let who = Principal::kernel("spin.net.udp-socket");
        let handler = Handler::new(move |d: &UdpArrived| i.deliver(d, &n))
            .guard(ev.udp_port(port))
            .guard(Guard::pred(move |d: &UdpArrived| g.accepts(d)));
        // ICMP errors about what it sent: a second handler, on
        // `ICMP.PacketArrived`, guarded by type and by the quoted datagram.
        let (i, g) = (inner.clone(), inner.clone());
        let on_icmp = Handler::new(move |a: &IcmpArrived| i.icmp_error(a))
            .guard(ev.icmp_type(icmp::kind::DEST_UNREACHABLE))
            .guard(Guard::pred(move |a: &IcmpArrived| g.errors_on(a)));
        let mut sock = UdpSocket {
            net: self.clone(),
            inner,
            event: ev.udp.clone(),
            id: None,
            icmp: ev.icmp.clone(),
            icmp_id: None,
        };
        match (
            ev.udp.install(&who, handler),
            ev.icmp.install(&who, on_icmp),
        ) {
            (Ok(id), Ok(icmp_id)) => {
                sock.id = Some(id);
                sock.icmp_id = Some(icmp_id);
                Ok(sock)
            }
            // Dropping `sock` frees the port and whichever handler got in.
            (id, icmp_id) => {
                sock.id = id.ok();
                sock.icmp_id = icmp_id.ok();
                Err(SockError::AddrNotAvailable)
            }
        }
    }
}

impl UdpSocket {
    /// The bound address (the port chosen if 0 was asked).
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.inner.local
    }

    /// Sets (or with `None` clears) the default destination, which also
    /// becomes a receive filter: only its datagrams are delivered.
    pub fn connect(&self, peer: Option<SocketAddrV4>) -> Result<(), SockError> {
        if let Some(p) = peer {
            if p.port() == 0 || p.ip().is_unspecified() {
                return Err(SockError::InvalidInput);
            }
            if !self.net.routable(*p.ip()) {
                return Err(SockError::Unreachable);
            }
        }
        *lock(&self.inner.peer) = peer;
        Ok(())
    }

    /// The connected peer.
    pub fn peer_addr(&self) -> Option<SocketAddrV4> {
        *lock(&self.inner.peer)
    }

    /// Sends one datagram to `dst`; returns its length. `MessageTooLong`
    /// past 65507 bytes, `Unreachable` without a route.
    pub fn send_to(&self, data: &[u8], dst: SocketAddrV4) -> Result<usize, SockError> {
        let _in = self.net.enter();
        self.inner.take_error()?;
        if data.len() > MAX_DATAGRAM {
            return Err(SockError::MessageTooLong);
        }
        if dst.port() == 0 {
            return Err(SockError::InvalidInput);
        }
        let ip = *dst.ip();
        if !self.net.routable(ip) {
            return Err(SockError::Unreachable);
        }
        let src = source_ip(self.inner.local, ip, self.net.config().addr);
        if src.is_loopback() && !self.net.is_local(ip) {
            // A socket bound to 127.0.0.1 cannot reach the outside (Linux:
            // EINVAL).
            return Err(SockError::InvalidInput);
        }
        self.net
            .send_udp_from(SocketAddrV4::new(src, self.inner.local.port()), dst, data);
        Ok(data.len())
    }

    /// Sends one datagram to the connected peer; `NotConnected` without one.
    pub fn send(&self, data: &[u8]) -> Result<usize, SockError> {
        let peer = self.peer_addr().ok_or(SockError::NotConnected)?;
        self.send_to(data, peer)
    }

    /// Copies the next datagram into `buf` (truncating it to `buf`'s
    /// length) and returns `(copied, datagram_len, source)`; with `peek` the
    /// datagram stays queued. `WouldBlock` when the queue is empty.
    pub fn recv_from(
        &self,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<(usize, usize, SocketAddrV4), SockError> {
        // A pending ICMP error comes first, as on Linux.
        self.inner.take_error()?;
        let mut q = lock(&self.inner.queue);
        let (src, data) = q.datagrams.front().ok_or(SockError::WouldBlock)?;
        let (src, len) = (*src, data.len());
        let n = len.min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        if !peek {
            q.datagrams.pop_front();
            q.bytes -= len;
        }
        Ok((n, len, src))
    }

    /// What the socket can do now.
    pub fn readiness(&self) -> Readiness {
        Readiness {
            readable: !lock(&self.inner.queue).datagrams.is_empty(),
            writable: true,
            hangup: false,
            error: lock(&self.inner.error).is_some(),
        }
    }

    /// `SO_ERROR`: the pending ICMP error (connected sockets only), once.
    pub fn take_error(&self) -> Option<SockError> {
        lock(&self.inner.error).take()
    }

    /// Sets the function called when a datagram arrives.
    pub fn set_waker(&self, waker: Option<Waker>) {
        lock(&self.inner.queue).waker = waker;
    }

    /// Bounds the receive queue (payload bytes); past it, datagrams are
    /// dropped and counted (`SocketQueueFull` at the UDP layer).
    pub fn set_recv_capacity(&self, bytes: usize) {
        lock(&self.inner.queue).capacity = bytes;
    }

    /// The receive queue's bound in payload bytes.
    pub fn recv_capacity(&self) -> usize {
        lock(&self.inner.queue).capacity
    }

    /// Datagrams this socket dropped because its queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.event.uninstall(id);
        }
        if let Some(id) = self.icmp_id.take() {
            let _ = self.icmp.uninstall(id);
        }
        lock(&self.net.shared.udp_ports).remove(&self.inner.local.port());
    }
}
