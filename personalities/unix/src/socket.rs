//! Sockets of the UNIX mound: Internet sockets (`AF_INET`, stream and
//! datagram) as endpoints on the kernel's shared network stack (spin-net).
//!
//! A [`Socket`] sits behind an ordinary open file description (a
//! [`SpecialFile`]), so `read`, `write`, `poll`, `dup`, `fork` and `close`
//! work as for pipes; the socket calls (`bind`, `connect`, …, in
//! `syscall::net`) reach it through the description. Nothing here blocks:
//! would-block is `EAGAIN`, and the stack's waker tells the mound (by the
//! description's wait key) when readiness may have changed.
//!
//! A stream socket goes `Idle` (maybe bound) → `Listening` or `Stream`
//! (connecting, then connected); a datagram socket is bound on first use
//! (explicit `bind`, `connect` or the first `sendto`), as Linux does.

use std::any::Any;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use spin_fs::{Errno, Readiness, SpecialFile, SysResult};
use spin_net::{NetHandle, SockError, TcpListener, TcpStream, UdpSocket, Waker};

/// `S_IFSOCK`.
pub(crate) const S_IFSOCK: u32 = 0o140_000;
/// `SOCK_STREAM`.
pub(crate) const SOCK_STREAM: u64 = 1;
/// `SOCK_DGRAM`.
pub(crate) const SOCK_DGRAM: u64 = 2;

/// Linux's errno for a stack error.
pub(crate) fn errno(e: SockError) -> Errno {
    match e {
        SockError::WouldBlock => Errno::EAGAIN,
        SockError::AddrInUse => Errno::EADDRINUSE,
        SockError::AddrNotAvailable => Errno::EADDRNOTAVAIL,
        SockError::ConnectionRefused => Errno::ECONNREFUSED,
        SockError::ConnectionReset => Errno::ECONNRESET,
        SockError::ConnectionAborted => Errno::ECONNABORTED,
        SockError::NotConnected => Errno::ENOTCONN,
        SockError::AlreadyConnected => Errno::EISCONN,
        SockError::InProgress => Errno::EINPROGRESS,
        SockError::TimedOut => Errno::ETIMEDOUT,
        SockError::MessageTooLong => Errno::EMSGSIZE,
        SockError::InvalidInput => Errno::EINVAL,
        SockError::BrokenPipe => Errno::EPIPE,
        SockError::Unreachable => Errno::ENETUNREACH,
    }
}

/// Socket options the guest set (`setsockopt`) that the stack doesn't keep.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub nodelay: bool,
    /// `SO_LINGER` (on, seconds).
    pub linger: (bool, u32),
    /// Requested buffer sizes (Linux reports twice what was asked).
    pub sndbuf: Option<usize>,
    pub rcvbuf: Option<usize>,
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO`, ns (0: none).
    pub rcvtimeo: u64,
    pub sndtimeo: u64,
    /// `IP_TOS`, `IP_TTL`.
    pub tos: u8,
    pub ttl: u8,
}

/// Where a socket is in its life.
pub(crate) enum State {
    /// A datagram socket; `None` until bound.
    Udp(Option<UdpSocket>),
    /// A stream socket before `listen`/`connect`, maybe bound.
    Idle(Option<SocketAddrV4>),
    /// A listening stream socket.
    Listening(TcpListener),
    /// A connecting or connected stream socket.
    Stream(TcpStream),
}

/// One socket (the object behind a socket's file description).
pub(crate) struct Socket {
    net: NetHandle,
    kind: u64,
    state: Mutex<State>,
    opts: Mutex<Options>,
    /// Wakes threads waiting on this socket's description; set once the
    /// description (and so the wait key) exists.
    waker: OnceLock<Waker>,
    /// The thread whose blocking `connect` is waiting for the handshake
    /// (its re-run must wait on, not fail with `EALREADY`).
    pub connecting: Mutex<Option<u32>>,
    /// A non-blocking `connect` answered `EINPROGRESS` and no later
    /// `connect` has reported how it ended (Linux's `SS_CONNECTING`).
    pub pending_connect: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The wildcard address with port 0: "any address, an ephemeral port".
pub(crate) const ANY: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);

impl Socket {
    /// A fresh socket of `kind` (`SOCK_STREAM` or `SOCK_DGRAM`).
    pub fn new(net: NetHandle, kind: u64) -> Socket {
        let state = if kind == SOCK_DGRAM {
            State::Udp(None)
        } else {
            State::Idle(None)
        };
        Socket::with_state(net, kind, state)
    }

    /// An accepted connection.
    pub fn accepted(net: NetHandle, stream: TcpStream) -> Socket {
        Socket::with_state(net, SOCK_STREAM, State::Stream(stream))
    }

    fn with_state(net: NetHandle, kind: u64, state: State) -> Socket {
        Socket {
            net,
            kind,
            state: Mutex::new(state),
            opts: Mutex::default(),
            waker: OnceLock::new(),
            connecting: Mutex::new(None),
            pending_connect: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Sets the waker (once) and hands it to the stack's endpoint.
    pub fn set_waker(&self, w: Waker) {
        let _ = self.waker.set(w);
        self.rearm();
    }

    fn rearm(&self) {
        let Some(w) = self.waker.get().cloned() else {
            return;
        };
        match &*lock(&self.state) {
            State::Udp(Some(u)) => u.set_waker(Some(w)),
            State::Listening(l) => l.set_waker(Some(w)),
            State::Stream(s) => s.set_waker(Some(w)),
            State::Udp(None) | State::Idle(_) => {}
        }
    }

    /// `SOCK_STREAM` or `SOCK_DGRAM`.
    pub fn kind(&self) -> u64 {
        self.kind
    }

    /// The socket's state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The guest's options, locked.
    pub fn opts(&self) -> MutexGuard<'_, Options> {
        lock(&self.opts)
    }

    /// `bind`.
    pub fn bind(&self, addr: SocketAddrV4) -> SysResult<()> {
        {
            let mut st = self.state();
            match &mut *st {
                State::Udp(slot @ None) => {
                    *slot = Some(self.net.udp_bind(addr).map_err(errno)?);
                }
                State::Idle(b @ None) => {
                    self.check_local(addr)?;
                    // Linux takes the port at bind: reserve it in the stack
                    // until listen or connect uses it.
                    let reuse = self.opts().reuseaddr;
                    let port = self.net.tcp_bind_port(addr.port(), reuse).map_err(errno)?;
                    *b = Some(SocketAddrV4::new(*addr.ip(), port));
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        self.rearm();
        Ok(())
    }

    /// Takes a bound port back after a failed listen or connect (the
    /// socket stays bound); if someone took it meanwhile, it is unbound.
    fn rereserve(&self, b: &mut Option<SocketAddrV4>) {
        if let Some(a) = *b {
            let reuse = self.opts().reuseaddr;
            if self.net.tcp_bind_port(a.port(), reuse).is_err() {
                *b = None;
            }
        }
    }

    /// A local address a stream socket may bind: ours, loopback or any.
    fn check_local(&self, addr: SocketAddrV4) -> SysResult<()> {
        let ip = *addr.ip();
        if ip.is_unspecified() || ip.is_loopback() || ip == self.net.config().addr {
            Ok(())
        } else {
            Err(Errno::EADDRNOTAVAIL)
        }
    }

    /// Binds a datagram socket to an ephemeral port if it isn't bound.
    fn autobind(&self, st: &mut State) -> SysResult<bool> {
        if let State::Udp(slot @ None) = st {
            *slot = Some(self.net.udp_bind(ANY).map_err(errno)?);
            return Ok(true);
        }
        Ok(false)
    }

    /// `listen`.
    pub fn listen(&self, backlog: usize) -> SysResult<()> {
        {
            let mut st = self.state();
            match &mut *st {
                State::Idle(b) => {
                    if let Some(a) = b {
                        self.net.tcp_unbind_port(a.port());
                    }
                    match self
                        .net
                        .tcp_listen(b.unwrap_or(ANY), backlog.clamp(1, 4096))
                    {
                        Ok(l) => *st = State::Listening(l),
                        Err(e) => {
                            self.rereserve(b);
                            return Err(errno(e));
                        }
                    }
                }
                State::Listening(_) => return Ok(()),
                State::Udp(_) => return Err(Errno::EOPNOTSUPP),
                State::Stream(_) => return Err(Errno::EINVAL),
            }
        }
        self.rearm();
        Ok(())
    }

    /// `accept`: a connection, `EAGAIN` if none waits.
    pub fn accept(&self) -> SysResult<TcpStream> {
        match &*self.state() {
            State::Listening(l) => l.accept().map_err(errno),
            State::Udp(_) => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `connect`'s first step: starts the handshake (stream) or sets the
    /// default destination (datagram; `None` dissolves the association).
    /// Returns whether a stream handshake is now in progress.
    pub fn connect(&self, peer: Option<SocketAddrV4>) -> SysResult<bool> {
        let in_progress;
        {
            let mut st = self.state();
            match &mut *st {
                State::Udp(_) => {
                    if peer.is_none() {
                        if let State::Udp(Some(u)) = &*st {
                            u.connect(None).map_err(errno)?;
                        }
                        return Ok(false);
                    }
                    self.autobind(&mut st)?;
                    if let State::Udp(Some(u)) = &*st {
                        u.connect(peer).map_err(errno)?;
                    }
                    in_progress = false;
                }
                State::Idle(b) => {
                    let Some(peer) = peer else {
                        return Err(Errno::EAFNOSUPPORT);
                    };
                    if let Some(a) = b {
                        self.net.tcp_unbind_port(a.port());
                    }
                    match self.net.tcp_connect(*b, peer) {
                        Ok(s) => *st = State::Stream(s),
                        Err(e) => {
                            self.rereserve(b);
                            return Err(errno(e));
                        }
                    }
                    in_progress = true;
                }
                State::Stream(_) => {
                    drop(st);
                    return self.reconnect();
                }
                State::Listening(_) => return Err(Errno::EISCONN),
            }
        }
        self.rearm();
        Ok(in_progress)
    }

    /// `connect` on a stream that has one: after a non-blocking start, the
    /// first call that sees the outcome reports it (0 or the error), one
    /// before that says `EALREADY`; otherwise `EISCONN`.
    fn reconnect(&self) -> SysResult<bool> {
        use std::sync::atomic::Ordering;
        if !self.pending_connect.load(Ordering::Acquire) {
            return Err(Errno::EISCONN);
        }
        match self.connect_status() {
            Ok(false) => Err(Errno::EALREADY),
            r => {
                self.pending_connect.store(false, Ordering::Release);
                r.map(|_| false)
            }
        }
    }

    /// Where a connecting stream stands: `Ok(true)` connected, `Ok(false)`
    /// still connecting, or the error that ended it.
    pub fn connect_status(&self) -> SysResult<bool> {
        match &*self.state() {
            State::Stream(s) => {
                if let Some(e) = s.take_error() {
                    return Err(errno(e));
                }
                let r = s.readiness();
                if r.writable {
                    Ok(true)
                } else if r.hangup || r.error {
                    Err(Errno::ECONNREFUSED)
                } else {
                    Ok(false)
                }
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Sends `data` to `dst` (datagram) or on the connection (stream).
    pub fn send_to(&self, data: &[u8], dst: Option<SocketAddrV4>) -> SysResult<usize> {
        let (autobound, r) = {
            let mut st = self.state();
            let autobound = dst.is_some() && self.autobind(&mut st)?;
            let r = match &*st {
                State::Udp(Some(u)) => match dst {
                    Some(d) if d.ip().is_broadcast() && !self.opts().broadcast => {
                        Err(Errno::EACCES)
                    }
                    Some(d) => u.send_to(data, d).map_err(errno),
                    None => u.send(data).map_err(|e| match e {
                        SockError::NotConnected => Errno::EDESTADDRREQ,
                        e => errno(e),
                    }),
                },
                State::Udp(None) => Err(Errno::EDESTADDRREQ),
                // A stream still connecting waits for the handshake.
                State::Stream(s) => s.send(data).map_err(|e| match e {
                    SockError::InProgress => Errno::EAGAIN,
                    e => errno(e),
                }),
                // Linux: sending on a stream that is not connected is EPIPE.
                State::Idle(_) | State::Listening(_) => Err(Errno::EPIPE),
            };
            (autobound, r)
        };
        if autobound {
            self.rearm();
        }
        r
    }

    /// Receives into `buf`: (bytes copied, datagram length, source).
    pub fn recv_from(
        &self,
        buf: &mut [u8],
        peek: bool,
    ) -> SysResult<(usize, usize, Option<SocketAddrV4>)> {
        match &*self.state() {
            State::Udp(Some(u)) => u
                .recv_from(buf, peek)
                .map(|(n, len, src)| (n, len, Some(src)))
                .map_err(errno),
            // An unbound datagram socket waits forever, as on Linux.
            State::Udp(None) => Err(Errno::EAGAIN),
            State::Stream(s) => s.recv(buf, peek).map(|n| (n, n, None)).map_err(errno),
            State::Idle(_) | State::Listening(_) => Err(Errno::ENOTCONN),
        }
    }

    /// `shutdown`.
    pub fn shutdown(&self, how: spin_net::Shutdown) -> SysResult<()> {
        match &*self.state() {
            State::Stream(s) => s.shutdown(how).map_err(errno),
            State::Udp(Some(u)) if u.peer_addr().is_some() => Ok(()),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> SocketAddrV4 {
        match &*self.state() {
            State::Udp(Some(u)) => u.local_addr(),
            State::Udp(None) => ANY,
            State::Idle(b) => b.unwrap_or(ANY),
            State::Listening(l) => l.local_addr(),
            State::Stream(s) => s.local_addr(),
        }
    }

    /// `getpeername`.
    pub fn peer_addr(&self) -> SysResult<SocketAddrV4> {
        match &*self.state() {
            State::Udp(Some(u)) => u.peer_addr().ok_or(Errno::ENOTCONN),
            State::Stream(s) if self.connect_ready(s) => Ok(s.peer_addr()),
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn connect_ready(&self, s: &TcpStream) -> bool {
        let r = s.readiness();
        r.writable || r.readable
    }

    /// `SO_ERROR`: takes the pending error.
    pub fn take_error(&self) -> Option<Errno> {
        match &*self.state() {
            State::Stream(s) => s.take_error().map(errno),
            State::Udp(Some(u)) => u.take_error().map(errno),
            _ => None,
        }
    }

    /// Whether it listens (`SO_ACCEPTCONN`).
    pub fn is_listening(&self) -> bool {
        matches!(&*self.state(), State::Listening(_))
    }

    /// Applies `TCP_NODELAY` and buffer sizes to a stream.
    pub fn apply_options(&self) {
        let o = self.opts().clone();
        match &*self.state() {
            State::Stream(s) => {
                s.set_nodelay(o.nodelay);
                s.set_buffer_sizes(o.sndbuf, o.rcvbuf);
            }
            State::Udp(Some(u)) => {
                if let Some(r) = o.rcvbuf {
                    u.set_recv_capacity(r);
                }
            }
            _ => {}
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // A bound stream socket that never listened or connected gives its
        // port back.
        let linger = self.opts().linger;
        match &*self.state() {
            State::Idle(Some(a)) => self.net.tcp_unbind_port(a.port()),
            // SO_LINGER {on, 0}: close aborts with a reset, as on Linux.
            State::Stream(s) if linger == (true, 0) => s.abort(),
            _ => {}
        }
    }
}

impl SpecialFile for Socket {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        self.recv_from(buf, false).map(|(n, _, _)| n)
    }

    fn write(&self, data: &[u8]) -> SysResult<usize> {
        self.send_to(data, None)
    }

    fn poll(&self) -> Readiness {
        let r = match &*self.state() {
            State::Udp(Some(u)) => u.readiness(),
            State::Udp(None) => spin_net::Readiness {
                writable: true,
                ..Default::default()
            },
            // Linux: an unconnected stream socket polls as writable and hung up.
            State::Idle(_) => spin_net::Readiness {
                writable: true,
                hangup: true,
                ..Default::default()
            },
            State::Listening(l) => l.readiness(),
            State::Stream(s) => s.readiness(),
        };
        Readiness {
            readable: r.readable,
            writable: r.writable,
            hangup: r.hangup,
            error: r.error,
        }
    }

    fn mode(&self) -> u32 {
        S_IFSOCK | 0o777
    }

    fn available(&self) -> usize {
        match &*self.state() {
            State::Udp(Some(u)) => u
                .recv_from(&mut [], true)
                .map(|(_, len, _)| len)
                .unwrap_or(0),
            State::Stream(s) => s.recv_queued(),
            _ => 0,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
