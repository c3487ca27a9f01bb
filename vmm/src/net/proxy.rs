//! A TCP splice between a host socket and a connection of the gateway
//! stack: bytes both ways through bounded buffers, a half-close carried
//! over as a half-close (FIN after the data), a reset as a reset.
//!
//! Used by the user-mode gateway for `hostfwd` (a host client accepted on
//! 127.0.0.1, spliced to a connection the gateway opens to the stack) and
//! `guestfwd` (a connection the stack opened to the gateway, spliced to a
//! host socket connected to 127.0.0.1). It runs on the pump's thread: the
//! host side is read only when epoll reports it readable and written when
//! writable; the stack side is in memory and tried on every pass.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown as HostShutdown, TcpStream as HostStream};
use std::os::unix::io::AsRawFd;

use spin_net::{Shutdown, SockError, TcpStream};

use super::pump::Registry;

/// Bytes buffered each way.
const BUF: usize = 64 * 1024;

/// Sets SO_LINGER {on, 0}: closing the socket then sends a reset.
fn linger_zero(s: &HostStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `s` is an open socket; SO_LINGER takes a `struct linger`,
    // passed by pointer with its exact size, read by the kernel only.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// How a splice ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Both sides closed after their data.
    Closed,
    /// One side reset (or was refused / timed out); the other was reset.
    Reset,
}

/// One spliced connection.
pub struct Splice {
    host: HostStream,
    token: u64,
    guest: TcpStream,
    /// Host → stack bytes not yet taken by the stack.
    to_guest: Vec<u8>,
    /// Stack → host bytes not yet written to the host socket.
    to_host: Vec<u8>,
    host_eof: bool,
    guest_eof: bool,
    guest_shut: bool,
    host_shut: bool,
    /// What the pump waits for on the host socket now (readable, writable).
    interest: (bool, bool),
    /// Bytes moved (host → stack, stack → host).
    pub moved: (u64, u64),
}

impl Splice {
    /// Splices `host` (made non-blocking here) and `guest`, registering the
    /// host socket.
    pub fn new(
        host: HostStream,
        guest: TcpStream,
        reg: &mut Registry<'_>,
    ) -> std::io::Result<Splice> {
        host.set_nonblocking(true)?;
        let _ = host.set_nodelay(true);
        guest.set_nodelay(true);
        let token = reg.add(host.as_raw_fd(), false)?;
        Ok(Splice {
            host,
            token,
            guest,
            to_guest: Vec::new(),
            to_host: Vec::new(),
            host_eof: false,
            guest_eof: false,
            guest_shut: false,
            host_shut: false,
            interest: (true, false),
            moved: (0, 0),
        })
    }

    /// Whether the host is still owed bytes or the end of the stream: data
    /// buffered or queued in the gateway's connection, or the guest's FIN
    /// not yet passed on.
    pub fn owes_host(&self) -> bool {
        !self.host_shut
            && (!self.to_host.is_empty()
                || self.guest.recv_queued() > 0
                || self.guest_eof
                || self.guest.readiness().hangup)
    }

    /// Unregisters the host socket (before it is dropped).
    pub fn close(&self, reg: &mut Registry<'_>) {
        reg.remove(self.host.as_raw_fd());
    }

    /// Ends both sides with a reset: the host socket by SO_LINGER 0, the
    /// stack's connection by an abort (the guest sees ECONNRESET, not an
    /// orderly end of stream).
    fn reset(&mut self) -> Ended {
        linger_zero(&self.host);
        self.guest.abort();
        Ended::Reset
    }

    /// Moves what can move; returns the work done and, once the splice is
    /// over, how it ended.
    pub fn service(&mut self, reg: &mut Registry<'_>, ready: &[u64]) -> (usize, Option<Ended>) {
        let mut work = 0;
        let host_ready = ready.contains(&self.token);
        // A refused or timed-out connection to the stack.
        if self.guest.take_error().is_some() {
            return (1, Some(self.reset()));
        }
        // Host → buffer.
        if host_ready && !self.host_eof && self.to_guest.len() < BUF {
            let mut buf = [0u8; 16 * 1024];
            let room = (BUF - self.to_guest.len()).min(buf.len());
            match self.host.read(&mut buf[..room]) {
                Ok(0) => {
                    self.host_eof = true;
                    work += 1;
                }
                Ok(n) => {
                    self.to_guest.extend_from_slice(&buf[..n]);
                    work += 1;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(_) => return (1, Some(self.reset())),
            }
        }
        // Buffer → stack.
        if !self.to_guest.is_empty() {
            match self.guest.send(&self.to_guest) {
                Ok(n) if n > 0 => {
                    self.to_guest.drain(..n);
                    self.moved.0 += n as u64;
                    work += 1;
                }
                Ok(_) => {}
                Err(SockError::WouldBlock | SockError::InProgress | SockError::NotConnected) => {}
                Err(_) => return (1, Some(self.reset())),
            }
        }
        if self.host_eof && self.to_guest.is_empty() && !self.guest_shut {
            match self.guest.shutdown(Shutdown::Write) {
                Ok(()) => {
                    self.guest_shut = true;
                    work += 1;
                }
                // Not yet established: the FIN waits for the handshake.
                Err(SockError::InProgress | SockError::NotConnected) => {}
                Err(_) => {
                    self.guest_shut = true;
                }
            }
        }
        // Stack → buffer.
        if !self.guest_eof && self.to_host.len() < BUF {
            let mut buf = [0u8; 16 * 1024];
            let room = (BUF - self.to_host.len()).min(buf.len());
            match self.guest.recv(&mut buf[..room], false) {
                Ok(0) => {
                    self.guest_eof = true;
                    work += 1;
                }
                Ok(n) => {
                    self.to_host.extend_from_slice(&buf[..n]);
                    work += 1;
                }
                Err(SockError::WouldBlock | SockError::InProgress | SockError::NotConnected) => {}
                Err(_) => return (1, Some(self.reset())),
            }
        }
        // Buffer → host (when the socket was writable last time, or is now).
        if !self.to_host.is_empty() && (!self.interest.1 || host_ready) {
            match self.host.write(&self.to_host) {
                Ok(n) => {
                    self.to_host.drain(..n);
                    self.moved.1 += n as u64;
                    work += 1;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(_) => return (1, Some(self.reset())),
            }
        }
        if self.guest_eof && self.to_host.is_empty() && !self.host_shut {
            let _ = self.host.shutdown(HostShutdown::Write);
            self.host_shut = true;
            work += 1;
        }
        // What to wait for: readable while there is room and no EOF (EOF
        // and a full buffer stay "readable" forever in a level-triggered
        // set); writable while bytes wait for the host.
        let want = (
            !self.host_eof && self.to_guest.len() < BUF,
            !self.to_host.is_empty(),
        );
        if want != self.interest {
            let _ = reg.modify(self.host.as_raw_fd(), self.token, want.0, want.1);
            self.interest = want;
        }
        let done = self.host_eof
            && self.guest_eof
            && self.guest_shut
            && self.host_shut
            && self.to_guest.is_empty()
            && self.to_host.is_empty();
        (work, done.then_some(Ended::Closed))
    }
}
