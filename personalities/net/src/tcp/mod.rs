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

mod conn;
pub(crate) mod seq;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Weak};

use spin_kernel::event::{Handler, HandlerId, Principal};
use spin_kernel::rng::Rng;

use crate::events::TcpArrived;
use crate::socket::{pick_ephemeral, Readiness, SockError, Waker};
use crate::stack::{lock, NetHandle, Shared};
use crate::telemetry::{DropReason, Layer};
use crate::wire::ipv4::protocol;
use conn::{Conn, Ctx, Seg};

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

/// The engine's handle on a stack (its lock and the event).
impl NetHandle {
    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        lock(&self.shared.tcp)
    }

    fn mss(&self) -> usize {
        self.shared.nic.mtu().saturating_sub(40).max(536)
    }

    /// Runs `f` on the engine and a fresh context, then carries out the
    /// effects (segments, drops, wakers) with the lock released.
    fn with_engine<T>(&self, f: impl FnOnce(&mut Engine, &mut Effects, u64) -> T) -> T {
        let _in = self.enter();
        let now = self.now_ms();
        let mut fx = Effects::default();
        let r = {
            let mut e = self.engine();
            f(&mut e, &mut fx, now)
        };
        self.apply(fx);
        r
    }

    fn apply(&self, fx: Effects) {
        let c = self.counters();
        for d in fx.drops {
            c.drop(Layer::Tcp, d);
        }
        for (src, dst, bytes) in fx.segs {
            self.send_ip_from(*src.ip(), *dst.ip(), protocol::TCP, bytes);
        }
        for w in fx.wake {
            w();
        }
    }

    /// Installs the port's handler on `TCP.PacketArrived`, or counts one
    /// more user of it.
    fn port_use(&self, e: &mut Engine, port: u16) -> Result<(), SockError> {
        if let Some(p) = e.ports.get_mut(&port) {
            p.users += 1;
            return Ok(());
        }
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let ev = self.events();
        let handler = Handler::new(move |seg: &TcpArrived| {
            if let Some(shared) = weak.upgrade() {
                NetHandle { shared }.tcp_input(seg);
            }
        })
        .guard(ev.tcp_port(port));
        let id = ev
            .tcp
            .install(&Principal::kernel("spin.net.tcp"), handler)
            .map_err(|_| SockError::AddrNotAvailable)?;
        e.ports.insert(
            port,
            Port {
                users: 1,
                handler: Some(id),
            },
        );
        Ok(())
    }

    fn port_release(&self, e: &mut Engine, port: u16) {
        if let Some(p) = e.ports.get_mut(&port) {
            p.users -= 1;
            if p.users == 0 {
                if let Some(id) = e.ports.remove(&port).and_then(|g| g.handler) {
                    let _ = self.events().tcp.uninstall(id);
                }
            }
        }
    }

    fn ctx<'a>(&'a self, cfg: &'a TcpConfig, fx: &'a mut Effects, now: u64) -> Ctx<'a> {
        Ctx {
            now,
            cfg,
            out: &mut fx.segs,
            stats: &self.counters().tcp,
            drops: &mut fx.drops,
        }
    }

    /// After a connection worked: wake its socket if its readiness moved,
    /// queue it for accept, or take it out of the graph when finished.
    fn settle(&self, e: &mut Engine, id: ConnId, before: Option<Seen>, fx: &mut Effects) {
        let Some(c) = e.conns.get_mut(&id) else {
            return;
        };
        if c.just_established {
            c.just_established = false;
            if let Some(port) = c.parent {
                match e.listeners.get_mut(&port) {
                    Some(l) => {
                        l.ready.push_back(id);
                        if let Some(w) = &l.waker {
                            fx.wake.push(w.clone());
                        }
                    }
                    // The listener is gone: nobody will accept it (the
                    // clock does not matter to an abort).
                    None => c.abort(&mut self.ctx(&e.cfg, fx, 0)),
                }
            }
        }
        let Some(c) = e.conns.get(&id) else {
            return;
        };
        if let (Some(w), Some(b)) = (&c.waker, before) {
            if b.changed(c) {
                fx.wake.push(w.clone());
            }
        }
        if c.state == TcpState::Closed {
            self.detach(e, id);
            if !e.owned.contains_key(&id) {
                e.conns.remove(&id);
            }
        }
    }

    /// Takes a connection out of the pair table and releases its port.
    fn detach(&self, e: &mut Engine, id: ConnId) {
        if e.attached.remove(&id).is_none() {
            return;
        }
        let Some(c) = e.conns.get_mut(&id) else {
            return;
        };
        let (local, remote, parent) = (c.local, c.remote, c.parent);
        e.by_pair.remove(&(local, remote));
        if let Some(p) = parent {
            // Embryonic connections do not count against the listener
            // once gone.
            if let Some(l) = e.listeners.get_mut(&p) {
                l.ready.retain(|&x| x != id);
            }
        }
        self.port_release(e, local.port());
    }

    fn attach(&self, e: &mut Engine, c: Conn) -> ConnId {
        let id = e.next_id;
        e.next_id += 1;
        e.by_pair.insert((c.local, c.remote), id);
        e.attached.insert(id, ());
        e.conns.insert(id, c);
        id
    }

    /// The port handler: a segment for one of our ports.
    fn tcp_input(&self, seg: &TcpArrived) {
        let me = self.clone();
        self.with_engine(|e, fx, now| me.tcp_input_locked(e, fx, now, seg));
    }

    fn tcp_input_locked(&self, e: &mut Engine, fx: &mut Effects, now: u64, seg: &TcpArrived) {
        let key = (seg.dst, seg.src);
        if let Some(&id) = e.by_pair.get(&key) {
            let cfg = e.cfg;
            let Some(c) = e.conns.get_mut(&id) else {
                return;
            };
            let before = Seen::of(c);
            c.input(seg, &mut self.ctx(&cfg, fx, now));
            return self.settle(e, id, Some(before), fx);
        }
        let port = seg.dst.port();
        let listening = e
            .listeners
            .get(&port)
            .is_some_and(|l| l.local.ip().is_unspecified() || l.local.ip() == seg.dst.ip());
        let cfg = e.cfg;
        if !listening {
            fx.drops.push(DropReason::NoConnection);
            return conn::reset_for(seg, &mut self.ctx(&cfg, fx, now));
        }
        use crate::wire::tcp::flags;
        let fl = seg.repr.flags;
        if fl & flags::RST != 0 {
            return fx.drops.push(DropReason::Rejected);
        }
        if fl & flags::ACK != 0 {
            fx.drops.push(DropReason::NoConnection);
            return conn::reset_for(seg, &mut self.ctx(&cfg, fx, now));
        }
        if fl & flags::SYN == 0 {
            return fx.drops.push(DropReason::Rejected);
        }
        let pending = e
            .conns
            .values()
            .filter(|c| c.parent == Some(port) && c.state == TcpState::SynRcvd)
            .count();
        let Some(l) = e.listeners.get(&port) else {
            return;
        };
        if l.ready.len() + pending >= l.backlog {
            return fx.drops.push(DropReason::BacklogFull);
        }
        let iss = e.iss();
        let c = Conn::accept_syn(
            seg.dst,
            seg,
            iss,
            self.mss(),
            port,
            &mut self.ctx(&cfg, fx, now),
        );
        let _ = self.port_use(e, port);
        self.attach(e, c);
    }

    /// Runs the connections' timers due at `now`.
    pub(crate) fn tcp_poll(&self, now: u64) {
        let me = self.clone();
        self.with_engine(|e, fx, _| {
            let due: Vec<ConnId> = e
                .conns
                .iter()
                .filter(|(_, c)| c.deadline().is_some_and(|t| t <= now))
                .map(|(&id, _)| id)
                .collect();
            let cfg = e.cfg;
            for id in due {
                if let Some(c) = e.conns.get_mut(&id) {
                    let before = Seen::of(c);
                    c.on_timer(&mut me.ctx(&cfg, fx, now));
                    me.settle(e, id, Some(before), fx);
                }
            }
        });
    }

    /// The earliest TCP timer, ms on the stack's clock.
    pub(crate) fn tcp_deadline(&self) -> Option<u64> {
        self.engine().next_deadline()
    }

    /// Aborts every connection (the stack is going away).
    pub(crate) fn tcp_shutdown(&self) {
        let me = self.clone();
        self.with_engine(|e, fx, now| {
            let ids: Vec<ConnId> = e.conns.keys().copied().collect();
            let cfg = e.cfg;
            for id in ids {
                if let Some(c) = e.conns.get_mut(&id) {
                    if c.state != TcpState::Closed {
                        c.abort(&mut me.ctx(&cfg, fx, now));
                    }
                }
                me.detach(e, id);
            }
            let ports: Vec<u16> = e.listeners.keys().copied().collect();
            for p in ports {
                e.listeners.remove(&p);
                me.port_release(e, p);
            }
        });
    }

    /// Listens on `local`.
    pub fn tcp_listen(
        &self,
        local: SocketAddrV4,
        backlog: usize,
    ) -> Result<TcpListener, SockError> {
        if !crate::socket::local_ip_ok(*local.ip(), self.config().addr) {
            return Err(SockError::AddrNotAvailable);
        }
        let me = self.clone();
        let port = self.with_engine(|e, _, _| {
            let port = if local.port() == 0 {
                let start = e.rng.next_u64();
                pick_ephemeral(start, |p| e.port_taken(p)).ok_or(SockError::AddrInUse)?
            } else {
                local.port()
            };
            // A listener shares its port with the connections it accepted
            // (even ones left in TIME_WAIT by an earlier listener: the
            // SO_REUSEADDR behaviour servers ask for), not with another
            // listener or with connections opened by `connect`.
            let busy = e.listeners.contains_key(&port)
                || e.bound.contains(&port)
                || e.ports.get(&port).is_some_and(|p| p.handler.is_none())
                || e.conns.values().any(|c| {
                    c.local.port() == port
                        && c.parent.is_none()
                        && !c.accepted
                        && c.state != TcpState::Closed
                });
            if busy {
                return Err(SockError::AddrInUse);
            }
            me.port_use(e, port)?;
            e.listeners.insert(
                port,
                Listener {
                    local: SocketAddrV4::new(*local.ip(), port),
                    backlog: backlog.clamp(1, 4096),
                    ready: VecDeque::new(),
                    waker: None,
                },
            );
            Ok(port)
        })?;
        Ok(TcpListener {
            net: self.clone(),
            local: SocketAddrV4::new(*local.ip(), port),
        })
    }

    /// Opens a connection to `remote`: sends the SYN and returns at once
    /// (`SYN_SENT`); the stream becomes writable when established, and
    /// `take_error` reports a refusal or a timeout.
    pub fn tcp_connect(
        &self,
        local: Option<SocketAddrV4>,
        remote: SocketAddrV4,
    ) -> Result<TcpStream, SockError> {
        if remote.port() == 0 || remote.ip().is_unspecified() || remote.ip().is_broadcast() {
            return Err(SockError::InvalidInput);
        }
        if !self.routable(*remote.ip()) {
            return Err(SockError::Unreachable);
        }
        let ours = self.config().addr;
        let local = local.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        if !crate::socket::local_ip_ok(*local.ip(), ours) {
            return Err(SockError::AddrNotAvailable);
        }
        let src_ip = crate::socket::source_ip(local, *remote.ip(), ours);
        if src_ip.is_loopback() && !self.is_local(*remote.ip()) {
            return Err(SockError::InvalidInput);
        }
        let me = self.clone();
        let mss = self.mss();
        let id = self.with_engine(|e, fx, now| {
            let port = if local.port() == 0 {
                let start = e.rng.next_u64();
                pick_ephemeral(start, |p| e.port_taken(p)).ok_or(SockError::AddrNotAvailable)?
            } else if e.port_taken(local.port()) {
                return Err(SockError::AddrInUse);
            } else {
                local.port()
            };
            let l = SocketAddrV4::new(src_ip, port);
            if e.by_pair.contains_key(&(l, remote)) {
                return Err(SockError::AddrInUse);
            }
            me.port_use(e, port)?;
            let iss = e.iss();
            let cfg = e.cfg;
            let c = Conn::connect(l, remote, iss, mss, &mut me.ctx(&cfg, fx, now));
            let id = me.attach(e, c);
            e.owned.insert(id, ());
            Ok(id)
        })?;
        Ok(TcpStream {
            net: self.clone(),
            id,
        })
    }

    /// Runs `f` on connection `id` (a socket's), then settles it.
    fn on_conn<T>(&self, id: ConnId, f: impl FnOnce(&mut Conn, &mut Ctx<'_>) -> T) -> Option<T> {
        let me = self.clone();
        self.with_engine(|e, fx, now| {
            let cfg = e.cfg;
            let c = e.conns.get_mut(&id)?;
            let before = Seen::of(c);
            let r = f(c, &mut me.ctx(&cfg, fx, now));
            me.settle(e, id, Some(before), fx);
            Some(r)
        })
    }
}

impl NetHandle {
    /// Connections no socket holds any more that still have bytes or a FIN
    /// to deliver. A host that ends now would lose what they hold (Linux
    /// keeps sending after a process exits), so it waits for this to be 0.
    pub fn tcp_draining(&self) -> usize {
        self.with_engine(|e, _, _| {
            e.conns
                .iter()
                .filter(|(id, c)| !e.owned.contains_key(id) && c.delivering())
                .count()
        })
    }

    /// Binds a stream socket's port, as Linux's `bind` does: `AddrInUse`
    /// if another socket is bound to it or listens on it, an extension
    /// reserved it, or a connection uses it — except that with
    /// `reuse_addr` (`SO_REUSEADDR`) connections in TIME_WAIT and those a
    /// listener accepted don't count (Linux: they inherit the listener's
    /// flag), so a restarted server can bind its port at once. Port 0 picks a free
    /// ephemeral port. Released by [`NetHandle::tcp_unbind_port`] (before
    /// the socket listens or connects from it).
    pub fn tcp_bind_port(&self, port: u16, reuse_addr: bool) -> Result<u16, SockError> {
        self.with_engine(|e, _, _| {
            let port = if port == 0 {
                let start = e.rng.next_u64();
                pick_ephemeral(start, |p| e.port_taken(p)).ok_or(SockError::AddrInUse)?
            } else {
                port
            };
            let busy = e.listeners.contains_key(&port)
                || e.bound.contains(&port)
                || e.ports.get(&port).is_some_and(|p| p.handler.is_none())
                || e.conns.values().any(|c| {
                    c.local.port() == port
                        && c.state != TcpState::Closed
                        && !(reuse_addr
                            && (c.state == TcpState::TimeWait
                                || c.parent.is_some()
                                || c.accepted))
                });
            if busy {
                return Err(SockError::AddrInUse);
            }
            e.bound.insert(port);
            Ok(port)
        })
    }

    /// Gives back a port bound by [`NetHandle::tcp_bind_port`].
    pub fn tcp_unbind_port(&self, port: u16) {
        self.engine().bound.remove(&port);
    }

    /// Reserves a TCP port for an extension that handles the port's
    /// segments itself (a forwarder): the engine installs no handler and
    /// neither listens nor connects from it until released. Port 0 picks a
    /// free ephemeral port. `AddrInUse` if taken.
    pub fn tcp_reserve_port(&self, port: u16) -> Result<u16, SockError> {
        self.with_engine(|e, _, _| {
            let port = if port == 0 {
                let start = e.rng.next_u64();
                pick_ephemeral(start, |p| e.port_taken(p)).ok_or(SockError::AddrInUse)?
            } else if e.port_taken(port) {
                return Err(SockError::AddrInUse);
            } else {
                port
            };
            e.ports.insert(
                port,
                Port {
                    users: 1,
                    handler: None,
                },
            );
            Ok(port)
        })
    }

    /// Releases a port reserved by [`NetHandle::tcp_reserve_port`].
    pub fn tcp_release_port(&self, port: u16) {
        let mut e = self.engine();
        if e.ports.get(&port).is_some_and(|p| p.handler.is_none()) {
            e.ports.remove(&port);
        }
    }
}

/// A listening TCP socket. Dropping it resets connections not yet accepted.
pub struct TcpListener {
    net: NetHandle,
    local: SocketAddrV4,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .finish()
    }
}

impl TcpListener {
    /// The address it listens on (the port chosen if 0 was asked).
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    /// Takes an established connection; `WouldBlock` when none waits.
    pub fn accept(&self) -> Result<TcpStream, SockError> {
        let port = self.local.port();
        let id = self.net.with_engine(|e, _, _| {
            let l = e.listeners.get_mut(&port).ok_or(SockError::InvalidInput)?;
            let id = l.ready.pop_front().ok_or(SockError::WouldBlock)?;
            if let Some(c) = e.conns.get_mut(&id) {
                c.parent = None;
                c.accepted = true;
            }
            e.owned.insert(id, ());
            Ok(id)
        })?;
        Ok(TcpStream {
            net: self.net.clone(),
            id,
        })
    }

    /// Readable when a connection waits to be accepted.
    pub fn readiness(&self) -> Readiness {
        let port = self.local.port();
        let ready = self
            .net
            .engine()
            .listeners
            .get(&port)
            .is_some_and(|l| !l.ready.is_empty());
        Readiness {
            readable: ready,
            ..Readiness::default()
        }
    }

    /// Sets the function called when a connection arrives.
    pub fn set_waker(&self, waker: Option<Waker>) {
        if let Some(l) = self.net.engine().listeners.get_mut(&self.local.port()) {
            l.waker = waker;
        }
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let port = self.local.port();
        let me = self.net.clone();
        self.net.with_engine(|e, fx, now| {
            if e.listeners.remove(&port).is_none() {
                return;
            }
            let orphans: Vec<ConnId> = e
                .conns
                .iter()
                .filter(|(_, c)| c.parent == Some(port))
                .map(|(&id, _)| id)
                .collect();
            let cfg = e.cfg;
            for id in orphans {
                if let Some(c) = e.conns.get_mut(&id) {
                    c.parent = None;
                    c.abort(&mut me.ctx(&cfg, fx, now));
                }
                me.settle(e, id, None, fx);
            }
            me.port_release(e, port);
        });
    }
}

/// A TCP connection. Dropping it closes it: a FIN follows the data still
/// queued and the connection finishes inside the stack (FIN_WAIT,
/// TIME_WAIT, retransmissions); unread received data makes it a reset.
pub struct TcpStream {
    net: NetHandle,
    id: ConnId,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr())
            .field("peer", &self.peer_addr())
            .field("state", &self.state())
            .finish()
    }
}

impl TcpStream {
    fn read<T>(&self, f: impl FnOnce(&Conn) -> T, gone: T) -> T {
        self.net.engine().conns.get(&self.id).map(f).unwrap_or(gone)
    }

    /// Our end's address.
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.read(|c| c.local, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddrV4 {
        self.read(|c| c.remote, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    }

    /// Copies as much of `data` as fits into the send buffer and returns
    /// how much. `WouldBlock` if it is full; `BrokenPipe` after
    /// `shutdown(Write)` or a reset; `InProgress` / `NotConnected` before
    /// the connection is established.
    pub fn send(&self, data: &[u8]) -> Result<usize, SockError> {
        self.net
            .on_conn(self.id, |c, cx| c.send(data, cx))
            .unwrap_or(Err(SockError::NotConnected))
    }

    /// Copies received bytes into `buf` (with `peek` they stay). `Ok(0)`:
    /// end of stream after the peer's FIN; `WouldBlock`; `ConnectionReset`.
    pub fn recv(&self, buf: &mut [u8], peek: bool) -> Result<usize, SockError> {
        self.net
            .on_conn(self.id, |c, cx| c.recv(buf, peek, cx))
            .unwrap_or(Err(SockError::NotConnected))
    }

    /// Closes one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> Result<(), SockError> {
        let (r, w) = match how {
            Shutdown::Read => (true, false),
            Shutdown::Write => (false, true),
            Shutdown::Both => (true, true),
        };
        self.net
            .on_conn(self.id, |c, cx| c.shutdown(r, w, cx))
            .unwrap_or(Err(SockError::NotConnected))
    }

    /// Aborts the connection: queued data in both directions is discarded
    /// and the peer gets a reset (`SO_LINGER {1, 0}` then `close`, or a
    /// splice whose other side was reset). Afterwards sends fail and
    /// receives report `ConnectionAborted`; dropping the stream removes it.
    pub fn abort(&self) {
        self.net.on_conn(self.id, |c, cx| c.abort(cx));
    }

    /// What the socket can do now.
    pub fn readiness(&self) -> Readiness {
        self.read(Conn::readiness, Readiness::default())
    }

    /// SO_ERROR: the pending error (a refusal, reset or timeout), once.
    pub fn take_error(&self) -> Option<SockError> {
        self.net
            .engine()
            .conns
            .get_mut(&self.id)
            .and_then(Conn::take_error)
    }

    /// Sets the function called when readiness may have changed.
    pub fn set_waker(&self, waker: Option<Waker>) {
        if let Some(c) = self.net.engine().conns.get_mut(&self.id) {
            c.waker = waker;
        }
    }

    /// TCP_NODELAY: with `on`, small segments go out without waiting
    /// (Nagle off).
    pub fn set_nodelay(&self, on: bool) {
        self.net.on_conn(self.id, |c, cx| c.set_nodelay(on, cx));
    }

    /// SO_SNDBUF / SO_RCVBUF, bytes (clamped to 2 KiB..8 MiB).
    pub fn set_buffer_sizes(&self, send: Option<usize>, recv: Option<usize>) {
        self.net
            .on_conn(self.id, |c, cx| c.set_buffer_sizes(send, recv, cx));
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn recv_queued(&self) -> usize {
        self.read(Conn::readable_bytes, 0)
    }

    /// Bytes in the send buffer, sent or not, not yet acknowledged
    /// (SIOCOUTQ).
    pub fn send_queued(&self) -> usize {
        self.read(Conn::queued_bytes, 0)
    }

    /// The connection's state.
    pub fn state(&self) -> TcpState {
        self.read(|c| c.state, TcpState::Closed)
    }
}

use crate::socket::Shutdown;

impl Drop for TcpStream {
    fn drop(&mut self) {
        let id = self.id;
        let me = self.net.clone();
        self.net.with_engine(|e, fx, now| {
            e.owned.remove(&id);
            let cfg = e.cfg;
            let Some(c) = e.conns.get_mut(&id) else {
                return;
            };
            let lives = c.close(&mut me.ctx(&cfg, fx, now));
            if !lives {
                c.state = TcpState::Closed;
            }
            me.settle(e, id, None, fx);
        });
    }
}

impl NetHandle {
    /// The TCP counters with the live connection count.
    pub(crate) fn tcp_telemetry(&self) -> crate::telemetry::TcpTelemetry {
        use std::sync::atomic::Ordering::Relaxed;
        let t = &self.counters().tcp;
        let (connections, listeners) = self.engine().counts();
        crate::telemetry::TcpTelemetry {
            segments_in: self.counters().packets(Layer::Tcp),
            segments_out: t.segments_out.load(Relaxed),
            retransmits: t.retransmits.load(Relaxed),
            fast_retransmits: t.fast_retransmits.load(Relaxed),
            timeouts: t.timeouts.load(Relaxed),
            resets_sent: t.resets_sent.load(Relaxed),
            established: t.established.load(Relaxed),
            timed_out: t.timed_out.load(Relaxed),
            connections,
            listeners,
        }
    }
}

impl NetHandle {
    /// Answers a segment that no handler took (no socket on its port).
    pub(crate) fn tcp_reset_unhandled(&self, seg: &TcpArrived) {
        let mut fx = Effects::default();
        let cfg = TcpConfig::default();
        conn::reset_for(seg, &mut self.ctx(&cfg, &mut fx, 0));
        self.apply(fx);
    }
}

#[cfg(test)]
mod tests;
