//! The engine at work on a stack: its lock, and the effects (segments,
//! drops, wakers) carried out once it is released; segments arriving on a
//! port; the connections' timers; settling a connection after it worked
//! (waking its socket, queueing it for accept, detaching it when done);
//! shutdown and telemetry.

use super::conn::{self, Conn, Ctx};
use super::{ConnId, Effects, Engine, Seen, TcpConfig, TcpState};
use crate::events::TcpArrived;
use crate::stack::{lock, NetHandle};
use crate::telemetry::{DropReason, Layer};
use crate::wire::ipv4::protocol;

/// The engine's handle on a stack (its lock and the event).
impl NetHandle {
    pub(super) fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        lock(&self.shared.tcp)
    }

    pub(super) fn mss(&self) -> usize {
        self.shared.nic.mtu().saturating_sub(40).max(536)
    }

    /// Runs `f` on the engine and a fresh context, then carries out the
    /// effects (segments, drops, wakers) with the lock released.
    pub(super) fn with_engine<T>(&self, f: impl FnOnce(&mut Engine, &mut Effects, u64) -> T) -> T {
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

    pub(super) fn ctx<'a>(&'a self, cfg: &'a TcpConfig, fx: &'a mut Effects, now: u64) -> Ctx<'a> {
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
    pub(super) fn settle(
        &self,
        e: &mut Engine,
        id: ConnId,
        before: Option<Seen>,
        fx: &mut Effects,
    ) {
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

    pub(super) fn attach(&self, e: &mut Engine, c: Conn) -> ConnId {
        let id = e.next_id;
        e.next_id += 1;
        e.by_pair.insert((c.local, c.remote), id);
        e.attached.insert(id, ());
        e.conns.insert(id, c);
        id
    }

    /// The port handler: a segment for one of our ports.
    pub(super) fn tcp_input(&self, seg: &TcpArrived) {
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

    /// Runs `f` on connection `id` (a socket's), then settles it.
    pub(super) fn on_conn<T>(
        &self,
        id: ConnId,
        f: impl FnOnce(&mut Conn, &mut Ctx<'_>) -> T,
    ) -> Option<T> {
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
