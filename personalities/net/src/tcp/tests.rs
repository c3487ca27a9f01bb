//! TCP between two stacks on an in-memory link, driven by a small
//! deterministic loop: move frames, advance the clock, run the timers.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::nic::{FaultConfig, FaultyNic, MemNic, Nic};
use crate::socket::Shutdown;
use crate::stack::{NetConfig, NetStack};
use crate::telemetry::{DropReason, Layer};
use crate::wire::build;
use crate::wire::ethernet::MacAddr;
use crate::wire::ipv4::{protocol, Ipv4Repr};
use crate::wire::tcp::{flags, TcpRepr};

const A_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// Two stacks, A and B, on one link.
struct Link {
    a: NetStack,
    b: NetStack,
    now: u64,
    faults: Vec<Arc<FaultyNic>>,
    /// The ends' raw NICs, to move single frames by hand.
    raw: (MemNic, MemNic),
}

fn config(mac: MacAddr, ip: Ipv4Addr, seed: u64) -> NetConfig {
    let mut c = NetConfig::new(mac, ip, 24);
    c.seed = seed;
    c
}

impl Link {
    fn new() -> Link {
        Link::with(None, |_| {})
    }

    fn with(faults: Option<FaultConfig>, tweak: impl Fn(&mut NetConfig)) -> Link {
        let (na, nb) = MemNic::pair(1 << 20);
        let raw = (na.clone(), nb.clone());
        let mut fs = Vec::new();
        let (na, nb): (Arc<dyn Nic>, Arc<dyn Nic>) = match faults {
            Some(f) => {
                let fa = Arc::new(FaultyNic::new(Arc::new(na), f));
                let fb = Arc::new(FaultyNic::new(
                    Arc::new(nb),
                    FaultConfig {
                        seed: f.seed ^ 0xb,
                        ..f
                    },
                ));
                fs = vec![fa.clone(), fb.clone()];
                (fa, fb)
            }
            None => (Arc::new(na), Arc::new(nb)),
        };
        let mut ca = config(A_MAC, A, 1);
        let mut cb = config(B_MAC, B, 2);
        tweak(&mut ca);
        tweak(&mut cb);
        let a = NetStack::new(ca, na).unwrap();
        let b = NetStack::new(cb, nb).unwrap();
        a.add_static_arp(B, B_MAC);
        b.add_static_arp(A, A_MAC);
        Link {
            a,
            b,
            now: 0,
            faults: fs,
            raw,
        }
    }

    /// Delivers frames until the link is quiet, then advances the clock by
    /// 1 ms and runs the timers.
    fn step(&mut self) {
        loop {
            let n = self.a.poll_nic() + self.b.poll_nic();
            if n == 0 {
                break;
            }
        }
        self.now += 1;
        self.a.poll(self.now);
        self.b.poll(self.now);
    }

    /// Steps until `done` or `limit` steps; when nothing moves, jumps the
    /// clock to the next timer.
    fn run_until(&mut self, limit: usize, mut done: impl FnMut(&mut Link) -> bool) -> bool {
        for _ in 0..limit {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Jumps the clock to the next TCP timer of either stack.
    fn jump(&mut self) -> bool {
        let next = [self.a.next_deadline_ms(), self.b.next_deadline_ms()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) => {
                self.now = self.now.max(t);
                self.a.poll(self.now);
                self.b.poll(self.now);
                true
            }
            None => false,
        }
    }
}

/// A connected pair: `(client on A, server side on B)`.
fn connected(link: &mut Link, port: u16) -> (TcpStream, TcpStream, TcpListener) {
    let l = link
        .b
        .handle()
        .tcp_listen(sa(Ipv4Addr::UNSPECIFIED, port), 8)
        .unwrap();
    let c = link.a.handle().tcp_connect(None, sa(B, port)).unwrap();
    assert_eq!(c.state(), TcpState::SynSent);
    assert_eq!(c.send(b"x"), Err(SockError::InProgress));
    assert!(link.run_until(100, |_| c.state() == TcpState::Established));
    assert!(link.run_until(100, |_| l.readiness().readable));
    let s = l.accept().unwrap();
    (c, s, l)
}

fn read_all(s: &TcpStream, into: &mut Vec<u8>) -> Result<usize, SockError> {
    let mut buf = [0u8; 8192];
    let mut total = 0;
    loop {
        match s.recv(&mut buf, false) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                into.extend_from_slice(&buf[..n]);
                total += n;
            }
            Err(SockError::WouldBlock) => return Ok(total),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn handshake_then_echo_both_ways() {
    let mut link = Link::new();
    let woke = Arc::new(AtomicU64::new(0));
    let l = link.b.handle().tcp_listen(sa(B, 80), 4).unwrap();
    let w = woke.clone();
    l.set_waker(Some(Arc::new(move || {
        w.fetch_add(1, Ordering::Relaxed);
    })));
    assert_eq!(l.accept().unwrap_err(), SockError::WouldBlock);
    let c = link.a.handle().tcp_connect(None, sa(B, 80)).unwrap();
    let cw = Arc::new(AtomicU64::new(0));
    let w = cw.clone();
    c.set_waker(Some(Arc::new(move || {
        w.fetch_add(1, Ordering::Relaxed);
    })));
    assert!(!c.readiness().writable);
    assert!(link.run_until(50, |_| c.readiness().writable));
    assert_eq!(c.state(), TcpState::Established);
    assert!(cw.load(Ordering::Relaxed) >= 1, "connect completion wakes");
    assert!(link.run_until(50, |_| l.readiness().readable));
    assert_eq!(woke.load(Ordering::Relaxed), 1);
    let s = l.accept().unwrap();
    assert_eq!(s.state(), TcpState::Established);
    assert_eq!(s.local_addr(), sa(B, 80));
    assert_eq!(s.peer_addr(), c.local_addr());
    assert_eq!(c.peer_addr(), sa(B, 80));
    assert!(
        (crate::socket::EPHEMERAL_FIRST..=crate::socket::EPHEMERAL_LAST)
            .contains(&c.local_addr().port())
    );
    assert_eq!(c.state().to_string(), "ESTABLISHED");

    assert_eq!(c.send(b"hello, server"), Ok(13));
    let before = cw.load(Ordering::Relaxed);
    link.run_until(50, |_| s.readiness().readable);
    let mut buf = [0u8; 64];
    assert_eq!(s.recv(&mut buf, true), Ok(13));
    assert_eq!(s.recv_queued(), 13);
    assert_eq!(s.recv(&mut buf, false), Ok(13));
    assert_eq!(&buf[..13], b"hello, server");
    assert_eq!(s.recv(&mut buf, false), Err(SockError::WouldBlock));
    assert_eq!(s.send(b"hello, client"), Ok(13));
    link.run_until(50, |_| c.readiness().readable);
    assert_eq!(c.recv(&mut buf, false), Ok(13));
    assert_eq!(&buf[..13], b"hello, client");
    assert!(cw.load(Ordering::Relaxed) > before, "data arrival wakes");
    let t = link.a.telemetry().tcp;
    assert_eq!(t.established, 1);
    assert_eq!(t.connections, 1);
    assert!(t.segments_out >= 3 && t.segments_in >= 3, "{t:?}");
    assert_eq!(t.retransmits, 0);
    // Everything was acknowledged: nothing left to retransmit.
    link.run_until(100, |_| c.send_queued() == 0 && s.send_queued() == 0);
}

#[test]
fn half_close_then_the_other_side_closes() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 7000);
    c.send(b"request").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.send(b"more"), Err(SockError::BrokenPipe));
    assert!(c.readiness().writable, "a send would not block: it fails");
    link.run_until(50, |_| s.readiness().hangup);
    let mut got = Vec::new();
    assert_eq!(read_all(&s, &mut got), Ok(7));
    assert_eq!(got, b"request");
    let mut buf = [0u8; 8];
    assert_eq!(s.recv(&mut buf, false), Ok(0), "EOF after the FIN");
    assert_eq!(s.state(), TcpState::CloseWait);
    assert_eq!(c.state(), TcpState::FinWait2);
    // The half-closed side still sends.
    s.send(b"response").unwrap();
    link.run_until(50, |_| c.readiness().readable);
    got.clear();
    read_all(&c, &mut got).unwrap();
    assert_eq!(got, b"response");
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(s.state(), TcpState::LastAck);
    link.run_until(50, |_| c.state() == TcpState::TimeWait);
    assert_eq!(c.recv(&mut buf, false), Ok(0));
    link.run_until(50, |_| s.state() == TcpState::Closed);
    // TIME_WAIT lasts 2 MSL (1 s here), then the connection is gone.
    let waited = link.now;
    link.run_until(2000, |_| c.state() == TcpState::Closed);
    assert!(link.now - waited >= 900);
    drop((c, s));
    assert_eq!(link.a.telemetry().tcp.connections, 0);
    assert_eq!(link.b.telemetry().tcp.connections, 0);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 7001);
    c.shutdown(Shutdown::Write).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        (c.state(), s.state()),
        (TcpState::FinWait1, TcpState::FinWait1)
    );
    // Deliver just the crossing FINs: both see the other's FIN before the
    // ACK of their own.
    let fin_to_a = link.raw.0.receive().unwrap();
    let fin_to_b = link.raw.1.receive().unwrap();
    link.a.receive(fin_to_a);
    link.b.receive(fin_to_b);
    assert_eq!(
        (c.state(), s.state()),
        (TcpState::Closing, TcpState::Closing)
    );
    link.run_until(50, |_| {
        c.state() == TcpState::TimeWait && s.state() == TcpState::TimeWait
    });
    assert!(link.run_until(3000, |_| c.state() == TcpState::Closed
        && s.state() == TcpState::Closed));
}

#[test]
fn dropping_both_ends_closes_gracefully_inside_the_stack() {
    let mut link = Link::new();
    let (c, s, l) = connected(&mut link, 7002);
    c.send(&[5u8; 100_000]).unwrap();
    drop(c); // the FIN follows the data, which still has to be delivered
    let mut got = Vec::new();
    assert!(link.run_until(500, |_| {
        read_all(&s, &mut got).unwrap();
        s.readiness().hangup
    }));
    read_all(&s, &mut got).unwrap();
    assert_eq!(got.len(), 100_000);
    drop(s);
    drop(l);
    link.run_until(100, |_| false);
    assert!(
        link.run_until(5000, |l| l.a.telemetry().tcp.connections == 0
            && l.b.telemetry().tcp.connections == 0)
    );
    assert_eq!(link.a.telemetry().tcp.resets_sent, 0);
    assert_eq!(link.b.telemetry().tcp.resets_sent, 0);
    // Ports are free again, and the handlers are gone.
    assert_eq!(link.b.events().tcp.handlers(), 0);
    let again = link.b.handle().tcp_listen(sa(B, 7002), 1).unwrap();
    assert_eq!(again.local_addr().port(), 7002);
}

#[test]
fn closing_with_unread_data_resets_the_peer() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 7003);
    c.send(b"unread").unwrap();
    link.run_until(20, |_| s.recv_queued() == 6);
    drop(s);
    link.run_until(20, |_| c.state() == TcpState::Closed);
    assert_eq!(c.take_error(), Some(SockError::ConnectionReset));
    assert_eq!(c.take_error(), None);
    let mut buf = [0u8; 4];
    assert_eq!(c.recv(&mut buf, false), Err(SockError::ConnectionReset));
    assert_eq!(c.send(b"x"), Err(SockError::BrokenPipe));
    assert!(c.readiness().hangup);
}

#[test]
fn abort_resets_the_peer() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 7013);
    s.abort();
    assert_eq!(s.state(), TcpState::Closed);
    assert_eq!(s.send(b"x").map_err(|_| ()), Err(()));
    link.run_until(20, |_| c.state() == TcpState::Closed);
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(c.take_error(), Some(SockError::ConnectionReset));
    let mut buf = [0u8; 4];
    assert_eq!(c.recv(&mut buf, false), Err(SockError::ConnectionReset));
    drop(s);
    // Nothing is left in the engine for the aborted end.
    assert!(link.run_until(20, |l| l.b.handle().tcp_draining() == 0));
}

#[test]
fn a_bound_port_is_exclusive_and_time_wait_yields_to_reuseaddr() {
    let mut link = Link::new();
    let net = link.b.handle();
    let p = net.tcp_bind_port(7020, false).unwrap();
    assert_eq!(net.tcp_bind_port(7020, true), Err(SockError::AddrInUse));
    assert_eq!(net.tcp_listen(sa(B, 7020), 1).unwrap_err(), SockError::AddrInUse);
    net.tcp_unbind_port(p);
    // The server closes first: its end of the connection sits in TIME_WAIT.
    let (c, s, l) = connected(&mut link, 7020);
    drop(l);
    drop(s);
    link.run_until(20, |_| c.readiness().readable);
    drop(c);
    link.run_until(20, |l| l.b.handle().tcp_draining() == 0);
    let net = link.b.handle();
    assert_eq!(net.tcp_bind_port(7020, false), Err(SockError::AddrInUse));
    assert_eq!(net.tcp_bind_port(7020, true), Ok(7020));
    // An ephemeral pick never lands on a bound port.
    let e = net.tcp_bind_port(0, false).unwrap();
    assert!(e >= crate::socket::EPHEMERAL_FIRST && e != 7020);
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let mut link = Link::new();
    let c = link.a.handle().tcp_connect(None, sa(B, 9)).unwrap();
    link.run_until(20, |_| c.state() == TcpState::Closed);
    assert!(c.readiness().error);
    assert_eq!(c.take_error(), Some(SockError::ConnectionRefused));
    assert_eq!(c.send(b"x"), Err(SockError::BrokenPipe));
    assert_eq!(
        link.b
            .handle()
            .counters()
            .drops(Layer::Tcp, DropReason::NoHandler),
        1
    );
    assert_eq!(link.b.telemetry().tcp.resets_sent, 1);
}

#[test]
fn connect_times_out_when_nobody_answers() {
    let mut link = Link::with(
        Some(FaultConfig {
            drop: 1.0,
            ..FaultConfig::none(3)
        }),
        |c| c.tcp.syn_retries = 3,
    );
    let c = link.a.handle().tcp_connect(None, sa(B, 80)).unwrap();
    let mut jumps = 0;
    while c.state() == TcpState::SynSent && jumps < 10 {
        assert!(link.jump());
        jumps += 1;
    }
    assert_eq!(c.take_error(), Some(SockError::TimedOut));
    // 1 s, then 2, 4 and 8: four timeouts, three retransmitted SYNs.
    assert_eq!(link.now, 1000 + 2000 + 4000 + 8000);
    let t = link.a.telemetry().tcp;
    assert_eq!((t.timeouts, t.retransmits, t.timed_out), (4, 3, 1));
    assert_eq!(link.faults[0].counts().dropped, 4);
    assert_eq!(link.a.next_deadline_ms(), None);
}

#[test]
fn listener_backlog_bounds_pending_connections() {
    let mut link = Link::new();
    let l = link
        .b
        .handle()
        .tcp_listen(sa(Ipv4Addr::UNSPECIFIED, 80), 2)
        .unwrap();
    let clients: Vec<_> = (0..4)
        .map(|_| link.a.handle().tcp_connect(None, sa(B, 80)).unwrap())
        .collect();
    link.run_until(100, |_| false);
    let up = clients
        .iter()
        .filter(|c| c.state() == TcpState::Established)
        .count();
    assert_eq!(up, 2);
    assert_eq!(
        link.b
            .handle()
            .counters()
            .drops(Layer::Tcp, DropReason::BacklogFull),
        2
    );
    // Accepting makes room: the others' retransmitted SYNs get in.
    let first: Vec<_> = (0..2).map(|_| l.accept().unwrap()).collect();
    assert_eq!(l.accept().unwrap_err(), SockError::WouldBlock);
    assert!(link.run_until(3000, |_| clients
        .iter()
        .all(|c| c.state() == TcpState::Established)));
    let rest: Vec<_> = (0..2).map(|_| l.accept().unwrap()).collect();
    assert_eq!(first.len() + rest.len(), 4);
    // All four share the listener's port.
    for s in first.iter().chain(&rest) {
        assert_eq!(s.local_addr(), sa(B, 80));
    }
    assert_eq!(link.b.events().tcp.handlers(), 1);
}

#[test]
fn dropping_a_listener_resets_connections_not_yet_accepted() {
    let mut link = Link::new();
    let l = link.b.handle().tcp_listen(sa(B, 80), 4).unwrap();
    let c = link.a.handle().tcp_connect(None, sa(B, 80)).unwrap();
    link.run_until(50, |_| l.readiness().readable);
    drop(l);
    link.run_until(50, |_| c.state() == TcpState::Closed);
    assert_eq!(c.take_error(), Some(SockError::ConnectionReset));
    assert_eq!(link.b.telemetry().tcp.connections, 0);
}

#[test]
fn bind_rules_for_tcp() {
    let link = Link::new();
    let net = link.b.handle();
    let l = net.tcp_listen(sa(B, 80), 1).unwrap();
    assert_eq!(
        net.tcp_listen(sa(B, 80), 1).unwrap_err(),
        SockError::AddrInUse
    );
    assert_eq!(
        net.tcp_listen(sa(Ipv4Addr::new(10, 0, 0, 77), 81), 1)
            .unwrap_err(),
        SockError::AddrNotAvailable
    );
    assert_eq!(
        net.tcp_connect(Some(sa(B, 80)), sa(A, 1)).unwrap_err(),
        SockError::AddrInUse
    );
    assert_eq!(
        net.tcp_connect(None, sa(Ipv4Addr::new(192, 168, 1, 1), 1))
            .unwrap_err(),
        SockError::Unreachable
    );
    let e = net.tcp_listen(sa(Ipv4Addr::UNSPECIFIED, 0), 1).unwrap();
    assert!(e.local_addr().port() >= crate::socket::EPHEMERAL_FIRST);
    drop(l);
    net.tcp_listen(sa(B, 80), 1).unwrap();
}

/// Sends `total` bytes of a pattern from `tx` to `rx`, stepping the link.
fn transfer(
    link: &mut Link,
    tx: &TcpStream,
    rx: &TcpStream,
    total: usize,
    limit: usize,
) -> Vec<u8> {
    let data: Vec<u8> = (0..total).map(|i| (i * 31 % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::with_capacity(total);
    let ok = link.run_until(limit, |_| {
        while sent < total {
            match tx.send(&data[sent..]) {
                Ok(n) => sent += n,
                Err(SockError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        read_all(rx, &mut got).unwrap();
        got.len() == total
    });
    assert!(ok, "transfer stalled at {} of {total} bytes", got.len());
    assert!(got == data, "the bytes arrived changed");
    got
}

#[test]
fn five_megabytes_arrive_intact_through_a_lossy_duplicating_reordering_link() {
    let mut link = Link::with(
        Some(FaultConfig {
            drop: 0.01,
            duplicate: 0.01,
            reorder: 0.01,
            seed: 42,
        }),
        |_| {},
    );
    let (c, s, _l) = connected(&mut link, 5001);
    transfer(&mut link, &c, &s, 5 << 20, 200_000);
    // And back the other way.
    transfer(&mut link, &s, &c, 1 << 20, 200_000);
    let t = link.a.telemetry().tcp;
    assert!(t.retransmits > 0, "{t:?}");
    assert!(t.fast_retransmits > 0, "{t:?}");
    let faults = link.faults[0].counts();
    assert!(faults.dropped > 0 && faults.duplicated > 0 && faults.reordered > 0);
    // Duplicates and reordering were seen by the receiver as such.
    let b = link.b.handle();
    let dups = b.counters().drops(Layer::Tcp, DropReason::OutOfWindow);
    assert!(dups > 0);
}

#[test]
fn zero_window_is_probed_until_the_reader_drains_it() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 5002);
    s.set_buffer_sizes(None, Some(16 * 1024));
    let data = vec![9u8; 1 << 20];
    let mut sent = 0;
    // The receiver does not read: the sender fills its window, then its
    // own buffer, then blocks.
    link.run_until(2000, |_| {
        match c.send(&data[sent..]) {
            Ok(n) => sent += n,
            Err(SockError::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
        false
    });
    assert_eq!(c.send(&data[sent..]), Err(SockError::WouldBlock));
    assert!(!c.readiness().writable);
    let queued = s.recv_queued();
    assert!(queued > 0 && queued <= 256 * 1024, "{queued}");
    // Window probes went out while the window was closed (each answered
    // by an ACK), and nothing was retransmitted as lost.
    let seg_before = link.a.telemetry().tcp.segments_out;
    link.run_until(5000, |_| false);
    let probes = link.a.telemetry().tcp.segments_out - seg_before;
    assert!(probes >= 2, "probes {probes}");
    assert_eq!(link.a.telemetry().tcp.timed_out, 0);
    assert_eq!(c.state(), TcpState::Established);
    // A reader stalled for ten minutes is not a dead peer: probes are
    // answered, nothing times out.
    while link.now < 600_000 {
        assert!(link.jump(), "the probe timer stays armed");
        link.step();
    }
    assert_eq!(link.a.telemetry().tcp.timed_out, 0);
    assert_eq!(c.state(), TcpState::Established);
    // Reading opens the window: the rest flows.
    let mut got = Vec::new();
    link.run_until(20_000, |_| {
        while sent < data.len() {
            match c.send(&data[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        read_all(&s, &mut got).unwrap();
        got.len() == data.len()
    });
    assert_eq!(got.len(), data.len());
}

#[test]
fn nagle_holds_small_segments_until_nodelay() {
    let mut link = Link::new();
    let (c, _s, _l) = connected(&mut link, 5003);
    let out = |link: &Link| link.a.telemetry().tcp.segments_out;
    let before = out(&link);
    c.send(b"a").unwrap();
    c.send(b"b").unwrap();
    c.send(b"c").unwrap();
    // The first goes out; the others wait for its ACK.
    assert_eq!(out(&link) - before, 1);
    c.set_nodelay(true);
    // Turning Nagle off sends what waited.
    assert_eq!(out(&link) - before, 2);
    c.send(b"d").unwrap();
    assert_eq!(out(&link) - before, 3);
}

#[test]
fn tcp_over_loopback_between_two_sockets_of_one_stack() {
    let mut link = Link::new();
    let net = link.a.handle();
    let l = net.tcp_listen(sa(Ipv4Addr::LOCALHOST, 8080), 1).unwrap();
    let c = net
        .tcp_connect(None, sa(Ipv4Addr::LOCALHOST, 8080))
        .unwrap();
    // The handshake ran over loopback inside the call.
    assert_eq!(c.state(), TcpState::Established);
    let s = l.accept().unwrap();
    assert_eq!(c.local_addr().ip(), &Ipv4Addr::LOCALHOST);
    let big = vec![3u8; 300_000];
    let mut sent = 0;
    let mut got = Vec::new();
    assert!(link.run_until(10_000, |_| {
        if sent < big.len() {
            sent += c.send(&big[sent..]).unwrap_or(0);
        }
        read_all(&s, &mut got).unwrap();
        got.len() == big.len()
    }));
    // Our own address works too; nothing reached the wire.
    let l2 = net.tcp_listen(sa(A, 8081), 1).unwrap();
    let c2 = net.tcp_connect(None, sa(A, 8081)).unwrap();
    assert_eq!(c2.state(), TcpState::Established);
    assert!(l2.accept().is_ok());
    assert_eq!(link.b.telemetry().layer(Layer::Ether).packets, 0);
}

/// A segment as a frame from A to B.
fn segment_frame(repr: TcpRepr, payload: &[u8]) -> Vec<u8> {
    let mut seg = Vec::new();
    repr.emit(&mut seg, A, B, payload).unwrap();
    let ip = Ipv4Repr {
        src: A,
        dst: B,
        protocol: protocol::TCP,
        ttl: 64,
        ident: 0,
        payload_len: 0,
        frag_offset: 0,
        more_frags: false,
    };
    build::ipv4_frame(A_MAC, B_MAC, ip, &seg).unwrap()
}

#[test]
fn a_reset_outside_the_exact_sequence_is_challenged_not_obeyed() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 5004);
    c.send(b"x").unwrap();
    link.run_until(100, |_| s.recv_queued() == 1 && c.send_queued() == 0);
    let seg_before = link.b.telemetry().tcp.segments_out;
    // A blind reset with a wrong sequence number (RFC 5961).
    let rst = TcpRepr {
        src_port: c.local_addr().port(),
        dst_port: 5004,
        seq: 12345,
        flags: flags::RST,
        ..TcpRepr::default()
    };
    link.b.receive(segment_frame(rst, &[]));
    assert_eq!(s.state(), TcpState::Established);
    let h = link.b.handle();
    let drops = h.counters();
    assert!(
        drops.drops(Layer::Tcp, DropReason::OutOfWindow)
            + drops.drops(Layer::Tcp, DropReason::Rejected)
            >= 1
    );
    let _ = seg_before;
    // A SYN on an established connection gets a challenge ACK, no reset.
    let syn = TcpRepr {
        src_port: c.local_addr().port(),
        dst_port: 5004,
        seq: 777,
        flags: flags::SYN,
        window: 1000,
        ..TcpRepr::default()
    };
    let before = link.b.telemetry().tcp;
    link.b.receive(segment_frame(syn, &[]));
    let after = link.b.telemetry().tcp;
    assert_eq!(after.segments_out, before.segments_out + 1);
    assert_eq!(after.resets_sent, before.resets_sent);
    assert_eq!(s.state(), TcpState::Established);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_and_truncated_segments_never_panic_and_are_counted(
        body in proptest::collection::vec(any::<u8>(), 0..200),
        fl in any::<u8>(),
        seq in any::<u32>(),
        ack in any::<u32>(),
        cut in 0usize..60,
        to_listener in any::<bool>(),
    ) {
        let link = Link::new();
        let _l = link.b.handle().tcp_listen(sa(B, 80), 4).unwrap();
        let c = link.a.handle().tcp_connect(None, sa(B, 80));
        let dst_port = if to_listener { 80 } else { 81 };
        let repr = TcpRepr {
            src_port: 40000,
            dst_port,
            seq,
            ack,
            flags: fl,
            window: 100,
            mss: None,
            wscale: None,
        };
        // A valid segment with random flags and payload.
        link.b.receive(segment_frame(repr, &body));
        // Random bytes as a TCP payload with a right IPv4 header.
        let ip = Ipv4Repr {
            src: A, dst: B, protocol: protocol::TCP, ttl: 64, ident: 0,
            payload_len: 0, frag_offset: 0, more_frags: false,
        };
        link.b.receive(build::ipv4_frame(A_MAC, B_MAC, ip, &body).unwrap());
        // A valid segment cut short (IP length says the cut length).
        let mut seg = Vec::new();
        repr.emit(&mut seg, A, B, &body).unwrap();
        let cut = cut.min(seg.len());
        link.b.receive(build::ipv4_frame(A_MAC, B_MAC, ip, &seg[..cut]).unwrap());
        let t = link.b.telemetry();
        let tcp = t.layer(Layer::Tcp);
        prop_assert_eq!(tcp.packets, 3);
        // The cut and random ones are counted drops (or, by chance, valid).
        prop_assert!(tcp.dropped >= 1);
        prop_assert!(t.events.iter().all(|e| e.contained_faults == 0));
        drop(c);
    }
}

#[test]
fn the_syn_offers_mss_and_window_scale_and_the_window_grows_past_64k() {
    let mut link = Link::new();
    let l = link.b.handle().tcp_listen(sa(B, 80), 1).unwrap();
    let c = link.a.handle().tcp_connect(None, sa(B, 80)).unwrap();
    let syn = link.raw.1.receive().expect("the SYN");
    let ip = crate::wire::ipv4::Ipv4Packet::new_checked(&syn[14..]).unwrap();
    let seg = crate::wire::tcp::TcpPacket::new_checked(ip.payload()).unwrap();
    let r = TcpRepr::parse(&seg).unwrap();
    assert_eq!(r.flags, flags::SYN);
    assert_eq!((r.mss, r.wscale), (Some(1460), Some(7)));
    link.b.receive(syn);
    assert!(link.run_until(50, |_| l.readiness().readable));
    let s = l.accept().unwrap();
    // The receiver does not read: only a scaled window lets more than
    // 64 KiB be in its buffer.
    let data = vec![1u8; 1 << 20];
    let mut sent = 0;
    link.run_until(1000, |_| {
        sent += c.send(&data[sent..]).unwrap_or(0);
        false
    });
    assert!(s.recv_queued() > 200 * 1024, "{}", s.recv_queued());
}

#[test]
fn a_segment_with_a_bad_checksum_is_counted_and_ignored() {
    let link = Link::new();
    let _l = link.b.handle().tcp_listen(sa(B, 80), 1).unwrap();
    let syn = TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq: 1,
        flags: flags::SYN,
        window: 1000,
        ..TcpRepr::default()
    };
    let mut f = segment_frame(syn, &[]);
    let last = f.len() - 1;
    f[last] ^= 0xff; // the urgent pointer's low byte: only the checksum notices
    link.b.receive(f);
    let h = link.b.handle();
    assert_eq!(h.counters().drops(Layer::Tcp, DropReason::BadChecksum), 1);
    assert_eq!(link.b.telemetry().tcp.connections, 0);
    assert_eq!(link.b.telemetry().tcp.segments_out, 0);
}

#[test]
fn acks_are_delayed_for_one_segment_and_immediate_for_two() {
    let mut link = Link::new();
    let (c, s, _l) = connected(&mut link, 6000);
    c.set_nodelay(true);
    link.run_until(100, |_| false);
    let acks = |link: &Link| link.b.telemetry().tcp.segments_out;
    let before = acks(&link);
    c.send(b"one").unwrap();
    link.a.poll_nic();
    link.b.poll_nic();
    assert_eq!(acks(&link), before, "a lone segment's ACK waits");
    assert_eq!(s.recv_queued(), 3);
    // 40 ms later the delayed ACK goes.
    let start = link.now;
    link.run_until(100, |l| acks(l) > before);
    assert!(link.now - start >= 39);
    let before = acks(&link);
    c.send(&[0u8; 2920]).unwrap(); // two full segments
    link.a.poll_nic();
    link.b.poll_nic();
    assert_eq!(
        acks(&link),
        before + 1,
        "every second segment is ACKed at once"
    );
}

#[test]
fn sockets_are_used_from_several_threads() {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Condvar, Mutex};
    // One stack, loopback: a server thread, a client thread and a clock
    // thread driving the timers; wakers signal a condition variable. (No
    // timing is asserted: the bytes must arrive whole.)
    let link = Link::new();
    let net = link.a.handle();
    let stack = Arc::new(link.a);
    let l = net.tcp_listen(sa(Ipv4Addr::LOCALHOST, 9000), 1).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    // The clock follows real time, as the vmm's will: a simulated clock
    // racing at CPU speed would let a preempted thread look like a peer
    // silent for minutes.
    let clock = {
        let (stack, done) = (stack.clone(), done.clone());
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !done.load(Ordering::Relaxed) {
                stack.poll(start.elapsed().as_millis() as u64);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    type Signal = Arc<(Mutex<u64>, Condvar)>;
    let signal = || -> (Signal, Waker) {
        let sig: Signal = Arc::new((Mutex::new(0), Condvar::new()));
        let s = sig.clone();
        let w: Waker = Arc::new(move || {
            *s.0.lock().unwrap() += 1;
            s.1.notify_all();
        });
        (sig, w)
    };
    let wait = |sig: &Signal| {
        let g = sig.0.lock().unwrap();
        let _ = sig
            .1
            .wait_timeout(g, std::time::Duration::from_millis(5))
            .unwrap();
    };
    let total = 2 << 20;
    let server = {
        let net = net.clone();
        std::thread::spawn(move || {
            let (sig, w) = signal();
            l.set_waker(Some(w.clone()));
            let s = loop {
                match l.accept() {
                    Ok(s) => break s,
                    Err(_) => wait(&sig),
                }
            };
            s.set_waker(Some(w));
            let mut sum = 0u64;
            let mut n = 0;
            let mut buf = vec![0u8; 65536];
            loop {
                match s.recv(&mut buf, false) {
                    Ok(0) => break,
                    Ok(k) => {
                        sum += buf[..k].iter().map(|&b| u64::from(b)).sum::<u64>();
                        n += k;
                    }
                    Err(SockError::WouldBlock) => wait(&sig),
                    Err(e) => panic!("{e} after {n} bytes; {:?}", net.counters().layers()),
                }
            }
            drop(net);
            (n, sum)
        })
    };
    let client = std::thread::spawn(move || {
        let (sig, w) = signal();
        let c = net
            .tcp_connect(None, sa(Ipv4Addr::LOCALHOST, 9000))
            .unwrap();
        c.set_waker(Some(w));
        let data: Vec<u8> = (0..total).map(|i| (i % 256) as u8).collect();
        let mut sent = 0;
        while sent < total {
            match c.send(&data[sent..]) {
                Ok(k) => sent += k,
                Err(SockError::WouldBlock | SockError::InProgress) => wait(&sig),
                Err(e) => panic!("{e}"),
            }
        }
        c.shutdown(Shutdown::Write).unwrap();
        data.iter().map(|&b| u64::from(b)).sum::<u64>()
    });
    let want = client.join().unwrap();
    let (n, sum) = server.join().unwrap();
    done.store(true, Ordering::Relaxed);
    clock.join().unwrap();
    assert_eq!((n, sum), (total, want));
}

#[test]
fn simultaneous_open_connects_both_ends() {
    let mut link = Link::new();
    let a = link
        .a
        .handle()
        .tcp_connect(Some(sa(A, 5000)), sa(B, 6000))
        .unwrap();
    let b = link
        .b
        .handle()
        .tcp_connect(Some(sa(B, 6000)), sa(A, 5000))
        .unwrap();
    // The SYNs cross: each end answers the other's SYN with a SYN-ACK.
    let syn_to_a = link.raw.0.receive().unwrap();
    let syn_to_b = link.raw.1.receive().unwrap();
    link.a.receive(syn_to_a);
    link.b.receive(syn_to_b);
    assert_eq!(
        (a.state(), b.state()),
        (TcpState::SynRcvd, TcpState::SynRcvd)
    );
    assert!(link.run_until(50, |_| a.state() == TcpState::Established
        && b.state() == TcpState::Established));
    a.send(b"ping").unwrap();
    let mut buf = [0u8; 8];
    assert!(link.run_until(50, |_| b.recv(&mut buf, false) == Ok(4)));
    assert_eq!(&buf[..4], b"ping");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_segments_on_an_established_connection_never_panic(
        segs in proptest::collection::vec(
            (any::<u8>(), -3000i64..70_000, -3000i64..3000, any::<u16>(),
             proptest::collection::vec(any::<u8>(), 0..1500)),
            1..24,
        ),
    ) {
        let mut link = Link::new();
        let (c, s, _l) = connected(&mut link, 7777);
        // Learn the sequence numbers from a real data segment.
        c.send(b"x").unwrap();
        let frame = link.raw.1.receive().unwrap();
        let ip = crate::wire::ipv4::Ipv4Packet::new_checked(&frame[14..]).unwrap();
        let real = TcpRepr::parse(&crate::wire::tcp::TcpPacket::new_checked(ip.payload()).unwrap()).unwrap();
        link.b.receive(frame);
        for (fl, dseq, dack, window, payload) in segs {
            let repr = TcpRepr {
                src_port: real.src_port,
                dst_port: real.dst_port,
                seq: real.seq.wrapping_add(1).wrapping_add(dseq as u32),
                ack: real.ack.wrapping_add(dack as u32),
                flags: fl,
                window,
                mss: None,
                wscale: None,
            };
            link.b.receive(segment_frame(repr, &payload));
            link.step();
            let mut buf = [0u8; 2048];
            let _ = s.recv(&mut buf, false);
            let _ = s.send(&payload);
        }
        // Whatever state the ends are in now, the link goes quiet: no
        // ACK war between desynchronized ends (`step` would not return).
        for _ in 0..50 {
            link.jump();
            link.step();
        }
        let t = link.b.telemetry();
        prop_assert!(t.events.iter().all(|e| e.contained_faults == 0), "a handler panicked");
        prop_assert!(t.layer(Layer::Tcp).packets > 0);
        drop((c, s));
    }
}
