//! One connection's state machine (RFC 9293's "segment arrives", with RFC
//! 5961's reset and SYN checks, RFC 6298's retransmission timer, RFC 5681 /
//! 6582 congestion control with NewReno recovery, RFC 7323 window scaling,
//! RFC 1122 delayed ACKs and Nagle, RFC 9293's zero-window probing).
//!
//! A connection never sends by itself: every segment it makes goes into the
//! caller's [`Ctx::out`], sent after the engine's lock is released.

use std::collections::VecDeque;
use std::net::SocketAddrV4;

use super::seq::{dist, ge, gt, le, lt};
use super::{TcpConfig, TcpState};
use crate::events::TcpArrived;
use crate::socket::{Readiness, SockError, Waker};
use crate::telemetry::{DropReason, TcpCounters};
use crate::wire::tcp::{flags, TcpRepr};

/// A segment to send: `(from, to, TCP bytes)`.
pub(crate) type Seg = (SocketAddrV4, SocketAddrV4, Vec<u8>);

/// What a connection needs from the engine while it works.
pub(crate) struct Ctx<'a> {
    /// The stack's clock, ms.
    pub now: u64,
    /// Limits and timers.
    pub cfg: &'a TcpConfig,
    /// Segments to send once the lock is released.
    pub out: &'a mut Vec<Seg>,
    /// The engine's counters.
    pub stats: &'a TcpCounters,
    /// Drops to count at the TCP layer.
    pub drops: &'a mut Vec<DropReason>,
}

impl Ctx<'_> {
    fn drop(&mut self, r: DropReason) {
        self.drops.push(r);
    }
}

/// Our window shift: a fixed 7 (as Linux), enough for the largest buffer
/// `set_buffer_sizes` allows.
pub(crate) const OUR_WSCALE: u8 = 7;

/// Largest buffer `set_buffer_sizes` accepts, bytes.
pub(crate) const MAX_BUFFER: usize = 8 << 20;

/// Smallest buffer, bytes.
pub(crate) const MIN_BUFFER: usize = 2048;

/// Least time between two ACKs answering invalid segments, ms.
pub(crate) const INVALID_ACK_INTERVAL_MS: u64 = 500;

/// Longest persist (zero-window probe) interval, ms.
const PERSIST_MAX_MS: u64 = 60_000;

/// One TCP connection.
pub(crate) struct Conn {
    pub state: TcpState,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// The listener's port while the connection waits to be accepted.
    pub parent: Option<u16>,
    /// The socket was closed; the connection finishes on its own.
    pub orphan: bool,
    /// Set when SYN_RCVD became ESTABLISHED (the engine queues it for accept).
    pub just_established: bool,
    /// Came from a listener and was accepted (shares the listener's port).
    pub accepted: bool,

    // Send side.
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    /// Highest sequence number sent, plus one.
    snd_max: u32,
    /// Peer's window, bytes (scaled).
    snd_wnd: usize,
    snd_wl1: u32,
    snd_wl2: u32,
    snd_shift: u8,
    rcv_shift: u8,
    /// Bytes from `snd_una` on: unacknowledged, then unsent.
    sndbuf: VecDeque<u8>,
    snd_cap: usize,
    /// The application closed its sending side: a FIN follows the buffer.
    fin_queued: bool,
    /// Our FIN has been acknowledged.
    fin_was_acked: bool,

    // Receive side.
    rcv_nxt: u32,
    /// Right edge of the window we advertised.
    rcv_adv: u32,
    rcvbuf: VecDeque<u8>,
    rcv_cap: usize,
    /// Segments beyond a hole: `(seq, data)`.
    ooo: Vec<(u32, Vec<u8>)>,
    /// Sequence number of a FIN seen beyond a hole.
    ooo_fin: Option<u32>,
    fin_rcvd: bool,
    rcv_shut: bool,

    // Timers (ms on the stack's clock).
    rto: u64,
    srtt: Option<(u64, u64)>,
    rtt_sample: Option<(u32, u64)>,
    rexmit_at: Option<u64>,
    retries: u32,
    persist_at: Option<u64>,
    persist_backoff: u32,
    delack_at: Option<u64>,
    unacked_segs: u32,
    close_at: Option<u64>,
    last_invalid_ack: Option<u64>,

    // Congestion control.
    mss: usize,
    cwnd: usize,
    ssthresh: usize,
    dupacks: u32,
    recover: u32,
    in_recovery: bool,
    nodelay: bool,

    // What the socket sees.
    error: Option<SockError>,
    /// Reset, aborted or timed out: a hard failure.
    failed: Option<SockError>,
    pub waker: Option<Waker>,
}

impl Conn {
    /// Whether it still has bytes or a FIN to deliver (a closed socket's
    /// connection draining its send buffer).
    pub(super) fn delivering(&self) -> bool {
        !matches!(self.state, TcpState::Closed | TcpState::TimeWait)
            && (!self.sndbuf.is_empty() || (self.fin_queued && !self.fin_was_acked))
    }

    fn new(
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: u32,
        cfg: &TcpConfig,
        mss: usize,
    ) -> Conn {
        Conn {
            state: TcpState::Closed,
            local,
            remote,
            parent: None,
            orphan: false,
            just_established: false,
            accepted: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            snd_shift: 0,
            rcv_shift: 0,
            sndbuf: VecDeque::new(),
            snd_cap: cfg.send_buffer.clamp(MIN_BUFFER, MAX_BUFFER),
            fin_queued: false,
            fin_was_acked: false,
            rcv_nxt: 0,
            rcv_adv: 0,
            rcvbuf: VecDeque::new(),
            rcv_cap: cfg.recv_buffer.clamp(MIN_BUFFER, MAX_BUFFER),
            ooo: Vec::new(),
            ooo_fin: None,
            fin_rcvd: false,
            rcv_shut: false,
            rto: cfg.rto_initial_ms,
            srtt: None,
            rtt_sample: None,
            rexmit_at: None,
            retries: 0,
            persist_at: None,
            persist_backoff: 0,
            delack_at: None,
            unacked_segs: 0,
            close_at: None,
            last_invalid_ack: None,
            mss,
            cwnd: mss,
            ssthresh: usize::MAX,
            dupacks: 0,
            recover: iss,
            in_recovery: false,
            nodelay: false,
            error: None,
            failed: None,
            waker: None,
        }
    }

    /// An active open: sends the SYN.
    pub fn connect(
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: u32,
        mss: usize,
        cx: &mut Ctx<'_>,
    ) -> Conn {
        let mut c = Conn::new(local, remote, iss, cx.cfg, mss);
        c.state = TcpState::SynSent;
        c.snd_nxt = iss.wrapping_add(1);
        c.snd_max = c.snd_nxt;
        c.send_syn(cx);
        c.rtt_sample = Some((c.snd_nxt, cx.now));
        c.rexmit_at = Some(cx.now + c.rto);
        c
    }

    /// A passive open: a SYN reached a listener; answers with SYN-ACK.
    pub fn accept_syn(
        local: SocketAddrV4,
        seg: &TcpArrived,
        iss: u32,
        mss: usize,
        parent: u16,
        cx: &mut Ctx<'_>,
    ) -> Conn {
        let mut c = Conn::new(local, seg.src, iss, cx.cfg, mss);
        c.parent = Some(parent);
        c.take_syn(&seg.repr);
        c.state = TcpState::SynRcvd;
        c.snd_nxt = iss.wrapping_add(1);
        c.snd_max = c.snd_nxt;
        c.send_syn(cx);
        c.rtt_sample = Some((c.snd_nxt, cx.now));
        c.rexmit_at = Some(cx.now + c.rto);
        c
    }

    /// Learns the peer's initial sequence number and options.
    fn take_syn(&mut self, r: &TcpRepr) {
        self.rcv_nxt = r.seq.wrapping_add(1);
        self.rcv_adv = self.rcv_nxt;
        if let Some(m) = r.mss {
            self.mss = self.mss.min(usize::from(m).max(64));
        } else {
            self.mss = self.mss.min(536);
        }
        match r.wscale {
            Some(s) => {
                self.snd_shift = s;
                self.rcv_shift = OUR_WSCALE;
            }
            None => {
                self.snd_shift = 0;
                self.rcv_shift = 0;
            }
        }
        // The window in a SYN is never scaled.
        self.snd_wnd = usize::from(r.window);
        self.snd_wl1 = r.seq;
        self.cwnd = self.mss * 10;
    }

    /// SYN (active) or SYN-ACK (passive), with our options.
    fn send_syn(&mut self, cx: &mut Ctx<'_>) {
        let synack = self.state == TcpState::SynRcvd;
        let wscale = if synack {
            (self.rcv_shift != 0).then_some(OUR_WSCALE)
        } else {
            Some(OUR_WSCALE)
        };
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: self.iss,
            ack: if synack { self.rcv_nxt } else { 0 },
            flags: flags::SYN | if synack { flags::ACK } else { 0 },
            window: self.rcv_cap.min(65535) as u16,
            mss: Some(self.mss.min(65535) as u16),
            wscale,
        };
        if synack {
            self.rcv_adv = self.rcv_nxt.wrapping_add(u32::from(repr.window));
        }
        self.emit(cx, repr, &[]);
    }

    fn emit(&mut self, cx: &mut Ctx<'_>, repr: TcpRepr, payload: &[u8]) {
        let mut b = Vec::with_capacity(repr.header_len() + payload.len());
        if repr
            .emit(&mut b, *self.local.ip(), *self.remote.ip(), payload)
            .is_ok()
        {
            TcpCounters::bump(&cx.stats.segments_out);
            if repr.flags & flags::RST != 0 {
                TcpCounters::bump(&cx.stats.resets_sent);
            }
            cx.out.push((self.local, self.remote, b));
        }
    }

    /// The window field to advertise now, and the right edge it means.
    fn window(&mut self) -> u16 {
        let free = if self.rcv_shut {
            self.rcv_cap
        } else {
            self.rcv_cap.saturating_sub(self.rcvbuf.len())
        };
        // Never move the right edge back (RFC 9293 §3.8.6.2.2).
        let promised = dist(self.rcv_nxt, self.rcv_adv);
        let promised = if gt(self.rcv_adv, self.rcv_nxt) {
            promised
        } else {
            0
        };
        let wnd = free.max(promised);
        let field = (wnd >> self.rcv_shift).min(65535);
        let edge = self.rcv_nxt.wrapping_add((field << self.rcv_shift) as u32);
        if gt(edge, self.rcv_adv) {
            self.rcv_adv = edge;
        }
        field as u16
    }

    /// A segment with our current ACK and window.
    fn segment(&mut self, seq: u32, fl: u8) -> TcpRepr {
        TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: self.rcv_nxt,
            flags: fl | flags::ACK,
            window: self.window(),
            mss: None,
            wscale: None,
        }
    }

    /// Sends a bare ACK now.
    pub fn send_ack(&mut self, cx: &mut Ctx<'_>) {
        let r = self.segment(self.snd_nxt, 0);
        self.emit(cx, r, &[]);
        self.delack_at = None;
        self.unacked_segs = 0;
    }

    /// An ACK answering an invalid segment (out of window, a challenge):
    /// at most one per [`INVALID_ACK_INTERVAL_MS`] (as Linux's
    /// `tcp_invalid_ratelimit`).
    fn limited_ack(&mut self, cx: &mut Ctx<'_>) {
        if self
            .last_invalid_ack
            .is_some_and(|t| cx.now < t + INVALID_ACK_INTERVAL_MS)
        {
            return;
        }
        self.last_invalid_ack = Some(cx.now);
        self.send_ack(cx);
    }

    fn send_rst(&mut self, cx: &mut Ctx<'_>) {
        let r = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: self.snd_nxt,
            ack: self.rcv_nxt,
            flags: flags::RST | flags::ACK,
            window: 0,
            mss: None,
            wscale: None,
        };
        self.emit(cx, r, &[]);
    }

    /// Whether SYN and ACK have both been exchanged.
    fn synchronized(&self) -> bool {
        !matches!(
            self.state,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynRcvd
        )
    }

    /// Sequence number of our FIN (valid when `fin_queued`).
    fn fin_seq(&self) -> u32 {
        self.snd_una.wrapping_add(self.sndbuf.len() as u32)
    }

    fn fin_acked(&self) -> bool {
        self.fin_was_acked
    }

    /// Sends one segment from the send buffer at `seq` (`len` bytes, a FIN
    /// after them if `fin`).
    fn send_data(&mut self, cx: &mut Ctx<'_>, seq: u32, len: usize, fin: bool) {
        let off = dist(self.snd_una, seq);
        let data: Vec<u8> = self.sndbuf.range(off..off + len).copied().collect();
        let unsent_after = self.sndbuf.len() - (off + len);
        let fl = if fin { flags::FIN } else { 0 }
            | if unsent_after == 0 && len > 0 {
                flags::PSH
            } else {
                0
            };
        if lt(seq, self.snd_max) {
            TcpCounters::bump(&cx.stats.retransmits);
        }
        let r = self.segment(seq, fl);
        self.emit(cx, r, &data);
        self.delack_at = None;
        self.unacked_segs = 0;
    }

    /// Sends what the windows, Nagle and the buffer allow; with `ack`, an
    /// ACK goes out even if no data does.
    pub fn output(&mut self, cx: &mut Ctx<'_>, ack: bool) {
        let mut sent = false;
        if self.synchronized() {
            loop {
                let off = dist(self.snd_una, self.snd_nxt);
                if off > self.sndbuf.len() {
                    break; // the FIN is out
                }
                let unsent = self.sndbuf.len() - off;
                let inflight = off;
                let win = self.snd_wnd.min(self.cwnd);
                let avail = win.saturating_sub(inflight);
                let n = unsent.min(self.mss).min(avail);
                let fin = self.fin_queued && !self.fin_was_acked && n == unsent && self.sends_fin();
                if n == 0 && !fin {
                    break;
                }
                // Nagle: a small segment waits while data is in flight.
                if n > 0 && n < self.mss && !fin && inflight > 0 && !self.nodelay {
                    break;
                }
                // Sender-side silly window avoidance: don't send a sliver of
                // a window while more data waits and something is in flight.
                if n > 0 && n < self.mss && n < unsent && inflight > 0 {
                    break;
                }
                let new = ge(self.snd_nxt, self.snd_max);
                self.send_data(cx, self.snd_nxt, n, fin);
                self.snd_nxt = self.snd_nxt.wrapping_add((n + usize::from(fin)) as u32);
                if gt(self.snd_nxt, self.snd_max) {
                    self.snd_max = self.snd_nxt;
                }
                if new && self.rtt_sample.is_none() {
                    self.rtt_sample = Some((self.snd_nxt, cx.now));
                }
                if self.rexmit_at.is_none() {
                    self.rexmit_at = Some(cx.now + self.rto);
                }
                sent = true;
            }
            // Zero window with data waiting and nothing in flight: probe.
            let unsent = self
                .sndbuf
                .len()
                .saturating_sub(dist(self.snd_una, self.snd_nxt));
            if self.snd_wnd == 0 && unsent > 0 && self.snd_nxt == self.snd_una {
                if self.persist_at.is_none() {
                    self.persist_at = Some(cx.now + self.rto.max(cx.cfg.rto_min_ms));
                }
            } else {
                self.persist_at = None;
                self.persist_backoff = 0;
            }
        }
        if ack && !sent {
            self.send_ack(cx);
        }
    }

    /// States in which our FIN may go out.
    fn sends_fin(&self) -> bool {
        matches!(
            self.state,
            TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck
        )
    }

    // ------------------------------------------------------------------
    // The application's side.

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

    fn fail(&mut self, e: SockError) {
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

    // ------------------------------------------------------------------
    // Timers.

    /// The earliest timer.
    pub fn deadline(&self) -> Option<u64> {
        [
            self.rexmit_at,
            self.persist_at,
            self.delack_at,
            self.close_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers due at `cx.now`.
    pub fn on_timer(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now;
        if self.close_at.is_some_and(|t| t <= now) {
            self.close_at = None;
            self.state = TcpState::Closed;
            return;
        }
        if self.rexmit_at.is_some_and(|t| t <= now) {
            self.on_rto(cx);
        }
        if self.persist_at.is_some_and(|t| t <= now) && self.state != TcpState::Closed {
            // A window probe: an old sequence number makes the peer answer
            // with an ACK carrying its current window.
            let r = self.segment(self.snd_una.wrapping_sub(1), 0);
            self.emit(cx, r, &[]);
            self.persist_backoff += 1;
            let wait = (self.rto.max(cx.cfg.rto_min_ms) << self.persist_backoff.min(16))
                .min(PERSIST_MAX_MS);
            self.persist_at = Some(now + wait);
        }
        if self.delack_at.is_some_and(|t| t <= now) && self.state != TcpState::Closed {
            self.send_ack(cx);
        }
    }

    fn on_rto(&mut self, cx: &mut Ctx<'_>) {
        if self.synchronized() && self.snd_wnd == 0 && !self.sndbuf.is_empty() {
            // The peer closed its window: what was in flight beyond it is
            // sent again once it opens. Probing (which a live peer answers)
            // takes over from retransmission, so a slow reader is never
            // mistaken for a dead peer.
            self.rexmit_at = None;
            self.snd_nxt = self.snd_una;
            self.rtt_sample = None;
            self.persist_at = Some(cx.now + self.rto);
            return;
        }
        TcpCounters::bump(&cx.stats.timeouts);
        self.retries += 1;
        let handshake = matches!(self.state, TcpState::SynSent | TcpState::SynRcvd);
        let limit = if handshake {
            cx.cfg.syn_retries
        } else {
            cx.cfg.max_retries
        };
        if self.retries > limit {
            TcpCounters::bump(&cx.stats.timed_out);
            if self.synchronized() {
                self.send_rst(cx);
            }
            self.fail(SockError::TimedOut);
            return;
        }
        self.rto = (self.rto * 2).min(cx.cfg.rto_max_ms);
        self.rtt_sample = None; // Karn: no samples from retransmitted data
        self.rexmit_at = Some(cx.now + self.rto);
        if handshake {
            TcpCounters::bump(&cx.stats.retransmits);
            self.send_syn(cx);
            return;
        }
        let flight = dist(self.snd_una, self.snd_max);
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.mss;
        self.in_recovery = false;
        self.dupacks = 0;
        // Go back: everything from snd_una is sent again as the window
        // reopens (no SACK).
        self.snd_nxt = self.snd_una;
        self.output(cx, false);
    }

    fn rtt_update(&mut self, r: u64, cfg: &TcpConfig) {
        let (srtt, rttvar) = match self.srtt {
            None => (r, r / 2),
            Some((s, v)) => {
                let v = (3 * v + s.abs_diff(r)) / 4;
                let s = (7 * s + r) / 8;
                (s, v)
            }
        };
        self.srtt = Some((srtt, rttvar));
        self.rto = (srtt + (4 * rttvar).max(1)).clamp(cfg.rto_min_ms, cfg.rto_max_ms);
    }

    // ------------------------------------------------------------------
    // Segment arrives.

    /// Processes a segment for this connection.
    pub fn input(&mut self, seg: &TcpArrived, cx: &mut Ctx<'_>) {
        match self.state {
            TcpState::Closed | TcpState::Listen => cx.drop(DropReason::Rejected),
            TcpState::SynSent => self.input_syn_sent(seg, cx),
            _ => self.input_synchronized(seg, cx),
        }
    }

    fn input_syn_sent(&mut self, seg: &TcpArrived, cx: &mut Ctx<'_>) {
        let r = &seg.repr;
        let has_ack = r.flags & flags::ACK != 0;
        if has_ack && (le(r.ack, self.iss) || gt(r.ack, self.snd_max)) {
            if r.flags & flags::RST == 0 {
                reset_for(seg, cx);
            }
            return cx.drop(DropReason::OutOfWindow);
        }
        if r.flags & flags::RST != 0 {
            if has_ack {
                self.fail(SockError::ConnectionRefused);
            } else {
                cx.drop(DropReason::Rejected);
            }
            return;
        }
        if r.flags & flags::SYN == 0 {
            return cx.drop(DropReason::Rejected);
        }
        self.take_syn(r);
        if has_ack {
            self.snd_una = r.ack;
            self.snd_wl1 = r.seq;
            self.snd_wl2 = r.ack;
            self.established(cx);
            if let Some((s, t)) = self.rtt_sample.take() {
                if ge(r.ack, s) {
                    self.rtt_update(cx.now.saturating_sub(t), cx.cfg);
                }
            }
            self.rexmit_at = None;
            self.retries = 0;
            // Data in the SYN-ACK is unusual; it is taken like any other.
            self.take_data(seg, r.seq.wrapping_add(1), cx);
            self.output(cx, true);
        } else {
            // Simultaneous open.
            self.state = TcpState::SynRcvd;
            self.send_syn(cx);
        }
    }

    fn established(&mut self, cx: &mut Ctx<'_>) {
        self.state = TcpState::Established;
        self.retries = 0;
        TcpCounters::bump(&cx.stats.established);
    }

    /// RFC 9293's checks for synchronized states (and SYN_RCVD).
    fn input_synchronized(&mut self, seg: &TcpArrived, cx: &mut Ctx<'_>) {
        let r = seg.repr;
        let mut seq = r.seq;
        let mut fl = r.flags;
        // A retransmitted SYN (or the peer's SYN-ACK of a simultaneous
        // open) carries the SYN we already took: drop the SYN bit.
        if fl & flags::SYN != 0 && seq.wrapping_add(1) == self.rcv_nxt {
            fl &= !flags::SYN;
            seq = seq.wrapping_add(1);
            if self.state == TcpState::SynRcvd && fl & flags::ACK == 0 {
                // The peer lost our SYN-ACK: send it again.
                self.send_syn(cx);
                return;
            }
        }
        let len = seg.payload.len() + usize::from(fl & flags::FIN != 0);
        let wnd = if gt(self.rcv_adv, self.rcv_nxt) {
            dist(self.rcv_nxt, self.rcv_adv)
        } else {
            0
        };
        let in_wnd = |s: u32| ge(s, self.rcv_nxt) && lt(s, self.rcv_nxt.wrapping_add(wnd as u32));
        let acceptable = match (len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => in_wnd(seq),
            (_, 0) => false,
            (_, _) => in_wnd(seq) || in_wnd(seq.wrapping_add(len as u32 - 1)),
        };
        let mut data_ok = true;
        if !acceptable {
            if fl & flags::RST != 0 {
                return cx.drop(DropReason::OutOfWindow);
            }
            if wnd == 0 && seq == self.rcv_nxt && fl & flags::ACK != 0 {
                // A zero window still takes ACKs (RFC 9293 §3.10.7.4).
                data_ok = false;
            } else {
                cx.drop(DropReason::OutOfWindow);
                if self.state == TcpState::TimeWait && fl & flags::FIN != 0 {
                    self.close_at = Some(cx.now + cx.cfg.time_wait_ms);
                }
                if len == 0 {
                    // An ACK for an ACK: limited, or two desynchronized
                    // ends would answer each other forever.
                    self.limited_ack(cx);
                } else {
                    self.send_ack(cx);
                }
                return;
            }
        }
        if fl & flags::RST != 0 {
            if seq != self.rcv_nxt {
                // RFC 5961 §3: in the window but not exact: challenge.
                cx.drop(DropReason::Rejected);
                self.limited_ack(cx);
                return;
            }
            match self.state {
                TcpState::SynRcvd if self.parent.is_some() => self.fail(SockError::ConnectionReset),
                TcpState::SynRcvd => self.fail(SockError::ConnectionRefused),
                TcpState::Closing | TcpState::LastAck | TcpState::TimeWait => {
                    self.state = TcpState::Closed;
                    self.close_at = None;
                    self.rexmit_at = None;
                }
                _ => self.fail(SockError::ConnectionReset),
            }
            return;
        }
        if fl & flags::SYN != 0 {
            // RFC 5961 §4: a SYN in a synchronized state gets a challenge ACK.
            cx.drop(DropReason::Rejected);
            self.limited_ack(cx);
            return;
        }
        if fl & flags::ACK == 0 {
            return cx.drop(DropReason::Rejected);
        }
        let ack = r.ack;
        if self.state == TcpState::SynRcvd {
            if gt(ack, self.iss) && le(ack, self.snd_max) {
                self.snd_una = ack;
                self.snd_wnd = usize::from(r.window) << self.snd_shift;
                self.snd_wl1 = seq;
                self.snd_wl2 = ack;
                if let Some((s, t)) = self.rtt_sample.take() {
                    if ge(ack, s) {
                        self.rtt_update(cx.now.saturating_sub(t), cx.cfg);
                    }
                }
                self.rexmit_at = None;
                self.established(cx);
                self.just_established = true;
                if self.fin_queued {
                    self.state = TcpState::FinWait1;
                }
            } else {
                reset_for(seg, cx);
                return cx.drop(DropReason::OutOfWindow);
            }
        }
        if gt(ack, self.snd_max) {
            // Acknowledges something never sent (RFC 5961 §5).
            cx.drop(DropReason::OutOfWindow);
            self.limited_ack(cx);
            return;
        }
        self.process_ack(&r, seq, seg.payload.is_empty() && fl & flags::FIN == 0, cx);
        match self.state {
            TcpState::FinWait1 if self.fin_acked() => {
                self.state = TcpState::FinWait2;
                if self.orphan {
                    self.close_at = Some(cx.now + cx.cfg.fin_wait2_ms);
                }
            }
            TcpState::Closing if self.fin_acked() => self.enter_time_wait(cx),
            TcpState::LastAck if self.fin_acked() => {
                self.state = TcpState::Closed;
                self.rexmit_at = None;
                return;
            }
            _ => {}
        }
        if data_ok {
            self.take_data(seg, seq, cx);
            if fl & flags::FIN != 0 {
                let fin_seq = seq.wrapping_add(seg.payload.len() as u32);
                self.take_fin(fin_seq, cx);
            }
        }
        self.output(cx, false);
    }

    fn enter_time_wait(&mut self, cx: &mut Ctx<'_>) {
        self.state = TcpState::TimeWait;
        self.rexmit_at = None;
        self.persist_at = None;
        self.close_at = Some(cx.now + cx.cfg.time_wait_ms);
    }

    /// The ACK field and window of an acceptable segment.
    fn process_ack(&mut self, r: &TcpRepr, seq: u32, pure: bool, cx: &mut Ctx<'_>) {
        let ack = r.ack;
        let wnd = usize::from(r.window) << self.snd_shift;
        if lt(ack, self.snd_una) {
            return; // old
        }
        if ack == self.snd_una {
            let flight = dist(self.snd_una, self.snd_max);
            if pure && flight > 0 && wnd == self.snd_wnd {
                self.on_dupack(cx);
            } else if lt(self.snd_wl1, seq) || (self.snd_wl1 == seq && le(self.snd_wl2, ack)) {
                self.update_window(wnd, seq, ack);
            }
            return;
        }
        // New data acknowledged.
        let acked = dist(self.snd_una, ack);
        if self.fin_queued && ack == self.fin_seq().wrapping_add(1) {
            self.fin_was_acked = true;
        }
        let data = acked.min(self.sndbuf.len());
        self.sndbuf.drain(..data);
        self.snd_una = ack;
        if lt(self.snd_nxt, ack) {
            self.snd_nxt = ack;
        }
        if let Some((s, t)) = self.rtt_sample {
            if ge(ack, s) {
                self.rtt_sample = None;
                self.rtt_update(cx.now.saturating_sub(t), cx.cfg);
            }
        }
        self.retries = 0;
        self.rexmit_at = if self.snd_una == self.snd_max {
            None
        } else {
            Some(cx.now + self.rto)
        };
        if self.in_recovery {
            if ge(ack, self.recover) {
                // Full ACK: leave recovery (RFC 6582 §3.2 step 3).
                self.in_recovery = false;
                let flight = dist(self.snd_una, self.snd_max);
                self.cwnd = self.ssthresh.min(flight + self.mss).max(self.mss);
            } else {
                // Partial ACK: the next hole is lost too.
                let len = self.mss.min(self.sndbuf.len());
                let fin = self.fin_queued && len == self.sndbuf.len() && self.sends_fin();
                if len > 0 || fin {
                    self.send_data(cx, self.snd_una, len, fin);
                }
                self.cwnd = self.cwnd.saturating_sub(acked).max(self.mss) + self.mss;
            }
        } else if self.cwnd < self.ssthresh {
            self.cwnd += acked.min(self.mss);
        } else {
            self.cwnd += (self.mss * self.mss / self.cwnd).max(1);
        }
        self.cwnd = self.cwnd.min(MAX_BUFFER * 2);
        self.dupacks = 0;
        if lt(self.snd_wl1, seq) || (self.snd_wl1 == seq && le(self.snd_wl2, ack)) {
            self.update_window(wnd, seq, ack);
        }
    }

    fn update_window(&mut self, wnd: usize, seq: u32, ack: u32) {
        self.snd_wnd = wnd;
        self.snd_wl1 = seq;
        self.snd_wl2 = ack;
    }

    fn on_dupack(&mut self, cx: &mut Ctx<'_>) {
        self.dupacks += 1;
        if self.in_recovery {
            self.cwnd += self.mss;
        } else if self.dupacks == 3 {
            // Fast retransmit, then NewReno recovery.
            TcpCounters::bump(&cx.stats.fast_retransmits);
            let flight = dist(self.snd_una, self.snd_max);
            self.ssthresh = (flight / 2).max(2 * self.mss);
            self.recover = self.snd_max;
            self.in_recovery = true;
            let len = self.mss.min(self.sndbuf.len());
            let fin = self.fin_queued && len == self.sndbuf.len() && self.sends_fin();
            if len > 0 || fin {
                self.send_data(cx, self.snd_una, len, fin);
            }
            self.rtt_sample = None;
            self.cwnd = self.ssthresh + 3 * self.mss;
            self.rexmit_at = Some(cx.now + self.rto);
        }
    }

    /// Takes the payload of an acceptable segment starting at `seq`.
    fn take_data(&mut self, seg: &TcpArrived, seq: u32, cx: &mut Ctx<'_>) {
        if seg.payload.is_empty() {
            return;
        }
        if !matches!(
            self.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        ) {
            return cx.drop(DropReason::Rejected);
        }
        if self.orphan {
            // Data after close: reset (RFC 9293 §3.10.7.4 / Linux).
            cx.drop(DropReason::Rejected);
            self.send_rst(cx);
            self.fail(SockError::ConnectionAborted);
            return;
        }
        let mut data: &[u8] = &seg.payload;
        let mut seq = seq;
        if lt(seq, self.rcv_nxt) {
            let skip = dist(seq, self.rcv_nxt);
            if skip >= data.len() {
                self.send_ack(cx);
                return;
            }
            data = &data[skip..];
            seq = self.rcv_nxt;
        }
        // Keep to the window we advertised.
        let room = if gt(self.rcv_adv, seq) {
            dist(seq, self.rcv_adv)
        } else {
            0
        };
        let data = &data[..data.len().min(room)];
        if data.is_empty() {
            cx.drop(DropReason::OutOfWindow);
            self.send_ack(cx);
            return;
        }
        if seq == self.rcv_nxt {
            let filled_hole = !self.ooo.is_empty();
            self.append(data);
            self.pull_ooo();
            if filled_hole || self.ooo_fin.is_some() {
                self.send_ack(cx);
            } else {
                self.unacked_segs += 1;
                if self.unacked_segs >= 2 {
                    self.send_ack(cx);
                } else if self.delack_at.is_none() {
                    self.delack_at = Some(cx.now + cx.cfg.delayed_ack_ms);
                }
            }
            if let Some(f) = self.ooo_fin {
                if f == self.rcv_nxt {
                    self.ooo_fin = None;
                    self.take_fin(f, cx);
                }
            }
        } else {
            // Beyond a hole: keep it (bounded) and say what we miss now.
            if self.ooo.len() >= cx.cfg.max_out_of_order {
                cx.drop(DropReason::OutOfOrderLimit);
            } else if !self
                .ooo
                .iter()
                .any(|(s, d)| *s == seq && d.len() >= data.len())
            {
                self.ooo.push((seq, data.to_vec()));
            }
            self.send_ack(cx);
        }
    }

    fn append(&mut self, data: &[u8]) {
        if !self.rcv_shut {
            self.rcvbuf.extend(data);
        }
        self.rcv_nxt = self.rcv_nxt.wrapping_add(data.len() as u32);
    }

    /// Moves out-of-order segments that now follow `rcv_nxt` in.
    fn pull_ooo(&mut self) {
        loop {
            let Some(i) = self.ooo.iter().position(|(s, _)| le(*s, self.rcv_nxt)) else {
                return;
            };
            let (s, d) = self.ooo.swap_remove(i);
            let skip = dist(s, self.rcv_nxt);
            if skip < d.len() {
                let d = d[skip..].to_vec();
                self.append(&d);
            }
        }
    }

    /// A FIN at `fin_seq`.
    fn take_fin(&mut self, fin_seq: u32, cx: &mut Ctx<'_>) {
        if fin_seq != self.rcv_nxt {
            if gt(fin_seq, self.rcv_nxt) {
                self.ooo_fin = Some(fin_seq);
            }
            return;
        }
        if self.fin_rcvd {
            self.send_ack(cx);
            return;
        }
        self.fin_rcvd = true;
        self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
        self.state = match self.state {
            TcpState::SynRcvd | TcpState::Established => TcpState::CloseWait,
            TcpState::FinWait1 if self.fin_acked() => {
                self.enter_time_wait(cx);
                TcpState::TimeWait
            }
            TcpState::FinWait1 => TcpState::Closing,
            TcpState::FinWait2 => {
                self.enter_time_wait(cx);
                TcpState::TimeWait
            }
            s => s,
        };
        self.send_ack(cx);
    }
}

/// The reset answering a segment that belongs to no connection (RFC 9293
/// §3.10.7.1); never in answer to a reset.
pub(crate) fn reset_for(seg: &TcpArrived, cx: &mut Ctx<'_>) {
    let r = &seg.repr;
    if r.flags & flags::RST != 0 {
        return;
    }
    let repr = if r.flags & flags::ACK != 0 {
        TcpRepr {
            src_port: r.dst_port,
            dst_port: r.src_port,
            seq: r.ack,
            flags: flags::RST,
            ..TcpRepr::default()
        }
    } else {
        let len = seg.payload.len()
            + usize::from(r.flags & flags::SYN != 0)
            + usize::from(r.flags & flags::FIN != 0);
        TcpRepr {
            src_port: r.dst_port,
            dst_port: r.src_port,
            seq: 0,
            ack: r.seq.wrapping_add(len as u32),
            flags: flags::RST | flags::ACK,
            ..TcpRepr::default()
        }
    };
    let mut b = Vec::with_capacity(crate::wire::tcp::HEADER_LEN);
    if repr.emit(&mut b, *seg.dst.ip(), *seg.src.ip(), &[]).is_ok() {
        TcpCounters::bump(&cx.stats.segments_out);
        TcpCounters::bump(&cx.stats.resets_sent);
        cx.out.push((seg.dst, seg.src, b));
    }
}
