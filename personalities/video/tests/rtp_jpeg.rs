//! RTP/JPEG end to end: the bundled clip's frames are cut into packets and
//! rebuilt, decoded frames are compared pixel for pixel, losses drop frames
//! and are counted, and nothing a packet holds panics the receiver.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use proptest::prelude::*;
use spin_video::jpeg::{self, decode_rgb, JpegError, Subsampling};
use spin_video::mjpeg::{split_frames, ClipError};
use spin_video::packetize::{frame_timestamp, Packetizer, DEFAULT_MAX_PACKET};
use spin_video::reassemble::Reassembler;
use spin_video::testpattern;
use spin_video::wire::rtp::RtpHeader;

fn clip() -> Vec<u8> {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/video/testclip.mjpeg"
    );
    std::fs::read(p).expect("the bundled clip (cargo run -p spin-video --example gen_clip)")
}

fn encode(rgb: &[u8], w: u16, h: u16, f: impl FnOnce(&mut Encoder<&mut Vec<u8>>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 85);
    e.set_sampling_factor(SamplingFactor::F_2_1);
    f(&mut e);
    e.encode(rgb, w, h, ColorType::Rgb).expect("encodes");
    out
}

#[test]
fn every_clip_frame_parses_as_4_2_0_160x120() {
    let c = clip();
    let frames = split_frames(&c).expect("clip splits");
    assert_eq!(frames.len(), 90);
    for r in frames {
        let f = jpeg::parse(&c[r]).expect("frame parses");
        assert_eq!(
            (f.width, f.height, f.subsampling),
            (160, 120, Subsampling::S420)
        );
        assert!(!f.scan.is_empty());
    }
}

#[test]
fn clip_frames_round_trip_through_packets_pixel_for_pixel() {
    let c = clip();
    let mut tx = Packetizer::new(0x5350_494e, 65_500, 400); // small packets, seq wraps
    let mut rx = Reassembler::default();
    let mut packets_seen = 0;
    for (i, r) in split_frames(&c).expect("splits").into_iter().enumerate() {
        let original = &c[r];
        let f = jpeg::parse(original).expect("parses");
        let ts = frame_timestamp(1000, i as u64, 30);
        let packets = tx.packetize(&f, ts).expect("packetizes");
        assert!(
            packets.len() > 1,
            "frame {i} fits one packet: use smaller ones"
        );
        let mut out = None;
        for (k, p) in packets.iter().enumerate() {
            assert!(p.len() <= 400);
            let (h, _) = RtpHeader::parse(p).expect("our header parses");
            assert_eq!(h.marker, k == packets.len() - 1);
            assert_eq!(h.timestamp, ts);
            packets_seen += 1;
            if let Some(frame) = rx.push(p) {
                assert!(out.is_none());
                out = Some(frame);
            }
        }
        let rebuilt = out.expect("the last packet completes the frame");
        assert_eq!(rebuilt.timestamp, ts);
        assert_eq!((rebuilt.width, rebuilt.height), (160, 120));
        let a = decode_rgb(original).expect("original decodes");
        let b = decode_rgb(&rebuilt.jpeg).expect("rebuilt decodes");
        assert_eq!(a, b, "frame {i} differs after the round trip");
    }
    let s = rx.stats();
    assert_eq!(s.frames, 90);
    assert_eq!(s.packets, packets_seen);
    assert_eq!((s.dropped_frames, s.malformed, s.foreign), (0, 0, 0));
    // Default-sized packets fit an Ethernet frame with IPv4 and UDP headers.
    let f0 = jpeg::parse(&c[split_frames(&c).expect("splits")[0].clone()]).expect("parses");
    let big = Packetizer::new(1, 0, DEFAULT_MAX_PACKET)
        .packetize(&f0, 0)
        .expect("packetizes");
    assert!(big
        .iter()
        .all(|p| p.len() <= DEFAULT_MAX_PACKET && p.len() + 28 <= 1500));
    // 90 kHz timestamps: 3000 ticks per frame at 30 fps.
    assert_eq!(frame_timestamp(0, 30, 30), 90_000);
    assert_eq!(frame_timestamp(u32::MAX, 1, 30), 2999);
}

#[test]
fn decoded_frame_resembles_the_pattern() {
    let c = clip();
    let r = split_frames(&c).expect("splits")[7].clone();
    let img = decode_rgb(&c[r]).expect("decodes");
    let want = testpattern::frame(7, 160, 120);
    let mse: f64 = img
        .pixels
        .iter()
        .zip(&want)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum::<f64>()
        / want.len() as f64;
    assert!(mse < 200.0, "decoded frame far from its source (MSE {mse})");
}

fn packets_of(frame_index: usize, seq: u16) -> Vec<Vec<u8>> {
    let c = clip();
    let r = split_frames(&c).expect("splits")[frame_index].clone();
    let f = jpeg::parse(&c[r]).expect("parses");
    Packetizer::new(7, seq, 500)
        .packetize(&f, frame_timestamp(0, frame_index as u64, 30))
        .expect("packetizes")
}

#[test]
fn a_lost_packet_drops_its_frame_only() {
    let mut rx = Reassembler::default();
    let mut a = packets_of(0, 0);
    assert!(a.len() >= 3);
    a.remove(1);
    for p in &a {
        assert!(rx.push(p).is_none());
    }
    assert_eq!(rx.stats().dropped_frames, 1);
    let b = packets_of(1, 100);
    let done: Vec<_> = b.iter().filter_map(|p| rx.push(p)).collect();
    assert_eq!(done.len(), 1);
    assert_eq!(rx.stats().frames, 1);
}

#[test]
fn a_lost_marker_packet_is_noticed_by_the_next_frame() {
    let mut rx = Reassembler::default();
    let mut a = packets_of(2, 0);
    a.pop();
    for p in &a {
        assert!(rx.push(p).is_none());
    }
    assert_eq!(rx.stats().dropped_frames, 0, "not yet known lost");
    let b = packets_of(3, 50);
    assert_eq!(b.iter().filter_map(|p| rx.push(p)).count(), 1);
    assert_eq!(rx.stats().dropped_frames, 1);
    assert_eq!(rx.stats().frames, 1);
}

#[test]
fn a_lost_first_packet_drops_the_frame() {
    let mut rx = Reassembler::default();
    let a = packets_of(4, 0);
    for p in &a[1..] {
        assert!(rx.push(p).is_none());
    }
    assert_eq!(rx.stats().dropped_frames, 1);
}

#[test]
fn q_below_128_uses_the_scaled_standard_tables() {
    let mut rx = Reassembler::default();
    let mut a = packets_of(5, 0);
    // Rewrite the first packet: Q = 50, no quantization table header.
    let first = &mut a[0];
    first[12 + 5] = 50;
    first.drain(20..20 + 132);
    let frame = a
        .iter()
        .filter_map(|p| rx.push(p))
        .next()
        .expect("completes");
    let parsed = jpeg::parse(&frame.jpeg).expect("rebuilt parses");
    assert_eq!(parsed.quant, jpeg::tables::quant_tables_for_q(50));
    decode_rgb(&frame.jpeg).expect("decodes");
}

#[test]
fn another_stream_and_payload_type_are_foreign() {
    let mut rx = Reassembler::default();
    let a = packets_of(6, 0);
    rx.push(&a[0]);
    let mut other = a[1].clone();
    other[8..12].copy_from_slice(&[9, 9, 9, 9]); // another SSRC
    assert!(rx.push(&other).is_none());
    let mut pt = a[1].clone();
    pt[1] = 96;
    assert!(rx.push(&pt).is_none());
    assert_eq!(rx.stats().foreign, 2);
}

#[test]
fn jpegs_rfc_2435_cannot_carry_are_refused() {
    let rgb = testpattern::frame(1, 64, 48);
    let ok = encode(&rgb, 64, 48, |_| {});
    assert_eq!(
        jpeg::parse(&ok).expect("4:2:2 parses").subsampling,
        Subsampling::S422
    );
    let progressive = encode(&rgb, 64, 48, |e| e.set_progressive(true));
    assert!(matches!(
        jpeg::parse(&progressive),
        Err(JpegError::Unsupported(_))
    ));
    let optimized = encode(&rgb, 64, 48, |e| e.set_optimized_huffman_tables(true));
    assert!(matches!(
        jpeg::parse(&optimized),
        Err(JpegError::Unsupported(_))
    ));
    let restart = encode(&rgb, 64, 48, |e| e.set_restart_interval(4));
    assert!(matches!(
        jpeg::parse(&restart),
        Err(JpegError::Unsupported(_))
    ));
    let s444 = encode(&rgb, 64, 48, |e| {
        e.set_sampling_factor(SamplingFactor::F_1_1)
    });
    assert!(matches!(jpeg::parse(&s444), Err(JpegError::Unsupported(_))));
    let odd = encode(&testpattern::frame(1, 60, 44), 60, 44, |_| {});
    assert!(matches!(jpeg::parse(&odd), Err(JpegError::Unsupported(_))));
    assert!(jpeg::parse(&ok[..ok.len() / 3]).is_err());
    assert_eq!(
        jpeg::parse(b"not a jpeg"),
        Err(JpegError::Malformed("no start-of-image marker"))
    );
}

#[test]
fn clip_splitting_errors() {
    let c = clip();
    let frames = split_frames(&c).expect("splits");
    let cut = frames[1].start + 10;
    assert_eq!(
        split_frames(&c[..cut]),
        Err(ClipError::Truncated(frames[1].start))
    );
    let mut junk = c[..frames[1].end].to_vec();
    junk.extend_from_slice(b"junk");
    assert_eq!(split_frames(&junk), Err(ClipError::NotJpeg(frames[1].end)));
    assert_eq!(split_frames(&[]), Err(ClipError::Empty));
}

fn count(rx: &Reassembler) -> u64 {
    let s = rx.stats();
    s.packets + s.malformed + s.foreign + s.unsupported
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_packets_never_panic_and_are_all_counted(
        packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..40)
    ) {
        let mut rx = Reassembler::new(4096);
        for (i, p) in packets.iter().enumerate() {
            if let Some(f) = rx.push(p) {
                let _ = decode_rgb(&f.jpeg);
            }
            prop_assert_eq!(count(&rx), i as u64 + 1);
        }
    }

    #[test]
    fn damaged_real_packets_never_panic(
        frame in 0usize..90,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in proptest::option::of((any::<prop::sample::Index>(), any::<prop::sample::Index>())),
        swap in proptest::option::of((any::<prop::sample::Index>(), any::<prop::sample::Index>())),
    ) {
        let mut ps = packets_of(frame, 0);
        for (pi, bi, v) in edits {
            let p = pi.get_mut(&mut ps);
            let i = bi.index(p.len());
            p[i] = v;
        }
        if let Some((pi, at)) = cut {
            let p = pi.get_mut(&mut ps);
            let n = at.index(p.len() + 1);
            p.truncate(n);
        }
        if let Some((a, b)) = swap {
            let (a, b) = (a.index(ps.len()), b.index(ps.len()));
            ps.swap(a, b);
        }
        let mut rx = Reassembler::default();
        for p in &ps {
            if let Some(f) = rx.push(p) {
                let _ = decode_rgb(&f.jpeg);
                let _ = jpeg::parse(&f.jpeg);
            }
        }
        prop_assert_eq!(count(&rx), ps.len() as u64);
    }

    #[test]
    fn arbitrary_jpeg_bytes_never_panic_the_parser(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = jpeg::parse(&data);
        let _ = split_frames(&data);
        let mut d = vec![0xff, 0xd8];
        d.extend_from_slice(&data);
        let _ = jpeg::parse(&d);
        let _ = spin_video::mjpeg::jpeg_len(&d);
    }
}
