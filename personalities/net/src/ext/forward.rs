//! Forwarding inside the graph (SPIN's Table 6): a port's traffic is
//! redirected to another host without leaving the kernel.
//!
//! * [`UdpForwarder`]: datagrams to a local port are re-sent to a target
//!   address, and the target's answers go back to the client. One client at
//!   a time: the last sender that is not the target is where answers go.
//! * [`TcpForwarder`]: every TCP segment to a local port, control segments
//!   included, is rewritten below the transport and sent to the target, and
//!   back — a per-connection NAT.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use spin_kernel::event::{Event, EventError, Handler, HandlerId, Principal};

use crate::events::{TcpArrived, UdpArrived};
use crate::socket::SockError;
use crate::stack::{lock, NetHandle};
use crate::wire::ipv4::protocol;
use crate::wire::tcp::{flags, TcpPacket};

/// The installed forwarder; dropping it uninstalls the handler.
#[derive(Debug)]
pub struct UdpForwarder {
    event: Event<UdpArrived, ()>,
    id: Option<HandlerId>,
    forwarded: Arc<AtomicU64>,
}

impl UdpForwarder {
    /// Forwards datagrams arriving at `port` to `target` (sent from `port`).
    pub fn install(
        net: &NetHandle,
        who: &Principal,
        port: u16,
        target: SocketAddrV4,
    ) -> Result<UdpForwarder, EventError> {
        let forwarded = Arc::new(AtomicU64::new(0));
        let client: Mutex<Option<SocketAddrV4>> = Mutex::new(None);
        let (n, count) = (net.clone(), forwarded.clone());
        let handler = Handler::new(move |d: &UdpArrived| {
            let to = {
                let mut c = client.lock().unwrap_or_else(|e| e.into_inner());
                if d.src == target {
                    *c
                } else {
                    *c = Some(d.src);
                    Some(target)
                }
            };
            if let Some(to) = to {
                n.send_udp(port, to, &d.payload);
                count.fetch_add(1, Ordering::Relaxed);
            }
        })
        .guard(net.events().udp_port(port));
        let id = net.events().udp.install(who, handler)?;
        Ok(UdpForwarder {
            event: net.events().udp.clone(),
            id: Some(id),
            forwarded,
        })
    }

    /// Datagrams forwarded (both directions).
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for UdpForwarder {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.event.uninstall(id);
        }
    }
}

/// Why a forwarder could not be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// The handler was refused.
    #[error("installing the forwarder's handler failed: {0}")]
    Install(#[from] EventError),
    /// The port is taken by a socket or another extension.
    #[error("the port is taken: {0}")]
    Port(#[from] SockError),
}

/// Most client connections a TCP forwarder maps at once.
pub const TCP_FORWARD_MAPPINGS: usize = 1024;

struct Mapping {
    /// The client, and the address of ours it talked to.
    client: SocketAddrV4,
    ours: Ipv4Addr,
    /// Our port towards the target, and its handler.
    port: u16,
    handler: HandlerId,
    fin_client: bool,
    fin_target: bool,
}

#[derive(Default)]
struct Table {
    by_client: HashMap<SocketAddrV4, Mapping>,
    by_port: HashMap<u16, SocketAddrV4>,
}

struct Fwd {
    net: NetHandle,
    who: Principal,
    port: u16,
    target: SocketAddrV4,
    table: Mutex<Table>,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    me: std::sync::Weak<Fwd>,
}

/// TCP forwarding inside the graph (SPIN's Table 6): every segment to a
/// local port — SYN, data, FIN, RST alike — is rewritten (addresses, ports,
/// checksum) and sent to a target host:port, and the target's segments are
/// rewritten back to the client: a NAT inside the protocol graph, below the
/// transport. No TCP endpoint of ours takes part; the TCP engine only keeps
/// the ports reserved.
///
/// Each client connection gets its own port towards the target, with a
/// handler guarded (indexed) by it; the mapping goes when the connection
/// ends (a reset, or both FINs and a last ACK).
pub struct TcpForwarder {
    inner: Arc<Fwd>,
    id: Option<HandlerId>,
}

impl std::fmt::Debug for TcpForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpForwarder")
            .field("port", &self.inner.port)
            .field("target", &self.inner.target)
            .finish()
    }
}

impl TcpForwarder {
    /// Forwards TCP segments arriving at `port` to `target`.
    pub fn install(
        net: &NetHandle,
        who: &Principal,
        port: u16,
        target: SocketAddrV4,
    ) -> Result<TcpForwarder, ForwardError> {
        let port = net.tcp_reserve_port(port)?;
        let inner = Arc::new_cyclic(|me| Fwd {
            net: net.clone(),
            who: who.clone(),
            port,
            target,
            table: Mutex::new(Table::default()),
            forwarded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            me: me.clone(),
        });
        let f = inner.clone();
        let handler = Handler::new(move |s: &TcpArrived| f.client_segment(s))
            .guard(net.events().tcp_port(port));
        match net.events().tcp.install(who, handler) {
            Ok(id) => Ok(TcpForwarder {
                inner,
                id: Some(id),
            }),
            Err(e) => {
                net.tcp_release_port(port);
                Err(e.into())
            }
        }
    }

    /// The port it serves.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Segments forwarded (both directions).
    pub fn forwarded(&self) -> u64 {
        self.inner.forwarded.load(Ordering::Relaxed)
    }

    /// Segments dropped (no mapping for a non-SYN, table full, a segment
    /// that could not be rewritten).
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Client connections mapped now.
    pub fn mappings(&self) -> usize {
        lock(&self.inner.table).by_client.len()
    }
}

impl Fwd {
    /// Rewrites `seg` to go from `src` to `dst` and sends it.
    fn send(&self, seg: &TcpArrived, src: SocketAddrV4, dst: SocketAddrV4) {
        let mut bytes = seg.segment.to_vec();
        let ok = TcpPacket::new_checked(&mut bytes[..]).is_ok_and(|mut p| {
            p.set_src_port(src.port());
            p.set_dst_port(dst.port());
            p.fill_checksum(*src.ip(), *dst.ip()).is_ok()
        });
        if !ok {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.forwarded.fetch_add(1, Ordering::Relaxed);
        self.net
            .send_ip_from(*src.ip(), *dst.ip(), protocol::TCP, bytes);
    }

    /// A segment from a client to the forwarded port.
    fn client_segment(&self, seg: &TcpArrived) {
        let fl = seg.repr.flags;
        let known = {
            let mut t = lock(&self.table);
            let room = t.by_client.len() < TCP_FORWARD_MAPPINGS;
            match t.by_client.get_mut(&seg.src) {
                Some(m) => {
                    m.fin_client |= fl & flags::FIN != 0;
                    Ok(m.port)
                }
                None => Err(room),
            }
        };
        let opens = fl & flags::SYN != 0 && fl & flags::ACK == 0;
        let port = match known {
            Ok(p) => Some(p),
            Err(room) if room && opens => self.map(seg),
            Err(_) => None,
        };
        let Some(port) = port else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let from = SocketAddrV4::new(self.net.source_for(*self.target.ip()), port);
        self.send(seg, from, self.target);
        self.maybe_unmap(seg.src, fl);
    }

    /// A new client: a port towards the target and a handler on it.
    fn map(&self, seg: &TcpArrived) -> Option<u16> {
        let port = self.net.tcp_reserve_port(0).ok()?;
        let me = self.me.clone();
        let handler = Handler::new(move |s: &TcpArrived| {
            if let Some(f) = me.upgrade() {
                f.target_segment(s);
            }
        })
        .guard(self.net.events().tcp_port(port));
        let Ok(id) = self.net.events().tcp.install(&self.who, handler) else {
            self.net.tcp_release_port(port);
            return None;
        };
        let mut t = lock(&self.table);
        t.by_port.insert(port, seg.src);
        t.by_client.insert(
            seg.src,
            Mapping {
                client: seg.src,
                ours: *seg.dst.ip(),
                port,
                handler: id,
                fin_client: false,
                fin_target: false,
            },
        );
        Some(port)
    }

    /// A segment from the target to one of the mapped ports.
    fn target_segment(&self, seg: &TcpArrived) {
        if seg.src != self.target {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let fl = seg.repr.flags;
        let to = {
            let mut t = lock(&self.table);
            let client = t.by_port.get(&seg.dst.port()).copied();
            client.and_then(|c| t.by_client.get_mut(&c)).map(|m| {
                m.fin_target |= fl & flags::FIN != 0;
                (m.client, m.ours)
            })
        };
        let Some((client, ours)) = to else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.send(seg, SocketAddrV4::new(ours, self.port), client);
        self.maybe_unmap(client, fl);
    }

    /// Forgets a client's mapping once its connection is over: a reset, or
    /// both FINs seen and then a last segment without FIN (the final ACK).
    fn maybe_unmap(&self, client: SocketAddrV4, fl: u8) {
        let gone = {
            let mut t = lock(&self.table);
            let done = t.by_client.get(&client).is_some_and(|m| {
                fl & flags::RST != 0 || (m.fin_client && m.fin_target && fl & flags::FIN == 0)
            });
            if !done {
                return;
            }
            let m = t.by_client.remove(&client);
            if let Some(m) = &m {
                t.by_port.remove(&m.port);
            }
            m
        };
        if let Some(m) = gone {
            let _ = self.net.events().tcp.uninstall(m.handler);
            self.net.tcp_release_port(m.port);
        }
    }
}

impl Drop for TcpForwarder {
    fn drop(&mut self) {
        let ev = self.inner.net.events().tcp.clone();
        if let Some(id) = self.id.take() {
            let _ = ev.uninstall(id);
        }
        let maps: Vec<Mapping> = {
            let mut t = lock(&self.inner.table);
            t.by_port.clear();
            t.by_client.drain().map(|(_, m)| m).collect()
        };
        for m in maps {
            let _ = ev.uninstall(m.handler);
            self.inner.net.tcp_release_port(m.port);
        }
        self.inner.net.tcp_release_port(self.inner.port);
    }
}
