//! The application's side of a connection: the send and receive buffers
//! (with receiver-side silly window avoidance, RFC 1122 §4.2.3.3),
//! shutdown, close and abort, and the readiness a socket reports.

use super::{Conn, Ctx, MAX_BUFFER, MIN_BUFFER};
use crate::socket::{Readiness, SockError};
use crate::tcp::seq::{dist, gt};
use crate::tcp::TcpState;

impl Conn {
    /// Copies into the send buffer; see `TcpStream::send`.
    pub fn send(&mut self, data: &[u8], cx: &mut Ctx<'_>) -> Result<usize, SockError> {
        if self.failed.is_some() || self.fin_queued {
            return Err(SockError::BrokenPipe);
        }
        match self.state {
            TcpState::SynSent | TcpState::SynRcvd => return Err(SockError::InProgress),
            TcpState::Established | TcpState::CloseWait => {}
            TcpState::Closed | TcpState::Listen => return Err(SockError::NotConnected),
            _ => return Err(SockError::BrokenPipe),
        }
        if data.is_empty() {
            return Ok(0);
        }
        let space = self.snd_cap.saturating_sub(self.sndbuf.len());
        if space == 0 {
            return Err(SockError::WouldBlock);
        }
        let n = space.min(data.len());
        self.sndbuf.extend(&data[..n]);
        self.output(cx, false);
        Ok(n)
    }

    /// Copies received bytes; see `TcpStream::recv`.
    pub fn recv(
        &mut self,
        buf: &mut [u8],
        peek: bool,
        cx: &mut Ctx<'_>,
    ) -> Result<usize, SockError> {
        if !self.rcvbuf.is_empty() {
            let n = buf.len().min(self.rcvbuf.len());
            for (d, s) in buf.iter_mut().zip(self.rcvbuf.iter()) {
                *d = *s;
            }
            if !peek {
                let before = self.advertisable();
                self.rcvbuf.drain(..n);
                self.window_update(before, cx);
            }
            return Ok(n);
        }
        if self.fin_rcvd || self.rcv_shut {
            return Ok(0);
        }
        if let Some(e) = self.failed {
            return Err(match e {
                SockError::ConnectionReset => e,
                _ if self.state == TcpState::Closed && !self.was_connected() => {
                    SockError::NotConnected
                }
                _ => e,
            });
        }
        match self.state {
            TcpState::Closed | TcpState::Listen => Err(SockError::NotConnected),
            _ => Err(SockError::WouldBlock),
        }
    }

    fn was_connected(&self) -> bool {
        gt(self.snd_una, self.iss)
    }

    fn advertisable(&self) -> usize {
        self.rcv_cap.saturating_sub(self.rcvbuf.len())
    }

    /// After the application read: tell the peer if the window grew enough
    /// (receiver-side silly window avoidance, RFC 1122 §4.2.3.3).
    fn window_update(&mut self, before: usize, cx: &mut Ctx<'_>) {
        if !self.synchronized() || self.fin_rcvd {
            return;
        }
        let now = self.advertisable();
        let advertised = if gt(self.rcv_adv, self.rcv_nxt) {
            dist(self.rcv_nxt, self.rcv_adv)
        } else {
            0
        };
        let threshold = self.mss.min(self.rcv_cap / 2);
        if now > before && now.saturating_sub(advertised) >= threshold {
            self.send_ack(cx);
        }
    }

    /// Closes the directions `read` / `write`.
    pub fn shutdown(&mut self, read: bool, write: bool, cx: &mut Ctx<'_>) -> Result<(), SockError> {
        if matches!(
            self.state,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent
        ) {
            return Err(SockError::NotConnected);
        }
        if read {
            self.rcv_shut = true;
            self.rcvbuf.clear();
        }
        if write && !self.fin_queued && self.failed.is_none() {
            self.fin_queued = true;
            self.state = match self.state {
                TcpState::Established | TcpState::SynRcvd => TcpState::FinWait1,
                TcpState::CloseWait => TcpState::LastAck,
                s => s,
            };
            self.output(cx, false);
        }
        Ok(())
    }

    /// The socket is gone. Returns false if the connection should be
    /// removed now (nothing left to do), true if it lives on.
    pub fn close(&mut self, cx: &mut Ctx<'_>) -> bool {
        self.orphan = true;
        self.waker = None;
        match self.state {
            TcpState::Closed | TcpState::Listen => false,
            TcpState::SynSent => false,
            _ if !self.rcvbuf.is_empty() => {
                // Unread data: abort with a reset, as Linux does.
                self.send_rst(cx);
                self.state = TcpState::Closed;
                false
            }
            TcpState::TimeWait
            | TcpState::FinWait2
            | TcpState::Closing
            | TcpState::LastAck
            | TcpState::FinWait1 => {
                if self.state == TcpState::FinWait2 && self.close_at.is_none() {
                    self.close_at = Some(cx.now + cx.cfg.fin_wait2_ms);
                }
                true
            }
            TcpState::SynRcvd | TcpState::Established | TcpState::CloseWait => {
                let _ = self.shutdown(false, true, cx);
                true
            }
        }
    }

    /// Aborts with a reset (listener closed before accept, or the engine
    /// is going away).
    pub fn abort(&mut self, cx: &mut Ctx<'_>) {
        if self.state != TcpState::Closed
            && self.state != TcpState::SynSent
            && self.state != TcpState::TimeWait
        {
            self.send_rst(cx);
        }
        self.fail(SockError::ConnectionAborted);
    }

    pub(super) fn fail(&mut self, e: SockError) {
        self.state = TcpState::Closed;
        self.failed = Some(e);
        self.error = Some(e);
        self.rexmit_at = None;
        self.persist_at = None;
        self.delack_at = None;
        self.close_at = None;
    }

    /// SO_ERROR: the pending error, once.
    pub fn take_error(&mut self) -> Option<SockError> {
        self.error.take()
    }

    /// What the socket can do now.
    pub fn readiness(&self) -> Readiness {
        let writable = match self.state {
            TcpState::SynSent | TcpState::SynRcvd => false,
            TcpState::Established | TcpState::CloseWait => {
                self.fin_queued || self.sndbuf.len() < self.snd_cap
            }
            _ => true,
        };
        Readiness {
            readable: !self.rcvbuf.is_empty()
                || self.fin_rcvd
                || self.rcv_shut
                || self.failed.is_some(),
            writable,
            hangup: self.fin_rcvd || self.failed.is_some(),
            error: self.error.is_some(),
        }
    }

    /// Bytes the application can read now.
    pub fn readable_bytes(&self) -> usize {
        self.rcvbuf.len()
    }

    /// Bytes in the send buffer.
    pub fn queued_bytes(&self) -> usize {
        self.sndbuf.len()
    }

    pub fn set_nodelay(&mut self, on: bool, cx: &mut Ctx<'_>) {
        self.nodelay = on;
        if on {
            self.output(cx, false);
        }
    }

    pub fn set_buffer_sizes(&mut self, send: Option<usize>, recv: Option<usize>, cx: &mut Ctx<'_>) {
        if let Some(s) = send {
            self.snd_cap = s.clamp(MIN_BUFFER, MAX_BUFFER);
        }
        if let Some(r) = recv {
            let before = self.advertisable();
            self.rcv_cap = r.clamp(MIN_BUFFER, MAX_BUFFER);
            self.window_update(before, cx);
        }
    }
}
