//! User-mode networking: no privileges, the default backend.
//!
//! The host's stack (say 10.0.2.15/24) is joined by an in-memory link to a
//! second, small [`NetStack`] — the *gateway* (10.0.2.2) — that terminates
//! host sockets, the way qemu's slirp does:
//!
//! * `hostfwd` UDP: a host socket on 127.0.0.1:HOST. A datagram from a host
//!   sender S leaves the gateway from a port the gateway allocates for S
//!   to GUEST:GUESTPORT; what the stack sends back to that port goes to S.
//! * `guestfwd` UDP port P: a datagram the stack sends to 10.0.2.2:P goes
//!   out of a host socket (one per stack sender) to 127.0.0.1:P, and the
//!   answers come back from 10.0.2.2:P.
//! * `hostfwd` TCP: a host listener on 127.0.0.1:HOST; each accepted
//!   connection becomes a connection from the gateway to GUEST:GUESTPORT,
//!   spliced byte for byte ([`super::proxy`]: half-close and reset carried
//!   over).
//! * `guestfwd` TCP port P: the gateway listens on 10.0.2.2:P; each
//!   connection the stack opens there is spliced to a host connection to
//!   127.0.0.1:P (a guest client reaches a host `nc -l`).
//!
//! The gateway's handlers are extensions on its own `UDP.PacketArrived`,
//! guarded by port. Everything runs on the network pump's thread: the
//! gateway is a [`PumpTask`] whose host sockets are in the pump's epoll set.

use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener as HostListener, UdpSocket};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use spin_kernel::event::{Event, Handler, HandlerId, Principal};
use spin_net::events::UdpArrived;
use spin_net::wire::ethernet::MacAddr;
use spin_net::{MemNic, NetConfig, NetHandle, NetStack, SockError, TcpListener};

use super::proxy::{Ended, Splice};

use super::pump::{PumpTask, Registry};
use super::{NetworkError, PortForward, Proto};

/// Gateway ports handed to host senders: 49152..=65535 (IANA's dynamic range).
const EPHEMERAL: std::ops::RangeInclusive<u16> = 49_152..=65_535;

/// Host senders remembered per UDP forward; the oldest is forgotten beyond.
const MAX_UDP_PEERS: usize = 256;

/// Largest datagram read from a host socket, bytes.
const MAX_DATAGRAM: usize = 65_535;

/// The gateway's configuration.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The gateway's address (the host stack's default gateway).
    pub addr: Ipv4Addr,
    /// The shared network's prefix length.
    pub prefix_len: u8,
    /// The gateway's MAC.
    pub mac: MacAddr,
    /// The host stack's address.
    pub guest: Ipv4Addr,
    /// The host stack's MAC.
    pub guest_mac: MacAddr,
    /// Host ports forwarded into the stack.
    pub hostfwd: Vec<PortForward>,
    /// Host loopback ports the stack reaches at the gateway's address.
    pub guestfwd: Vec<u16>,
    /// A UDP mapping idle this long is dropped (ms).
    pub udp_idle_ms: u64,
}

/// The gateway's MAC for a stack whose MAC is `guest` (differs in the last
/// byte, still locally administered).
pub fn gateway_mac(guest: MacAddr) -> MacAddr {
    let mut m = guest.0;
    m[5] ^= 0xff;
    MacAddr(m)
}

/// User-mode counters.
#[derive(Debug, Default)]
pub struct UserCounters {
    udp_from_host: AtomicU64,
    udp_to_host: AtomicU64,
    host_errors: AtomicU64,
    tcp_opened: AtomicU64,
    tcp_closed: AtomicU64,
    tcp_reset: AtomicU64,
    tcp_bytes_in: AtomicU64,
    tcp_bytes_out: AtomicU64,
    udp_expired: AtomicU64,
    /// Splices that still owe the host bytes or an end of stream (after the
    /// pump's last pass over them).
    owing: AtomicU64,
    ports: Mutex<Vec<(Proto, u16, u16)>>,
}

/// A snapshot of the user-mode counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTelemetry {
    /// Datagrams from host sockets into the stack.
    pub udp_from_host: u64,
    /// Datagrams from the stack out of host sockets.
    pub udp_to_host: u64,
    /// Host socket errors (a send refused, a peer unreachable).
    pub host_errors: u64,
    /// TCP connections spliced (hostfwd and guestfwd).
    #[serde(default)]
    pub tcp_opened: u64,
    /// Spliced connections closed after their data.
    #[serde(default)]
    pub tcp_closed: u64,
    /// Spliced connections ended by a reset, refusal or timeout.
    #[serde(default)]
    pub tcp_reset: u64,
    /// TCP bytes from host sockets into the stack.
    #[serde(default)]
    pub tcp_bytes_in: u64,
    /// TCP bytes from the stack out of host sockets.
    #[serde(default)]
    pub tcp_bytes_out: u64,
    /// UDP mappings dropped: idle past the timeout, or the least recently
    /// used when a port had too many.
    #[serde(default)]
    pub udp_expired: u64,
}

impl UserCounters {
    /// Spliced connections that still owe the host bytes or an end of
    /// stream.
    pub fn owing(&self) -> u64 {
        self.owing.load(Ordering::Relaxed)
    }

    /// The counts now.
    pub fn snapshot(&self) -> UserTelemetry {
        UserTelemetry {
            udp_from_host: self.udp_from_host.load(Ordering::Relaxed),
            udp_to_host: self.udp_to_host.load(Ordering::Relaxed),
            host_errors: self.host_errors.load(Ordering::Relaxed),
            tcp_opened: self.tcp_opened.load(Ordering::Relaxed),
            tcp_closed: self.tcp_closed.load(Ordering::Relaxed),
            tcp_reset: self.tcp_reset.load(Ordering::Relaxed),
            tcp_bytes_in: self.tcp_bytes_in.load(Ordering::Relaxed),
            udp_expired: self.udp_expired.load(Ordering::Relaxed),
            tcp_bytes_out: self.tcp_bytes_out.load(Ordering::Relaxed),
        }
    }

    /// `(protocol, host port, guest port)` of every host forward.
    pub fn ports(&self) -> Vec<(Proto, u16, u16)> {
        self.ports.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A handler installed on the gateway's UDP event; uninstalled on drop.
struct Installed {
    event: Event<UdpArrived, ()>,
    id: Option<HandlerId>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = self.event.uninstall(id);
        }
    }
}

/// One `hostfwd` UDP rule.
struct UdpHostFwd {
    sock: Arc<UdpSocket>,
    /// Its token in the pump's epoll set.
    token: Option<u64>,
    guest: SocketAddrV4,
    /// Its host senders, oldest first.
    peers: VecDeque<HostPeer>,
}

/// A host sender of a `hostfwd` UDP port: the gateway port its datagrams
/// come from in the stack, and the handler carrying answers back to it.
struct HostPeer {
    from: SocketAddr,
    port: u16,
    _handler: Installed,
    /// The stack's clock (ms) when a datagram last went either way.
    last_ms: Arc<AtomicU64>,
}

/// One `hostfwd` TCP rule.
struct TcpHostFwd {
    listener: HostListener,
    token: Option<u64>,
    guest: SocketAddrV4,
}

/// Connections spliced at once, at most (more are refused).
const MAX_SPLICES: usize = 1024;

/// One stack sender of a `guestfwd` UDP port.
struct GuestUdpPeer {
    sock: UdpSocket,
    /// Its token in the pump's epoll set, once registered.
    token: Option<u64>,
    /// The stack's clock (ms) when a datagram last went either way.
    last_ms: u64,
}

/// State the `guestfwd` handlers share with the pump task.
#[derive(Default)]
struct GuestUdp {
    /// (gateway port, stack sender) → host socket connected to 127.0.0.1:port.
    peers: HashMap<(u16, SocketAddrV4), GuestUdpPeer>,
}

/// The user-mode gateway; see the module docs.
pub struct Gateway {
    stack: NetStack,
    net: NetHandle,
    udp_fwds: Vec<UdpHostFwd>,
    tcp_fwds: Vec<TcpHostFwd>,
    /// The gateway's listeners of the `guestfwd` TCP ports.
    tcp_guestfwd: Vec<(u16, TcpListener)>,
    splices: Vec<Splice>,
    guest_udp: Arc<Mutex<GuestUdp>>,
    _guestfwd_handlers: Vec<Installed>,
    next_port: u16,
    udp_idle_ms: u64,
    counters: Arc<UserCounters>,
    buf: Vec<u8>,
    last_poll_ms: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn who() -> Principal {
    Principal::kernel("spin.net.user-gateway")
}

impl Gateway {
    /// Builds the gateway stack on `link` (the other end is the host
    /// stack's NIC) and binds the host sockets of the forwards.
    pub fn new(cfg: GatewayConfig, link: MemNic) -> Result<Gateway, NetworkError> {
        let mut nc = NetConfig::new(cfg.mac, cfg.addr, cfg.prefix_len);
        nc.gateway = None;
        let stack = NetStack::new(nc, Arc::new(link))?;
        stack.add_static_arp(cfg.guest, cfg.guest_mac);
        let net = stack.handle();
        let counters = Arc::new(UserCounters::default());
        let mut udp_fwds = Vec::new();
        let mut tcp_fwds = Vec::new();
        let mut ports = Vec::new();
        for f in &cfg.hostfwd {
            match f.proto {
                Proto::Udp => {
                    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, f.host_port)).map_err(
                        super::io(format!(
                            "hostfwd udp:{}:{}: binding 127.0.0.1:{}",
                            f.host_port, f.guest_port, f.host_port
                        )),
                    )?;
                    sock.set_nonblocking(true)
                        .map_err(super::io("hostfwd: a non-blocking socket"))?;
                    let port = sock
                        .local_addr()
                        .map_err(super::io("hostfwd: the socket's address"))?
                        .port();
                    ports.push((Proto::Udp, port, f.guest_port));
                    udp_fwds.push(UdpHostFwd {
                        sock: Arc::new(sock),
                        token: None,
                        guest: SocketAddrV4::new(cfg.guest, f.guest_port),
                        peers: VecDeque::new(),
                    });
                }
                Proto::Tcp => {
                    let what = format!(
                        "hostfwd tcp:{}:{}: listening on 127.0.0.1:{}",
                        f.host_port, f.guest_port, f.host_port
                    );
                    let listener = HostListener::bind((Ipv4Addr::LOCALHOST, f.host_port))
                        .map_err(super::io(what.clone()))?;
                    listener
                        .set_nonblocking(true)
                        .map_err(super::io(what.clone()))?;
                    let port = listener.local_addr().map_err(super::io(what))?.port();
                    ports.push((Proto::Tcp, port, f.guest_port));
                    tcp_fwds.push(TcpHostFwd {
                        listener,
                        token: None,
                        guest: SocketAddrV4::new(cfg.guest, f.guest_port),
                    });
                }
            }
        }
        *lock(&counters.ports) = ports;
        let guest_udp = Arc::new(Mutex::new(GuestUdp::default()));
        let mut handlers = Vec::new();
        let mut tcp_guestfwd = Vec::new();
        for &p in &cfg.guestfwd {
            let l = net
                .tcp_listen(SocketAddrV4::new(cfg.addr, p), 128)
                .map_err(|e| NetworkError::Config(format!("guestfwd {p}: listening: {e}")))?;
            tcp_guestfwd.push((p, l));
            let (state, c, n) = (guest_udp.clone(), counters.clone(), net.clone());
            let handler = Handler::new(move |d: &UdpArrived| {
                guestfwd_udp(&state, &c, n.now_ms(), p, d);
            })
            .guard(net.events().udp_port(p));
            let id = net
                .events()
                .udp
                .install(&who(), handler)
                .map_err(|e| NetworkError::Config(format!("guestfwd {p}: {e}")))?;
            handlers.push(Installed {
                event: net.events().udp.clone(),
                id: Some(id),
            });
        }
        Ok(Gateway {
            stack,
            net,
            udp_fwds,
            tcp_fwds,
            tcp_guestfwd,
            splices: Vec::new(),
            guest_udp,
            _guestfwd_handlers: handlers,
            next_port: *EPHEMERAL.start(),
            udp_idle_ms: cfg.udp_idle_ms,
            counters,
            buf: vec![0; MAX_DATAGRAM],
            last_poll_ms: 0,
        })
    }

    /// The gateway's counters.
    pub fn counters(&self) -> Arc<UserCounters> {
        self.counters.clone()
    }

    /// A gateway port no forward uses now.
    fn allocate_port(&mut self) -> u16 {
        loop {
            let p = self.next_port;
            self.next_port = if p == *EPHEMERAL.end() {
                *EPHEMERAL.start()
            } else {
                p + 1
            };
            let used = self
                .udp_fwds
                .iter()
                .any(|f| f.peers.iter().any(|h| h.port == p));
            if !used {
                return p;
            }
        }
    }

    /// The gateway port for host sender `from` of forward `i`, installing
    /// the handler that carries answers back to it.
    fn port_for(&mut self, i: usize, from: SocketAddr) -> Option<u16> {
        let now = self.net.now_ms();
        if let Some(h) = self.udp_fwds[i].peers.iter().find(|h| h.from == from) {
            h.last_ms.store(now, Ordering::Relaxed);
            return Some(h.port);
        }
        if self.udp_fwds[i].peers.len() >= MAX_UDP_PEERS {
            // Full: the least recently used sender's mapping goes.
            let peers = &mut self.udp_fwds[i].peers;
            if let Some(k) =
                (0..peers.len()).min_by_key(|&k| peers[k].last_ms.load(Ordering::Relaxed))
            {
                peers.remove(k);
                self.counters.udp_expired.fetch_add(1, Ordering::Relaxed);
            }
        }
        let port = self.allocate_port();
        let (sock, c) = (self.udp_fwds[i].sock.clone(), self.counters.clone());
        let last_ms = Arc::new(AtomicU64::new(now));
        let (last, net) = (last_ms.clone(), self.net.clone());
        let handler = Handler::new(move |d: &UdpArrived| {
            last.store(net.now_ms(), Ordering::Relaxed);
            // Counted before the send: the host peer may look at the
            // counters as soon as it has the datagram.
            c.udp_to_host.fetch_add(1, Ordering::Relaxed);
            if sock.send_to(&d.payload, from).is_err() {
                c.host_errors.fetch_add(1, Ordering::Relaxed);
            }
        })
        .guard(self.net.events().udp_port(port));
        let id = self.net.events().udp.install(&who(), handler).ok()?;
        self.udp_fwds[i].peers.push_back(HostPeer {
            from,
            port,
            _handler: Installed {
                event: self.net.events().udp.clone(),
                id: Some(id),
            },
            last_ms,
        });
        Some(port)
    }

    /// A datagram from each hostfwd socket epoll reported readable, into
    /// the stack (one per readiness: the level-triggered set reports the
    /// socket again while more wait, and an empty read costs a system call).
    /// Without a token (registration failed) the socket is read every pass.
    fn host_to_stack(&mut self, ready: &[u64]) -> usize {
        let mut work = 0;
        for i in 0..self.udp_fwds.len() {
            if self.udp_fwds[i].token.is_some_and(|t| !ready.contains(&t)) {
                continue;
            }
            let (n, from) = match self.udp_fwds[i].sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted =>
                {
                    continue
                }
                // ECONNREFUSED from an earlier send to a closed port.
                Err(_) => {
                    self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            work += 1;
            let Some(port) = self.port_for(i, from) else {
                self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            self.counters.udp_from_host.fetch_add(1, Ordering::Relaxed);
            let guest = self.udp_fwds[i].guest;
            self.net.send_udp(port, guest, &self.buf[..n]);
        }
        work
    }

    /// New TCP connections: host clients on the hostfwd listeners (to the
    /// stack) and stack clients on the guestfwd listeners (to the host).
    fn tcp_accept(&mut self, reg: &mut Registry<'_>, ready: &[u64]) -> usize {
        let mut work = 0;
        for i in 0..self.tcp_fwds.len() {
            if self.tcp_fwds[i].token.is_some_and(|t| !ready.contains(&t)) {
                continue;
            }
            let host = match self.tcp_fwds[i].listener.accept() {
                Ok((s, _)) => s,
                Err(_) => continue,
            };
            work += 1;
            if self.splices.len() >= MAX_SPLICES {
                self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let guest = match self.net.tcp_connect(None, self.tcp_fwds[i].guest) {
                Ok(g) => g,
                Err(_) => {
                    self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            self.open(host, guest, reg);
        }
        for i in 0..self.tcp_guestfwd.len() {
            let (port, guest) = match self.tcp_guestfwd[i].1.accept() {
                Ok(g) => (self.tcp_guestfwd[i].0, g),
                Err(SockError::WouldBlock) => continue,
                Err(_) => {
                    self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            work += 1;
            // Loopback connects complete (or are refused) at once.
            match std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
                Ok(host) if self.splices.len() < MAX_SPLICES => self.open(host, guest, reg),
                // Dropping the accepted stream closes it: the stack's client
                // sees the host port closed.
                _ => {
                    self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        work
    }

    fn open(
        &mut self,
        host: std::net::TcpStream,
        guest: spin_net::TcpStream,
        reg: &mut Registry<'_>,
    ) {
        match Splice::new(host, guest, reg) {
            Ok(s) => {
                self.counters.tcp_opened.fetch_add(1, Ordering::Relaxed);
                self.splices.push(s);
            }
            Err(_) => {
                self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Moves bytes on every splice; drops the finished ones.
    fn tcp_splices(&mut self, reg: &mut Registry<'_>, ready: &[u64]) -> usize {
        let mut work = 0;
        let mut i = 0;
        while i < self.splices.len() {
            let before = self.splices[i].moved;
            let (w, ended) = self.splices[i].service(reg, ready);
            let after = self.splices[i].moved;
            self.counters
                .tcp_bytes_in
                .fetch_add(after.0 - before.0, Ordering::Relaxed);
            self.counters
                .tcp_bytes_out
                .fetch_add(after.1 - before.1, Ordering::Relaxed);
            work += w;
            match ended {
                None => i += 1,
                Some(how) => {
                    let s = self.splices.swap_remove(i);
                    s.close(reg);
                    let c = match how {
                        Ended::Closed => &self.counters.tcp_closed,
                        Ended::Reset => &self.counters.tcp_reset,
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let owing = self.splices.iter().filter(|s| s.owes_host()).count();
        self.counters.owing.store(owing as u64, Ordering::Relaxed);
        work
    }

    /// Drops UDP mappings idle for longer than the configured timeout: a
    /// hostfwd sender's gateway port and handler, a guestfwd sender's host
    /// socket.
    fn expire_udp(&mut self, reg: &mut Registry<'_>) {
        let now = self.net.now_ms();
        let idle = self.udp_idle_ms;
        let stale = |last: u64| now.saturating_sub(last) > idle;
        let mut expired = 0;
        for f in &mut self.udp_fwds {
            let before = f.peers.len();
            f.peers
                .retain(|h| !stale(h.last_ms.load(Ordering::Relaxed)));
            expired += before - f.peers.len();
        }
        let mut g = lock(&self.guest_udp);
        g.peers.retain(|_, p| {
            let keep = !stale(p.last_ms);
            if !keep {
                reg.remove(p.sock.as_raw_fd());
                expired += 1;
            }
            keep
        });
        self.counters
            .udp_expired
            .fetch_add(expired as u64, Ordering::Relaxed);
    }

    /// Answers on the guestfwd sockets epoll reported, back into the stack;
    /// registers sockets the handlers made since the last pass.
    fn guestfwd_answers(&mut self, reg: &mut Registry<'_>, ready: &[u64]) -> usize {
        let mut work = 0;
        let mut state = lock(&self.guest_udp);
        for (&(port, sender), peer) in state.peers.iter_mut() {
            if peer.token.is_none() {
                peer.token = reg.add(peer.sock.as_raw_fd(), false).ok();
                // Whatever arrived before registration is reported on the
                // next wait (level-triggered).
                continue;
            }
            if !peer.token.is_some_and(|t| ready.contains(&t)) {
                continue;
            }
            match peer.sock.recv(&mut self.buf) {
                Ok(n) => {
                    work += 1;
                    peer.last_ms = self.net.now_ms();
                    self.counters.udp_from_host.fetch_add(1, Ordering::Relaxed);
                    self.net.send_udp(port, sender, &self.buf[..n]);
                }
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.counters.host_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        work
    }
}

/// A datagram the stack sent to the gateway's guestfwd port `port`: out of
/// the host socket for its sender, to 127.0.0.1:port.
fn guestfwd_udp(state: &Mutex<GuestUdp>, c: &UserCounters, now: u64, port: u16, d: &UdpArrived) {
    let mut s = lock(state);
    if s.peers.len() >= MAX_UDP_PEERS && !s.peers.contains_key(&(port, d.src)) {
        // Full: the least recently used mapping goes (closing its socket
        // takes it out of the pump's epoll set).
        if let Some(k) = s
            .peers
            .iter()
            .min_by_key(|(_, p)| p.last_ms)
            .map(|(k, _)| *k)
        {
            s.peers.remove(&k);
            c.udp_expired.fetch_add(1, Ordering::Relaxed);
        }
    }
    let peer = match s.peers.entry((port, d.src)) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|s| s.connect((Ipv4Addr::LOCALHOST, port)).map(|_| s))
                .and_then(|s| s.set_nonblocking(true).map(|_| s));
            match sock {
                Ok(sock) => v.insert(GuestUdpPeer {
                    sock,
                    token: None,
                    last_ms: now,
                }),
                Err(_) => {
                    c.host_errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    };
    peer.last_ms = now;
    c.udp_to_host.fetch_add(1, Ordering::Relaxed);
    if peer.sock.send(&d.payload).is_err() {
        c.host_errors.fetch_add(1, Ordering::Relaxed);
    }
}

impl PumpTask for Gateway {
    fn start(&mut self, reg: &mut Registry<'_>) -> std::io::Result<()> {
        for f in &mut self.udp_fwds {
            f.token = Some(reg.add(f.sock.as_raw_fd(), false)?);
        }
        for f in &mut self.tcp_fwds {
            f.token = Some(reg.add(f.listener.as_raw_fd(), false)?);
        }
        Ok(())
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        self.stack.next_deadline_ms()
    }

    fn service(&mut self, reg: &mut Registry<'_>, ready: &[u64], now_ms: u64) -> usize {
        // Frames the host stack sent to the gateway (its handlers answer
        // host sockets directly), then host sockets into the stack.
        let mut work = self.stack.poll_nic();
        work += self.host_to_stack(ready);
        work += self.guestfwd_answers(reg, ready);
        work += self.tcp_accept(reg, ready);
        work += self.tcp_splices(reg, ready);
        if now_ms != self.last_poll_ms {
            self.last_poll_ms = now_ms;
            self.stack.poll(now_ms);
            self.expire_udp(reg);
        }
        work
    }
}

#[cfg(test)]
mod tests;
