//! What a connection sends: its SYN, ACKs and resets, data as the windows,
//! Nagle and the buffer allow (RFC 5681 / 9293) — and the timers that make
//! it send: retransmission (RFC 6298, with Karn's rule), zero-window
//! probes, delayed ACKs, and the timer that ends TIME_WAIT or FIN_WAIT_2.

use super::{Conn, Ctx, INVALID_ACK_INTERVAL_MS, OUR_WSCALE, PERSIST_MAX_MS};
use crate::socket::SockError;
use crate::tcp::seq::{dist, ge, gt, lt};
use crate::tcp::{TcpConfig, TcpState};
use crate::telemetry::TcpCounters;
use crate::wire::tcp::{flags, TcpRepr};

impl Conn {
    /// SYN (active) or SYN-ACK (passive), with our options.
    pub(super) fn send_syn(&mut self, cx: &mut Ctx<'_>) {
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
    pub(super) fn limited_ack(&mut self, cx: &mut Ctx<'_>) {
        if self
            .last_invalid_ack
            .is_some_and(|t| cx.now < t + INVALID_ACK_INTERVAL_MS)
        {
            return;
        }
        self.last_invalid_ack = Some(cx.now);
        self.send_ack(cx);
    }

    pub(super) fn send_rst(&mut self, cx: &mut Ctx<'_>) {
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

    /// Sends one segment from the send buffer at `seq` (`len` bytes, a FIN
    /// after them if `fin`).
    pub(super) fn send_data(&mut self, cx: &mut Ctx<'_>, seq: u32, len: usize, fin: bool) {
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
    pub(super) fn sends_fin(&self) -> bool {
        matches!(
            self.state,
            TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck
        )
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

    pub(super) fn rtt_update(&mut self, r: u64, cfg: &TcpConfig) {
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
}
