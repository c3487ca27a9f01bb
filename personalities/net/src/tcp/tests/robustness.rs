//! Hostile and broken segments: blind resets and SYNs (RFC 5961), bad
//! checksums, random and truncated segments never panic the stack.

use proptest::prelude::*;

use super::*;
use crate::telemetry::{DropReason, Layer};
use crate::wire::build;
use crate::wire::ipv4::{protocol, Ipv4Repr};
use crate::wire::tcp::{flags, TcpRepr};

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
