//! End-to-end tests of the graph over an in-memory NIC, with byte-exact
//! frames built independently by `wire::build`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use spin_kernel::event::{Handler, Principal};
use spin_kernel::MoundId;

use super::*;
use crate::ext::echo::UdpEcho;
use crate::ext::forward::UdpForwarder;
use crate::nic::MemNic;
use crate::wire::arp::{ArpOp, ArpRepr};
use crate::wire::build;
use crate::wire::checksum;
use crate::wire::ipv4::Ipv4Repr;

const US_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn setup() -> (NetStack, MemNic) {
    let (ours, peer) = MemNic::pair(64);
    let stack = NetStack::new(NetConfig::new(US_MAC, US, 24), Arc::new(ours)).unwrap();
    (stack, peer)
}

fn kernel() -> Principal {
    Principal::kernel("test")
}

/// Sets a frame's IPv4 ident (the stack numbers its packets) and redoes the
/// header checksum.
fn with_ident(mut f: Vec<u8>, ident: u16) -> Vec<u8> {
    f[18..20].copy_from_slice(&ident.to_be_bytes());
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f
}

fn udp(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    build::udp_frame(PEER_MAC, US_MAC, from, to, payload).unwrap()
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

#[test]
fn arp_request_is_answered_and_teaches_the_sender() {
    let (stack, peer) = setup();
    let req = ArpRepr {
        op: ArpOp::Request,
        sender_mac: PEER_MAC,
        sender_ip: PEER,
        target_mac: MacAddr::default(),
        target_ip: US,
    };
    stack.receive(build::arp_frame(PEER_MAC, MacAddr::BROADCAST, &req));
    let reply = ArpRepr {
        op: ArpOp::Reply,
        sender_mac: US_MAC,
        sender_ip: US,
        target_mac: PEER_MAC,
        target_ip: PEER,
    };
    assert_eq!(
        peer.receive(),
        Some(build::arp_frame(US_MAC, PEER_MAC, &reply))
    );
    assert_eq!(stack.arp_lookup(PEER), Some(PEER_MAC));
    // A request for another host teaches nothing new and is not answered.
    let other = ArpRepr {
        sender_ip: Ipv4Addr::new(10, 0, 0, 7),
        target_ip: Ipv4Addr::new(10, 0, 0, 9),
        ..req
    };
    stack.receive(build::arp_frame(PEER_MAC, MacAddr::BROADCAST, &other));
    assert_eq!(peer.receive(), None);
    assert_eq!(stack.arp_lookup(Ipv4Addr::new(10, 0, 0, 7)), None);
    assert_eq!(
        stack
            .handle()
            .counters()
            .drops(Layer::Arp, DropReason::NotForUs),
        1
    );
}

#[test]
fn udp_echo_resolves_the_peer_then_answers_byte_exact() {
    let (stack, peer) = setup();
    let echo = UdpEcho::install(&stack.handle(), &kernel(), 7).unwrap();
    stack.receive(udp(sa(PEER, 5555), sa(US, 7), b"0123456789abcdef"));
    // The reply waits for ARP: a broadcast request goes out first.
    let req = ArpRepr {
        op: ArpOp::Request,
        sender_mac: US_MAC,
        sender_ip: US,
        target_mac: MacAddr::default(),
        target_ip: PEER,
    };
    assert_eq!(
        peer.receive(),
        Some(build::arp_frame(US_MAC, MacAddr::BROADCAST, &req))
    );
    assert_eq!(peer.receive(), None);
    let reply = ArpRepr {
        op: ArpOp::Reply,
        sender_mac: PEER_MAC,
        sender_ip: PEER,
        target_mac: US_MAC,
        target_ip: US,
    };
    stack.receive(build::arp_frame(PEER_MAC, US_MAC, &reply));
    let want = build::udp_frame(
        US_MAC,
        PEER_MAC,
        sa(US, 7),
        sa(PEER, 5555),
        b"0123456789abcdef",
    )
    .unwrap();
    assert_eq!(peer.receive(), Some(with_ident(want.clone(), 1)));
    // Now resolved: the next echo goes straight out.
    stack.receive(udp(sa(PEER, 5555), sa(US, 7), b"0123456789abcdef"));
    assert_eq!(peer.receive(), Some(with_ident(want, 2)));
    assert_eq!(echo.echoed(), 2);
    let t = stack.telemetry();
    assert_eq!(t.layer(Layer::Udp).packets, 2);
    assert_eq!(t.layer(Layer::Send).packets, 3);
    let udp_ev = t
        .events
        .iter()
        .find(|e| e.name == "UDP.PacketArrived")
        .unwrap();
    assert_eq!(udp_ev.handler_stats[0].dispatches, 2);
    assert!(udp_ev.handler_stats[0].indexed);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<NetTelemetry>(&json).unwrap(), t);
}

#[test]
fn arp_requests_retry_then_give_up_and_entries_time_out() {
    let (stack, peer) = setup();
    let _echo = UdpEcho::install(&stack.handle(), &kernel(), 7).unwrap();
    stack.receive(udp(sa(PEER, 1), sa(US, 7), b"x"));
    assert!(peer.receive().is_some(), "first request");
    stack.poll(999);
    assert_eq!(peer.receive(), None);
    stack.poll(1000);
    assert!(peer.receive().is_some(), "second request");
    stack.poll(2000);
    assert!(peer.receive().is_some(), "third request");
    stack.poll(3000);
    assert_eq!(peer.receive(), None);
    let t = stack.telemetry();
    assert_eq!(
        t.layer(Layer::Send).drops.get(&DropReason::ArpUnresolved),
        Some(&1)
    );
    assert_eq!(t.arp_pending, 0);

    let reply = ArpRepr {
        op: ArpOp::Reply,
        sender_mac: PEER_MAC,
        sender_ip: PEER,
        target_mac: US_MAC,
        target_ip: US,
    };
    stack.receive(build::arp_frame(PEER_MAC, US_MAC, &reply));
    assert_eq!(stack.arp_lookup(PEER), Some(PEER_MAC));
    stack.poll(3000 + 59_999);
    assert_eq!(stack.arp_lookup(PEER), Some(PEER_MAC));
    stack.poll(3000 + 60_000);
    assert_eq!(stack.arp_lookup(PEER), None);
    assert_eq!(stack.telemetry().arp_entries, 0);
}

#[test]
fn ping_gets_a_byte_exact_reply() {
    let (stack, peer) = setup();
    stack.add_static_arp(PEER, PEER_MAC);
    let data: Vec<u8> = (0..56).collect();
    stack.receive(
        build::icmp_echo_frame(PEER_MAC, US_MAC, PEER, US, true, 0x4242, 3, &data).unwrap(),
    );
    let want = build::icmp_echo_frame(US_MAC, PEER_MAC, US, PEER, false, 0x4242, 3, &data).unwrap();
    assert_eq!(peer.receive(), Some(with_ident(want, 1)));
    // A corrupted one is counted, not answered.
    let mut bad = build::icmp_echo_frame(PEER_MAC, US_MAC, PEER, US, true, 1, 1, b"x").unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    stack.receive(bad);
    assert_eq!(peer.receive(), None);
    assert_eq!(
        stack
            .handle()
            .counters()
            .drops(Layer::Icmp, DropReason::BadChecksum),
        1
    );
}

#[test]
fn a_port_without_listener_answers_port_unreachable() {
    let (stack, peer) = setup();
    stack.add_static_arp(PEER, PEER_MAC);
    let f = udp(sa(PEER, 4000), sa(US, 9999), b"hello");
    stack.receive(f.clone());
    let mut quote = f[14..34].to_vec();
    quote.extend_from_slice(&f[34..42]);
    let mut m = Vec::new();
    crate::wire::icmp::emit(&mut m, 3, 3, [0; 4], &quote);
    let hdr = Ipv4Repr {
        src: US,
        dst: PEER,
        protocol: 1,
        ttl: 64,
        ident: 1,
        payload_len: 0,
        frag_offset: 0,
        more_frags: false,
    };
    assert_eq!(
        peer.receive(),
        Some(build::ipv4_frame(US_MAC, PEER_MAC, hdr, &m).unwrap())
    );
    assert_eq!(
        stack
            .handle()
            .counters()
            .drops(Layer::Udp, DropReason::NoHandler),
        1
    );
}

#[test]
fn fragmented_datagram_is_reassembled_and_echoed_in_fragments() {
    let (stack, peer) = setup();
    stack.add_static_arp(PEER, PEER_MAC);
    let _echo = UdpEcho::install(&stack.handle(), &kernel(), 7).unwrap();
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let mut dgram = Vec::new();
    crate::wire::udp::emit(&mut dgram, PEER, US, 6000, 7, &payload).unwrap();
    // Three fragments, sent last first.
    let frag = |off: usize, end: usize| {
        let hdr = Ipv4Repr {
            src: PEER,
            dst: US,
            protocol: 17,
            ttl: 64,
            ident: 77,
            payload_len: 0,
            frag_offset: off,
            more_frags: end < dgram.len(),
        };
        build::ipv4_frame(PEER_MAC, US_MAC, hdr, &dgram[off..end]).unwrap()
    };
    stack.receive(frag(2960, dgram.len()));
    stack.receive(frag(1480, 2960));
    assert_eq!(stack.telemetry().reassembling, 1);
    stack.receive(frag(0, 1480));
    assert_eq!(stack.telemetry().reassembling, 0);
    // The echo is 3008 bytes of UDP: fragmented to the 1500-byte MTU.
    let mut got = Vec::new();
    while let Some(f) = peer.receive() {
        assert!(f.len() <= 1514);
        got.push(f);
    }
    assert_eq!(got.len(), 3);
    let mut want = Vec::new();
    crate::wire::udp::emit(&mut want, US, PEER, 7, 6000, &payload).unwrap();
    let mut joined = Vec::new();
    for f in &got {
        joined.extend_from_slice(&f[34..]);
    }
    assert_eq!(joined, want);
    // Feeding our own fragments back to a second stack reassembles them.
}

#[test]
fn incomplete_datagram_times_out() {
    let (stack, _peer) = setup();
    let hdr = Ipv4Repr {
        src: PEER,
        dst: US,
        protocol: 17,
        ttl: 64,
        ident: 5,
        payload_len: 0,
        frag_offset: 0,
        more_frags: true,
    };
    stack.receive(build::ipv4_frame(PEER_MAC, US_MAC, hdr, &[0; 16]).unwrap());
    stack.poll(29_999);
    assert_eq!(stack.telemetry().reassembling, 1);
    stack.poll(30_000);
    let t = stack.telemetry();
    assert_eq!(t.reassembling, 0);
    assert_eq!(
        t.layer(Layer::Ip).drops.get(&DropReason::FragmentTimeout),
        Some(&1)
    );
}

#[test]
fn forwarder_bounces_between_client_and_target() {
    let (stack, peer) = setup();
    let target = Ipv4Addr::new(10, 0, 0, 3);
    let target_mac = MacAddr([2, 0, 0, 0, 0, 3]);
    stack.add_static_arp(PEER, PEER_MAC);
    stack.add_static_arp(target, target_mac);
    let fwd = UdpForwarder::install(&stack.handle(), &kernel(), 9000, sa(target, 7)).unwrap();
    stack.receive(udp(sa(PEER, 5000), sa(US, 9000), b"req"));
    let out = build::udp_frame(US_MAC, target_mac, sa(US, 9000), sa(target, 7), b"req").unwrap();
    assert_eq!(peer.receive(), Some(with_ident(out, 1)));
    stack.receive(
        build::udp_frame(target_mac, US_MAC, sa(target, 7), sa(US, 9000), b"resp").unwrap(),
    );
    let back = build::udp_frame(US_MAC, PEER_MAC, sa(US, 9000), sa(PEER, 5000), b"resp").unwrap();
    assert_eq!(peer.receive(), Some(with_ident(back, 2)));
    assert_eq!(fwd.forwarded(), 2);
}

#[test]
fn send_packet_is_an_event_extensions_can_watch() {
    let (stack, peer) = setup();
    stack.add_static_arp(PEER, PEER_MAC);
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    stack
        .events()
        .send
        .install(
            &kernel(),
            Handler::new(move |_| {
                s.fetch_add(1, Ordering::Relaxed);
            })
            .guard(stack.events().send_protocol(17)),
        )
        .unwrap();
    stack.handle().send_udp(1, sa(PEER, 2), b"a");
    stack.handle().send_icmp(PEER, 8, 0, [0; 4], b"b");
    assert_eq!(seen.load(Ordering::Relaxed), 1);
    assert_eq!(peer.pending(), 2);
}

#[test]
fn mounds_may_not_handle_link_layer_packets() {
    let (stack, _peer) = setup();
    let mound = Principal::mound("video", MoundId(3));
    assert!(stack
        .events()
        .ether
        .install(&mound, Handler::new(|_| ()))
        .is_err());
    assert!(stack
        .events()
        .udp
        .install(
            &mound,
            Handler::new(|_| ()).guard(stack.events().udp_port(5))
        )
        .is_ok());
}

#[test]
fn dropping_the_stack_frees_it() {
    let (stack, _peer) = setup();
    let weak = Arc::downgrade(&stack.handle().shared);
    drop(stack);
    assert!(weak.upgrade().is_none());
}

/// Valid frames of every kind the stack handles, for truncation.
fn valid_frames() -> Vec<Vec<u8>> {
    let req = ArpRepr {
        op: ArpOp::Request,
        sender_mac: PEER_MAC,
        sender_ip: PEER,
        target_mac: MacAddr::default(),
        target_ip: US,
    };
    let frag = Ipv4Repr {
        src: PEER,
        dst: US,
        protocol: 17,
        ttl: 64,
        ident: 9,
        payload_len: 0,
        frag_offset: 8,
        more_frags: true,
    };
    vec![
        udp(sa(PEER, 5555), sa(US, 7), b"0123456789abcdef"),
        udp(sa(PEER, 5555), sa(US, 9), b"no listener"),
        build::icmp_echo_frame(PEER_MAC, US_MAC, PEER, US, true, 1, 2, b"ping data").unwrap(),
        build::arp_frame(PEER_MAC, MacAddr::BROADCAST, &req),
        build::ipv4_frame(PEER_MAC, US_MAC, frag, &[7; 16]).unwrap(),
    ]
}

fn no_faults(stack: &NetStack) -> bool {
    stack
        .telemetry()
        .events
        .iter()
        .all(|e| e.contained_faults == 0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Truncating a valid frame anywhere yields exactly one counted drop and
    /// no output.
    #[test]
    fn truncated_frames_are_counted_drops(which in 0usize..5, cut in 0usize..200) {
        let (stack, peer) = setup();
        stack.add_static_arp(PEER, PEER_MAC);
        let _echo = UdpEcho::install(&stack.handle(), &kernel(), 7).unwrap();
        let f = &valid_frames()[which];
        let cut = cut % f.len();
        stack.receive(f[..cut].to_vec());
        let c = stack.handle();
        prop_assert_eq!(c.counters().total_drops(), 1);
        prop_assert_eq!(peer.pending(), 0);
        prop_assert_eq!(stack.telemetry().reassembling, 0);
        prop_assert!(no_faults(&stack));
    }

    /// Random bytes behind a header addressed to us, with each ethertype we
    /// handle, never panic a handler and are each accounted for: dropped,
    /// answered, or held (reassembly, ARP).
    #[test]
    fn random_frames_never_panic(frames in proptest::collection::vec(
        (0u8..3, proptest::collection::vec(any::<u8>(), 0..120)), 1..16)) {
        let (stack, peer) = setup();
        stack.add_static_arp(PEER, PEER_MAC);
        let _echo = UdpEcho::install(&stack.handle(), &kernel(), 7).unwrap();
        for (kind, body) in frames {
            let t = [0x0800u16, 0x0806, 0x1234][usize::from(kind)];
            let mut f = build::ethernet(PEER_MAC, US_MAC, t, &body);
            if kind == 0 && f.len() >= 34 {
                // Make many of them pass the IPv4 header checks so the
                // upper layers see garbage too.
                f[14] = 0x45;
                let total = (f.len() - 14) as u16;
                f[16..18].copy_from_slice(&total.to_be_bytes());
                f[26..30].copy_from_slice(&PEER.octets());
                f[30..34].copy_from_slice(&US.octets());
                let ident = u16::from_be_bytes([f[18], f[19]]);
                f = with_ident(f, ident);
            }
            let before = (stack.handle().counters().total_drops(), peer.pending(), stack.telemetry());
            stack.receive(f);
            let after = stack.telemetry();
            let accounted = stack.handle().counters().total_drops() > before.0
                || peer.pending() > before.1
                || after.reassembling != before.2.reassembling
                || after.arp_entries != before.2.arp_entries
                || after.layer(Layer::Icmp).packets > before.2.layer(Layer::Icmp).packets;
            prop_assert!(accounted);
        }
        prop_assert!(no_faults(&stack));
    }

    /// Wholly random frames, any length, never panic.
    #[test]
    fn wholly_random_frames_never_panic(body in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let (stack, _peer) = setup();
        stack.receive(body);
        prop_assert!(no_faults(&stack));
        prop_assert_eq!(stack.handle().counters().packets(Layer::Ether), 1);
    }
}
