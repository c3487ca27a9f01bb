//! One connection's state machine (RFC 9293's "segment arrives", with RFC
//! 5961's reset and SYN checks, RFC 6298's retransmission timer, RFC 5681 /
//! 6582 congestion control with NewReno recovery, RFC 7323 window scaling,
//! RFC 1122 delayed ACKs and Nagle, RFC 9293's zero-window probing).
//!
//! A connection never sends by itself: every segment it makes goes into the
//! caller's [`Ctx::out`], sent after the engine's lock is released.
//!
//! This file holds the connection's state and its opening; the rest is
//! split by direction: `input.rs` (a segment arrives: RFC 9293's checks,
//! ACK processing, congestion control, reassembly), `output.rs` (what the
//! connection sends, and the timers that make it send) and `app.rs` (the
//! application's side: the buffers, shutdown and close, readiness).

mod app;
mod input;
mod output;

use std::collections::VecDeque;
use std::net::SocketAddrV4;

use super::{TcpConfig, TcpState};
use crate::events::TcpArrived;
use crate::socket::{SockError, Waker};
use crate::telemetry::{DropReason, TcpCounters};
use crate::wire::tcp::TcpRepr;

pub(crate) use input::reset_for;

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
}
