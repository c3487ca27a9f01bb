//! A segment arrives (RFC 9293 §3.10.7): the SYN_SENT and synchronized
//! states' checks with RFC 5961's reset, SYN and ACK defences; ACK
//! processing with RFC 5681 / 6582 congestion control and NewReno
//! recovery; in-order data, out-of-order reassembly (bounded) and the FIN;
//! and the reset that answers a segment no connection takes.

use super::{Conn, Ctx, MAX_BUFFER};
use crate::events::TcpArrived;
use crate::socket::SockError;
use crate::tcp::seq::{dist, ge, gt, le, lt};
use crate::tcp::TcpState;
use crate::telemetry::{DropReason, TcpCounters};
use crate::wire::tcp::{flags, TcpRepr};

impl Conn {
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
