//! Opening and closing: handshakes (simultaneous open, the SYN's options),
//! closes and resets, refusals and timeouts, backlog and port rules.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::socket::Shutdown;
use crate::telemetry::{DropReason, Layer};
use crate::wire::tcp::{flags, TcpRepr};

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
    assert_eq!(
        net.tcp_listen(sa(B, 7020), 1).unwrap_err(),
        SockError::AddrInUse
    );
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
