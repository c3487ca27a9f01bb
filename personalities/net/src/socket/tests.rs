//! Socket tests over an in-memory link and the loopback path.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::nic::MemNic;
use crate::stack::{NetConfig, NetStack};
use crate::telemetry::{DropReason, Layer};
use crate::wire::build;
use crate::wire::ethernet::MacAddr;
use crate::Nic;

const US_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn setup() -> (NetStack, MemNic) {
    let (ours, peer) = MemNic::pair(64);
    let stack = NetStack::new(NetConfig::new(US_MAC, US, 24), Arc::new(ours)).unwrap();
    stack.add_static_arp(PEER, PEER_MAC);
    (stack, peer)
}

fn from_peer(stack: &NetStack, src_port: u16, dst_port: u16, payload: &[u8]) {
    stack.receive(
        build::udp_frame(
            PEER_MAC,
            US_MAC,
            sa(PEER, src_port),
            sa(US, dst_port),
            payload,
        )
        .unwrap(),
    );
}

#[test]
fn udp_bind_rules_and_ephemeral_ports() {
    let (stack, _peer) = setup();
    let net = stack.handle();
    let a = net.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    assert_eq!(a.local_addr(), sa(Ipv4Addr::UNSPECIFIED, 5000));
    assert_eq!(
        net.udp_bind(sa(US, 5000)).unwrap_err(),
        SockError::AddrInUse
    );
    assert_eq!(
        net.udp_bind(sa(Ipv4Addr::new(10, 0, 0, 9), 5001))
            .unwrap_err(),
        SockError::AddrNotAvailable
    );
    let l = net.udp_bind(sa(Ipv4Addr::LOCALHOST, 5001)).unwrap();
    assert_eq!(l.local_addr(), sa(Ipv4Addr::LOCALHOST, 5001));
    let mut seen = std::collections::BTreeSet::new();
    let eph: Vec<_> = (0..50).map(|_| net.udp_bind(sa(US, 0)).unwrap()).collect();
    for s in &eph {
        let p = s.local_addr().port();
        assert!((EPHEMERAL_FIRST..=EPHEMERAL_LAST).contains(&p));
        assert!(seen.insert(p), "ephemeral port {p} handed out twice");
    }
    // Closing frees the port.
    drop(a);
    let again = net.udp_bind(sa(US, 5000)).unwrap();
    assert_eq!(again.local_addr().port(), 5000);
}

#[test]
fn udp_datagrams_truncate_peek_and_report_their_length() {
    let (stack, _peer) = setup();
    let s = stack.handle().udp_bind(sa(US, 9000)).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.recv_from(&mut buf, false), Err(SockError::WouldBlock));
    assert!(!s.readiness().readable);
    from_peer(&stack, 1111, 9000, b"hello world");
    from_peer(&stack, 1111, 9000, b"second");
    assert!(s.readiness().readable);
    assert_eq!(s.recv_from(&mut buf, true), Ok((4, 11, sa(PEER, 1111))));
    assert_eq!(&buf, b"hell");
    let mut big = [0u8; 64];
    assert_eq!(s.recv_from(&mut big, false), Ok((11, 11, sa(PEER, 1111))));
    assert_eq!(&big[..11], b"hello world");
    assert_eq!(s.recv_from(&mut big, false), Ok((6, 6, sa(PEER, 1111))));
    assert_eq!(s.recv_from(&mut big, false), Err(SockError::WouldBlock));
}

#[test]
fn udp_connect_filters_and_sets_the_default_destination() {
    let (stack, peer) = setup();
    let s = stack.handle().udp_bind(sa(US, 9000)).unwrap();
    assert_eq!(s.send(b"x"), Err(SockError::NotConnected));
    s.connect(Some(sa(PEER, 2222))).unwrap();
    assert_eq!(s.peer_addr(), Some(sa(PEER, 2222)));
    from_peer(&stack, 1111, 9000, b"filtered");
    from_peer(&stack, 2222, 9000, b"wanted");
    let mut buf = [0u8; 16];
    assert_eq!(s.recv_from(&mut buf, false), Ok((6, 6, sa(PEER, 2222))));
    assert_eq!(s.recv_from(&mut buf, false), Err(SockError::WouldBlock));
    // The filtered datagram found no socket: counted, and port unreachable.
    let c = stack.handle();
    assert_eq!(c.counters().drops(Layer::Udp, DropReason::NoHandler), 1);
    let unreachable = peer.receive().expect("ICMP port unreachable");
    assert_eq!(unreachable[23], crate::wire::ipv4::protocol::ICMP);
    assert_eq!(s.send(b"reply"), Ok(5));
    let want = build::udp_frame(US_MAC, PEER_MAC, sa(US, 9000), sa(PEER, 2222), b"reply").unwrap();
    let got = peer.receive().expect("the datagram");
    assert_eq!(got[42..], want[42..]);
    s.connect(None).unwrap();
    from_peer(&stack, 1111, 9000, b"open again");
    assert_eq!(s.recv_from(&mut buf, false).unwrap().2, sa(PEER, 1111));
    assert_eq!(
        s.send_to(&vec![0; 65_508], sa(PEER, 1)),
        Err(SockError::MessageTooLong)
    );
    assert_eq!(
        s.send_to(b"x", sa(Ipv4Addr::new(192, 168, 9, 9), 1)),
        Err(SockError::Unreachable)
    );
}

#[test]
fn udp_bounded_queue_drops_are_counted() {
    let (stack, _peer) = setup();
    let s = stack.handle().udp_bind(sa(US, 9000)).unwrap();
    s.set_recv_capacity(100);
    assert_eq!(s.recv_capacity(), 100);
    for _ in 0..5 {
        from_peer(&stack, 1111, 9000, &[7u8; 40]);
    }
    // 40 + 40 fit in 100; the other three are dropped.
    assert_eq!(s.dropped(), 3);
    assert_eq!(
        stack
            .handle()
            .counters()
            .drops(Layer::Udp, DropReason::SocketQueueFull),
        3
    );
    let mut buf = [0u8; 64];
    assert!(s.recv_from(&mut buf, false).is_ok());
    assert!(s.recv_from(&mut buf, false).is_ok());
    assert_eq!(s.recv_from(&mut buf, false), Err(SockError::WouldBlock));
}

#[test]
fn udp_waker_is_called_on_arrival() {
    let (stack, _peer) = setup();
    let s = stack.handle().udp_bind(sa(US, 9000)).unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    s.set_waker(Some(Arc::new(move || {
        c.fetch_add(1, Ordering::Relaxed);
    })));
    from_peer(&stack, 1111, 9000, b"a");
    from_peer(&stack, 1111, 9001, b"not ours");
    from_peer(&stack, 1111, 9000, b"b");
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    s.set_waker(None);
    from_peer(&stack, 1111, 9000, b"c");
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[test]
fn udp_loopback_between_two_sockets_never_touches_the_nic() {
    let (stack, peer) = setup();
    let net = stack.handle();
    let a = net.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 4000)).unwrap();
    let b = net.udp_bind(sa(Ipv4Addr::LOCALHOST, 4001)).unwrap();
    let woke = Arc::new(AtomicU64::new(0));
    let w = woke.clone();
    b.set_waker(Some(Arc::new(move || {
        w.fetch_add(1, Ordering::Relaxed);
    })));
    assert_eq!(a.send_to(b"over lo", sa(Ipv4Addr::LOCALHOST, 4001)), Ok(7));
    assert_eq!(woke.load(Ordering::Relaxed), 1);
    let mut buf = [0u8; 16];
    assert_eq!(
        b.recv_from(&mut buf, false),
        Ok((7, 7, sa(Ipv4Addr::LOCALHOST, 4000)))
    );
    b.connect(Some(sa(Ipv4Addr::LOCALHOST, 4000))).unwrap();
    assert_eq!(b.send(b"back"), Ok(4));
    assert_eq!(
        a.recv_from(&mut buf, false),
        Ok((4, 4, sa(Ipv4Addr::LOCALHOST, 4001)))
    );
    // To our own address too; a socket on 127.0.0.1 does not see it.
    assert_eq!(a.send_to(b"own", sa(US, 4001)), Ok(3));
    assert_eq!(b.recv_from(&mut buf, false), Err(SockError::WouldBlock));
    let c = net.udp_bind(sa(US, 4002)).unwrap();
    assert_eq!(a.send_to(b"own", sa(US, 4002)), Ok(3));
    assert_eq!(c.recv_from(&mut buf, false), Ok((3, 3, sa(US, 4000))));
    // Nothing went to the wire, and 127.0.0.1 cannot send outside.
    assert_eq!(peer.receive(), None);
    assert_eq!(b.send_to(b"x", sa(PEER, 1)), Err(SockError::InvalidInput));
}

#[test]
fn udp_loopback_from_a_handler_is_delivered_after_it_returns() {
    // An echo on 127.0.0.1:7 answers a socket on the same stack: the answer
    // is sent inside the echo's handler, which runs inside the delivery of
    // the request — it must be queued, not delivered recursively.
    let (stack, _peer) = setup();
    let net = stack.handle();
    let echo =
        crate::ext::echo::UdpEcho::install(&net, &spin_kernel::event::Principal::kernel("test"), 7)
            .unwrap();
    let s = net.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    for i in 0..3u8 {
        s.send_to(&[i; 10], sa(Ipv4Addr::LOCALHOST, 7)).unwrap();
    }
    assert_eq!(echo.echoed(), 3);
    let mut buf = [0u8; 16];
    for i in 0..3u8 {
        let (n, _, from) = s.recv_from(&mut buf, false).unwrap();
        assert_eq!((n, buf[0], from), (10, i, sa(Ipv4Addr::LOCALHOST, 7)));
    }
}

#[test]
fn udp_sockets_are_shared_across_threads() {
    let (stack, _peer) = setup();
    let net = stack.handle();
    let rx = Arc::new(net.udp_bind(sa(Ipv4Addr::LOCALHOST, 6000)).unwrap());
    rx.set_recv_capacity(1 << 20);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let net = net.clone();
            std::thread::spawn(move || {
                let s = net.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
                for i in 0..100u8 {
                    s.send_to(&[t, i], sa(Ipv4Addr::LOCALHOST, 6000)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut got = 0;
    let mut buf = [0u8; 4];
    while rx.recv_from(&mut buf, false).is_ok() {
        got += 1;
    }
    assert_eq!(got, 400);
}

#[test]
fn a_connected_udp_socket_hears_port_unreachable_once_and_an_unconnected_one_does_not() {
    let (stack, peer_nic) = setup();
    // The peer is a second stack on the link with nothing on port 9999.
    let peer = NetStack::new(NetConfig::new(PEER_MAC, PEER, 24), Arc::new(peer_nic)).unwrap();
    peer.add_static_arp(US, US_MAC);
    let net = stack.handle();
    let woken = Arc::new(AtomicU64::new(0));
    let c = net.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let w = woken.clone();
    c.set_waker(Some(Arc::new(move || {
        w.fetch_add(1, Ordering::Relaxed);
    })));
    c.connect(Some(sa(PEER, 9999))).unwrap();
    let u = net.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    c.send(b"anyone?").unwrap();
    u.send_to(b"anyone?", sa(PEER, 9999)).unwrap();
    peer.poll_nic();
    stack.poll_nic();
    assert!(c.readiness().error);
    assert_eq!(woken.load(Ordering::Relaxed), 1);
    let mut buf = [0u8; 16];
    assert_eq!(
        c.recv_from(&mut buf, false),
        Err(SockError::ConnectionRefused)
    );
    // Reported once; then the socket works as before.
    assert!(!c.readiness().error);
    assert_eq!(c.recv_from(&mut buf, false), Err(SockError::WouldBlock));
    assert_eq!(u.recv_from(&mut buf, false), Err(SockError::WouldBlock));
    assert_eq!(u.take_error(), None);
    // SO_ERROR takes it too, and a send reports it first.
    c.send(b"again").unwrap();
    peer.poll_nic();
    stack.poll_nic();
    assert_eq!(c.send(b"x"), Err(SockError::ConnectionRefused));
    c.send(b"again").unwrap();
    peer.poll_nic();
    stack.poll_nic();
    assert_eq!(c.take_error(), Some(SockError::ConnectionRefused));
    assert_eq!(c.take_error(), None);
}

#[test]
fn port_unreachable_over_loopback_reaches_the_connected_sender() {
    let (stack, _peer) = setup();
    let net = stack.handle();
    let c = net.udp_bind(sa(Ipv4Addr::LOCALHOST, 0)).unwrap();
    c.connect(Some(sa(Ipv4Addr::LOCALHOST, 9))).unwrap();
    c.send(b"x").unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(
        c.recv_from(&mut buf, false),
        Err(SockError::ConnectionRefused)
    );
}
