//! The socket-facing API: [`TcpListener`] and [`TcpStream`], and the
//! stack's calls that make them ([`NetHandle::tcp_listen`],
//! [`NetHandle::tcp_connect`]).

use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::conn::Conn;
use super::{ConnId, Listener, TcpState};
use crate::socket::{pick_ephemeral, Readiness, Shutdown, SockError, Waker};
use crate::stack::NetHandle;

impl NetHandle {
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
