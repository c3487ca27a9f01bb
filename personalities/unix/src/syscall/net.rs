//! Socket system calls: `AF_INET` stream and datagram sockets on the
//! kernel's shared network stack (see [`crate::socket`]).
//!
//! Guest structures are the same on Alpha and x86-64 (`struct sockaddr_in`,
//! `struct msghdr`, `struct linger`, `struct timeval` — all LP64); option
//! numbers and the `SOCK_*` flags come from the ABI table. A blocking call
//! that would wait parks the thread on the socket's wait key and runs again
//! when the stack says its readiness changed; `O_NONBLOCK` and
//! `MSG_DONTWAIT` make it `EAGAIN` instead.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use spin_fs::{Errno, OpenFile, OpenFlags, SysResult};
use spin_kernel::RegisterFile;

use super::{iovecs, Call, Done, SysFn};
use crate::signal::SigInfo;
use crate::socket::{Socket, SOCK_DGRAM, SOCK_STREAM};

pub(super) fn register<R: RegisterFile>(v: &mut Vec<(&'static str, SysFn<R>)>) {
    v.extend([
        ("socket", sys_socket as SysFn<R>),
        ("socketpair", sys_socketpair),
        ("bind", sys_bind),
        ("listen", sys_listen),
        ("accept", sys_accept),
        ("accept4", sys_accept4),
        ("connect", sys_connect),
        ("sendto", sys_sendto),
        ("send", sys_send),
        ("recvfrom", sys_recvfrom),
        ("recv", sys_recv),
        ("sendmsg", sys_sendmsg),
        ("recvmsg", sys_recvmsg),
        ("shutdown", sys_shutdown),
        ("getsockname", sys_getsockname),
        ("getpeername", sys_getpeername),
        ("setsockopt", sys_setsockopt),
        ("getsockopt", sys_getsockopt),
    ]);
}

const AF_UNSPEC: u16 = 0;
const AF_INET: u16 = 2;
const SOCKADDR_IN_LEN: usize = 16;

const IPPROTO_IP: u64 = 0;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_UDP: u64 = 17;
const IP_TOS: u64 = 1;
const IP_TTL: u64 = 2;
const TCP_NODELAY: u64 = 1;

const MSG_PEEK: u64 = 0x2;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITALL: u64 = 0x100;
const MSG_NOSIGNAL: u64 = 0x4000;

/// Largest single transfer.
const MAX_IO: usize = 1 << 20;

/// The socket behind descriptor `fd` (`ENOTSOCK` for other files).
fn socket_of<R: RegisterFile>(c: &Call<'_, R>, fd: u64) -> SysResult<(Arc<OpenFile>, Arc<Socket>)> {
    let f = c.fd(fd)?;
    let s = socket_in(&f)?;
    Ok((f, s))
}

fn socket_in(f: &Arc<OpenFile>) -> SysResult<Arc<Socket>> {
    let sp = f.special().ok_or(Errno::ENOTSOCK)?;
    Arc::clone(sp)
        .into_any()
        .downcast::<Socket>()
        .map_err(|_| Errno::ENOTSOCK)
}

/// Reads a `struct sockaddr_in` (EINVAL if short, EAFNOSUPPORT if not
/// `AF_INET`; `AF_UNSPEC` gives `None`).
fn read_sockaddr<R: RegisterFile>(
    c: &Call<'_, R>,
    va: u64,
    len: u64,
) -> SysResult<Option<SocketAddrV4>> {
    if len < 2 {
        return Err(Errno::EINVAL);
    }
    let b = c.read_bytes(va, (len as usize).min(SOCKADDR_IN_LEN))?;
    let family = u16::from_le_bytes([b[0], b[1]]);
    if family == AF_UNSPEC {
        return Ok(None);
    }
    if family != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    if b.len() < SOCKADDR_IN_LEN {
        return Err(Errno::EINVAL);
    }
    let port = u16::from_be_bytes([b[2], b[3]]);
    let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
    Ok(Some(SocketAddrV4::new(ip, port)))
}

fn sockaddr_bytes(a: SocketAddrV4) -> [u8; SOCKADDR_IN_LEN] {
    let mut b = [0u8; SOCKADDR_IN_LEN];
    b[0..2].copy_from_slice(&AF_INET.to_le_bytes());
    b[2..4].copy_from_slice(&a.port().to_be_bytes());
    b[4..8].copy_from_slice(&a.ip().octets());
    b
}

/// Writes an address to a `(struct sockaddr *, socklen_t *)` pair: copies
/// at most `*lenp` bytes and stores the full length (Linux semantics).
/// `None` stores length 0.
fn write_sockaddr<R: RegisterFile>(
    c: &Call<'_, R>,
    va: u64,
    lenp: u64,
    a: Option<SocketAddrV4>,
) -> SysResult<()> {
    if va == 0 || lenp == 0 {
        return Ok(());
    }
    let cap = c.read_u32(lenp)? as i32;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let Some(a) = a else {
        return c.write_u32(lenp, 0);
    };
    let b = sockaddr_bytes(a);
    let n = (cap as usize).min(b.len());
    c.write_bytes(va, &b[..n])?;
    c.write_u32(lenp, SOCKADDR_IN_LEN as u32)
}

/// Makes a description for `sock`, wires the stack's waker to its wait
/// key and installs it as a descriptor.
fn install<R: RegisterFile>(c: &mut Call<'_, R>, sock: Socket, flags: u64) -> SysResult<i32> {
    let sb = c.m.abi.sock;
    let sock = Arc::new(sock);
    let f = c.m.vfs.open_special(sock.clone(), OpenFlags::read_write());
    if flags & sb.SOCK_NONBLOCK != 0 {
        f.set_nonblock(true);
    }
    let key = f.wait_key();
    let wake = c.m.wake_fn.clone();
    sock.set_waker(Arc::new(move || wake(key)));
    c.proc_mut().fds.insert(f, flags & sb.SOCK_CLOEXEC != 0)
}

fn sys_socket<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (domain, ty, proto) = (c.arg(0), c.arg(1), c.arg(2));
    let sb = c.m.abi.sock;
    let kind = ty & !(sb.SOCK_NONBLOCK | sb.SOCK_CLOEXEC);
    if domain != u64::from(AF_INET) {
        return Err(Errno::EAFNOSUPPORT);
    }
    match (kind, proto) {
        (SOCK_STREAM, 0 | IPPROTO_TCP) | (SOCK_DGRAM, 0 | IPPROTO_UDP) => {}
        (SOCK_STREAM | SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        (3, _) => return Err(Errno::EPERM), // SOCK_RAW needs privileges we don't grant
        _ => return Err(Errno::EINVAL),
    }
    let net = c.m.cfg.net.clone().ok_or(Errno::EAFNOSUPPORT)?;
    let fd = install(c, Socket::new(net, kind), ty)?;
    Ok(Done::Val(fd as u64))
}

/// `socketpair`: only `AF_UNIX` has pairs, and the mound has no UNIX-domain
/// sockets.
fn sys_socketpair<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    if c.arg(0) == u64::from(AF_INET) {
        return Err(Errno::EOPNOTSUPP);
    }
    Err(Errno::EAFNOSUPPORT)
}

fn sys_bind<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    let a = read_sockaddr(c, c.arg(1), c.arg(2))?.ok_or(Errno::EAFNOSUPPORT)?;
    s.bind(a)?;
    s.apply_options();
    Ok(Done::Val(0))
}

fn sys_listen<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    let backlog = (c.arg(1) as i32).max(0) as usize;
    s.listen(backlog)?;
    Ok(Done::Val(0))
}

fn sys_accept<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    accept_common(c, 0)
}

fn sys_accept4<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let flags = c.arg(3);
    let sb = c.m.abi.sock;
    if flags & !(sb.SOCK_NONBLOCK | sb.SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    accept_common(c, flags)
}

fn accept_common<R: RegisterFile>(c: &mut Call<'_, R>, flags: u64) -> SysResult<Done> {
    let (f, s) = socket_of(c, c.arg(0))?;
    let (addr_va, len_va) = (c.arg(1), c.arg(2));
    if addr_va != 0 {
        // A bad address buffer must fail before a connection is taken.
        c.probe_writable(len_va, 4)?;
    }
    let stream = match s.accept() {
        Ok(st) => st,
        Err(Errno::EAGAIN) => return wait_or_eagain(c, &f, false),
        Err(e) => return Err(e),
    };
    let peer = stream.peer_addr();
    let net = c.m.cfg.net.clone().ok_or(Errno::EAFNOSUPPORT)?;
    let new = Socket::accepted(net, stream);
    *new.opts() = s.opts().clone();
    new.apply_options();
    let fd = install(c, new, flags)?;
    write_sockaddr(c, addr_va, len_va, Some(peer))?;
    Ok(Done::Val(fd as u64))
}

/// Would-block: `EAGAIN` for a non-blocking description (or `MSG_DONTWAIT`),
/// else the thread waits on the socket (`EINTR` if a signal is pending).
fn wait_or_eagain<R: RegisterFile>(
    c: &mut Call<'_, R>,
    f: &Arc<OpenFile>,
    dontwait: bool,
) -> SysResult<Done> {
    if dontwait || f.flags().nonblock {
        return Err(Errno::EAGAIN);
    }
    c.block_on(f.wait_key())
}

/// Waits with the socket's `SO_RCVTIMEO`/`SO_SNDTIMEO` (0: forever);
/// `EAGAIN` when it runs out.
fn wait_timed<R: RegisterFile>(
    c: &mut Call<'_, R>,
    f: &Arc<OpenFile>,
    dontwait: bool,
    timeout: u64,
) -> SysResult<Done> {
    if dontwait || f.flags().nonblock {
        return Err(Errno::EAGAIN);
    }
    if timeout == 0 {
        return c.block_on(f.wait_key());
    }
    match c.block_until(Some(f.wait_key()), timeout, true)? {
        Some(d) => Ok(d),
        None => Err(Errno::EAGAIN),
    }
}

fn sys_connect<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (f, s) = socket_of(c, c.arg(0))?;
    let tid = c.tid;
    // The re-run of a blocking connect that waited for the handshake.
    let waiting = *s.connecting.lock().unwrap_or_else(|e| e.into_inner()) == Some(tid);
    if waiting {
        return connect_wait(c, &f, &s);
    }
    let peer = read_sockaddr(c, c.arg(1), c.arg(2))?;
    let in_progress = s.connect(peer)?;
    s.apply_options();
    if !in_progress {
        return Ok(Done::Val(0));
    }
    if f.flags().nonblock {
        s.pending_connect
            .store(true, std::sync::atomic::Ordering::Release);
        return Err(Errno::EINPROGRESS);
    }
    *s.connecting.lock().unwrap_or_else(|e| e.into_inner()) = Some(tid);
    connect_wait(c, &f, &s)
}

fn connect_wait<R: RegisterFile>(
    c: &mut Call<'_, R>,
    f: &Arc<OpenFile>,
    s: &Arc<Socket>,
) -> SysResult<Done> {
    let done = |s: &Socket| *s.connecting.lock().unwrap_or_else(|e| e.into_inner()) = None;
    match s.connect_status() {
        Ok(true) => {
            done(s);
            Ok(Done::Val(0))
        }
        Ok(false) => {
            if c.signal_pending() {
                // The handshake goes on; a later connect says EALREADY
                // or reports how it ended.
                done(s);
                s.pending_connect
                    .store(true, std::sync::atomic::Ordering::Release);
                return Err(Errno::EINTR);
            }
            c.block_on(f.wait_key())
        }
        Err(e) => {
            done(s);
            Err(e)
        }
    }
}

/// Gathers the guest's iovecs into one buffer (at most `MAX_IO` bytes).
fn gather<R: RegisterFile>(c: &Call<'_, R>, iov: &[(u64, u64)]) -> SysResult<Vec<u8>> {
    let mut data = Vec::new();
    for &(base, len) in iov {
        let take = (len as usize).min(MAX_IO - data.len());
        data.extend(c.read_bytes(base, take)?);
        if data.len() >= MAX_IO {
            break;
        }
    }
    Ok(data)
}

/// The common send path: `data` to `dst` (or the connected peer).
fn send_common<R: RegisterFile>(
    c: &mut Call<'_, R>,
    fd: u64,
    data: &[u8],
    dst: Option<SocketAddrV4>,
    flags: u64,
) -> SysResult<Done> {
    let (f, s) = socket_of(c, fd)?;
    let dst = if s.kind() == SOCK_STREAM { None } else { dst };
    match s.send_to(data, dst) {
        Ok(n) => Ok(Done::Val(n as u64)),
        Err(Errno::EAGAIN) => {
            let t = s.opts().sndtimeo;
            wait_timed(c, &f, flags & MSG_DONTWAIT != 0, t)
        }
        Err(Errno::EPIPE) => {
            if flags & MSG_NOSIGNAL == 0 {
                let (pid, uid, tid) = (c.pid, c.m.cfg.uid, c.tid);
                c.m.signal_thread(tid, SigInfo::user(c.m.abi.signo.SIGPIPE, pid, uid), c.host);
            }
            Err(Errno::EPIPE)
        }
        Err(e) => Err(e),
    }
}

fn sys_sendto<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let len = (c.arg(2) as usize).min(MAX_IO);
    let data = c.read_bytes(c.arg(1), len)?;
    let dst = if c.arg(4) != 0 {
        read_sockaddr(c, c.arg(4), c.arg(5))?
    } else {
        None
    };
    send_common(c, c.arg(0), &data, dst, c.arg(3))
}

fn sys_send<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let len = (c.arg(2) as usize).min(MAX_IO);
    let data = c.read_bytes(c.arg(1), len)?;
    send_common(c, c.arg(0), &data, None, c.arg(3))
}

/// What a receive got: the bytes for the guest, the datagram's length,
/// its source.
type Received = (Vec<u8>, usize, Option<SocketAddrV4>);

/// The common receive path: fills `len` bytes; returns (bytes for the
/// guest, datagram length, source).
fn recv_common<R: RegisterFile>(
    c: &mut Call<'_, R>,
    fd: u64,
    len: usize,
    flags: u64,
) -> SysResult<Result<Received, Done>> {
    let (f, s) = socket_of(c, fd)?;
    let mut buf = vec![0u8; len.min(MAX_IO)];
    match s.recv_from(&mut buf, flags & MSG_PEEK != 0) {
        Ok((n, full, src)) => {
            buf.truncate(n);
            Ok(Ok((buf, full, src)))
        }
        Err(Errno::EAGAIN) => {
            if c.signal_pending() && !f.flags().nonblock && flags & MSG_DONTWAIT == 0 {
                return Err(Errno::EINTR);
            }
            let t = s.opts().rcvtimeo;
            wait_timed(c, &f, flags & MSG_DONTWAIT != 0, t).map(Err)
        }
        Err(e) => Err(e),
    }
}

fn sys_recvfrom<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (buf_va, len, flags) = (c.arg(1), c.arg(2) as usize, c.arg(3));
    let (addr_va, len_va) = (c.arg(4), c.arg(5));
    c.probe_writable(buf_va, len.min(MAX_IO))?;
    let (data, full, src) = match recv_common(c, c.arg(0), len, flags & !MSG_WAITALL)? {
        Ok(r) => r,
        Err(d) => return Ok(d),
    };
    c.write_bytes(buf_va, &data)?;
    write_sockaddr(c, addr_va, len_va, src)?;
    let n = if flags & MSG_TRUNC != 0 {
        full
    } else {
        data.len()
    };
    Ok(Done::Val(n as u64))
}

fn sys_recv<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (buf_va, len, flags) = (c.arg(1), c.arg(2) as usize, c.arg(3));
    c.probe_writable(buf_va, len.min(MAX_IO))?;
    let (data, full, _) = match recv_common(c, c.arg(0), len, flags & !MSG_WAITALL)? {
        Ok(r) => r,
        Err(d) => return Ok(d),
    };
    c.write_bytes(buf_va, &data)?;
    let n = if flags & MSG_TRUNC != 0 {
        full
    } else {
        data.len()
    };
    Ok(Done::Val(n as u64))
}

/// `struct msghdr` (LP64: 56 bytes).
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

const MSGHDR_LEN: usize = 56;

fn read_msghdr<R: RegisterFile>(c: &Call<'_, R>, va: u64) -> SysResult<MsgHdr> {
    let b = c.read_bytes(va, MSGHDR_LEN)?;
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    Ok(MsgHdr {
        name: u64_at(0),
        namelen: u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
        iov: u64_at(16),
        iovlen: u64_at(24),
        control: u64_at(32),
        controllen: u64_at(40),
    })
}

fn sys_sendmsg<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let m = read_msghdr(c, c.arg(1))?;
    let dst = if m.name != 0 && m.namelen != 0 {
        read_sockaddr(c, m.name, u64::from(m.namelen))?
    } else {
        None
    };
    let iov = iovecs(c, m.iov, m.iovlen)?;
    let data = gather(c, &iov)?;
    let _ = (m.control, m.controllen); // ancillary data is not supported; ignored as on a plain socket
    send_common(c, c.arg(0), &data, dst, c.arg(2))
}

fn sys_recvmsg<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let hdr_va = c.arg(1);
    let flags = c.arg(2);
    let m = read_msghdr(c, hdr_va)?;
    let iov = iovecs(c, m.iov, m.iovlen)?;
    let total: usize = iov
        .iter()
        .map(|&(_, l)| l as usize)
        .sum::<usize>()
        .min(MAX_IO);
    for &(base, len) in &iov {
        c.probe_writable(base, (len as usize).min(MAX_IO))?;
    }
    let (data, full, src) = match recv_common(c, c.arg(0), total, flags & !MSG_WAITALL)? {
        Ok(r) => r,
        Err(d) => return Ok(d),
    };
    let mut off = 0usize;
    for &(base, len) in &iov {
        if off >= data.len() {
            break;
        }
        let n = (len as usize).min(data.len() - off);
        c.write_bytes(base, &data[off..off + n])?;
        off += n;
    }
    // msg_namelen, msg_controllen (no ancillary data), msg_flags.
    if m.name != 0 {
        match src {
            Some(a) => {
                let b = sockaddr_bytes(a);
                let n = (m.namelen as usize).min(b.len());
                c.write_bytes(m.name, &b[..n])?;
                c.write_u32(hdr_va + 8, SOCKADDR_IN_LEN as u32)?;
            }
            None => c.write_u32(hdr_va + 8, 0)?,
        }
    }
    c.write_u64(hdr_va + 40, 0)?;
    let mflags = if full > data.len() { MSG_TRUNC } else { 0 };
    c.write_u32(hdr_va + 48, mflags as u32)?;
    let n = if flags & MSG_TRUNC != 0 {
        full
    } else {
        data.len()
    };
    Ok(Done::Val(n as u64))
}

fn sys_shutdown<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    let how = match c.arg(1) {
        0 => spin_net::Shutdown::Read,
        1 => spin_net::Shutdown::Write,
        2 => spin_net::Shutdown::Both,
        _ => return Err(Errno::EINVAL),
    };
    s.shutdown(how)?;
    Ok(Done::Val(0))
}

fn sys_getsockname<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    if c.arg(1) == 0 || c.arg(2) == 0 {
        return Err(Errno::EFAULT);
    }
    write_sockaddr(c, c.arg(1), c.arg(2), Some(s.local_addr()))?;
    Ok(Done::Val(0))
}

fn sys_getpeername<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    let peer = s.peer_addr()?;
    if c.arg(1) == 0 || c.arg(2) == 0 {
        return Err(Errno::EFAULT);
    }
    write_sockaddr(c, c.arg(1), c.arg(2), Some(peer))?;
    Ok(Done::Val(0))
}

/// Reads an `int` option value.
fn opt_int<R: RegisterFile>(c: &Call<'_, R>, va: u64, len: u64) -> SysResult<i32> {
    if len < 4 {
        return Err(Errno::EINVAL);
    }
    Ok(c.read_u32(va)? as i32)
}

/// Reads a `struct timeval` option as ns.
fn opt_timeval<R: RegisterFile>(c: &Call<'_, R>, va: u64, len: u64) -> SysResult<u64> {
    if len < 16 {
        return Err(Errno::EINVAL);
    }
    let b = c.read_bytes(va, 16)?;
    let s = i64::from_le_bytes(b[0..8].try_into().expect("8 bytes"));
    let us = i64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    if !(0..1_000_000).contains(&us) {
        return Err(Errno::EDOM);
    }
    if s < 0 {
        return Ok(0);
    }
    Ok((s as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(us as u64 * 1000))
}

fn sys_setsockopt<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    let (level, name, va, len) = (c.arg(1), c.arg(2), c.arg(3), c.arg(4));
    let sb = c.m.abi.sock;
    if level == sb.SOL_SOCKET {
        if name == sb.SO_RCVTIMEO || name == sb.SO_SNDTIMEO {
            let t = opt_timeval(c, va, len)?;
            let mut o = s.opts();
            if name == sb.SO_RCVTIMEO {
                o.rcvtimeo = t;
            } else {
                o.sndtimeo = t;
            }
            return Ok(Done::Val(0));
        }
        if name == sb.SO_LINGER {
            if len < 8 {
                return Err(Errno::EINVAL);
            }
            let on = c.read_u32(va)? != 0;
            let secs = c.read_u32(va + 4)?;
            s.opts().linger = (on, secs);
            return Ok(Done::Val(0));
        }
        let v = opt_int(c, va, len)?;
        {
            let mut o = s.opts();
            match name {
                n if n == sb.SO_REUSEADDR => o.reuseaddr = v != 0,
                n if n == sb.SO_REUSEPORT => o.reuseport = v != 0,
                n if n == sb.SO_KEEPALIVE => o.keepalive = v != 0,
                n if n == sb.SO_BROADCAST => o.broadcast = v != 0,
                n if n == sb.SO_SNDBUF => o.sndbuf = Some((v.max(0) as usize).clamp(2048, 4 << 20)),
                n if n == sb.SO_RCVBUF => o.rcvbuf = Some((v.max(0) as usize).clamp(2048, 4 << 20)),
                _ => return Err(Errno::ENOPROTOOPT),
            }
        }
        s.apply_options();
        return Ok(Done::Val(0));
    }
    match (level, name) {
        (IPPROTO_TCP, TCP_NODELAY) if s.kind() == SOCK_STREAM => {
            let v = opt_int(c, va, len)?;
            s.opts().nodelay = v != 0;
            s.apply_options();
        }
        (IPPROTO_TCP, _) if s.kind() == SOCK_STREAM => {
            // TCP_KEEPIDLE, TCP_KEEPINTVL, … are accepted and have no effect.
            opt_int(c, va, len)?;
        }
        (IPPROTO_IP, IP_TOS) => s.opts().tos = opt_int(c, va, len)? as u8,
        (IPPROTO_IP, IP_TTL) => {
            let v = opt_int(c, va, len)?;
            if !(-1..=255).contains(&v) || v == 0 {
                return Err(Errno::EINVAL);
            }
            s.opts().ttl = if v < 0 { 0 } else { v as u8 };
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(Done::Val(0))
}

fn sys_getsockopt<R: RegisterFile>(c: &mut Call<'_, R>) -> SysResult<Done> {
    let (_, s) = socket_of(c, c.arg(0))?;
    let (level, name, va, lenp) = (c.arg(1), c.arg(2), c.arg(3), c.arg(4));
    let sb = c.m.abi.sock;
    let cap = c.read_u32(lenp)? as i32;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let o = s.opts().clone();
    let value: Vec<u8> = if level == sb.SOL_SOCKET {
        let int = |v: i64| (v as i32).to_le_bytes().to_vec();
        let tv = |ns: u64| {
            let mut b = Vec::with_capacity(16);
            b.extend(((ns / 1_000_000_000) as i64).to_le_bytes());
            b.extend((((ns % 1_000_000_000) / 1000) as i64).to_le_bytes());
            b
        };
        match name {
            n if n == sb.SO_TYPE => int(s.kind() as i64),
            n if n == sb.SO_ERROR => {
                int(s.take_error().map_or(0, |e| c.m.abi.errno_value(e) as i64))
            }
            n if n == sb.SO_REUSEADDR => int(o.reuseaddr as i64),
            n if n == sb.SO_REUSEPORT => int(o.reuseport as i64),
            n if n == sb.SO_KEEPALIVE => int(o.keepalive as i64),
            n if n == sb.SO_BROADCAST => int(o.broadcast as i64),
            n if n == sb.SO_ACCEPTCONN => int(s.is_listening() as i64),
            n if n == sb.SO_DOMAIN => int(i64::from(AF_INET)),
            n if n == sb.SO_PROTOCOL => int(if s.kind() == SOCK_STREAM { 6 } else { 17 }),
            n if n == sb.SO_SNDBUF => int(o.sndbuf.map_or(16384, |v| v * 2) as i64),
            n if n == sb.SO_RCVBUF => int(o.rcvbuf.map_or(131072, |v| v * 2) as i64),
            n if n == sb.SO_RCVTIMEO => tv(o.rcvtimeo),
            n if n == sb.SO_SNDTIMEO => tv(o.sndtimeo),
            n if n == sb.SO_LINGER => {
                let mut b = (o.linger.0 as i32).to_le_bytes().to_vec();
                b.extend((o.linger.1 as i32).to_le_bytes());
                b
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
    } else {
        match (level, name) {
            (IPPROTO_TCP, TCP_NODELAY) if s.kind() == SOCK_STREAM => {
                (o.nodelay as i32).to_le_bytes().to_vec()
            }
            (IPPROTO_IP, IP_TOS) => i32::from(o.tos).to_le_bytes().to_vec(),
            (IPPROTO_IP, IP_TTL) => {
                let ttl = if o.ttl == 0 { 64 } else { i32::from(o.ttl) };
                ttl.to_le_bytes().to_vec()
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
    };
    let n = (cap as usize).min(value.len());
    c.write_bytes(va, &value[..n])?;
    c.write_u32(lenp, n as u32)?;
    Ok(Done::Val(0))
}
