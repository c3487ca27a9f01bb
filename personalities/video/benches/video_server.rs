//! SPIN's video figure redone: server CPU time per second of stream as the
//! number of clients grows (1, 5, 10, 15, 30), multicast relay vs
//! per-client sends, in one run.
//!
//! The server streams the bundled clip (160×120 Motion-JPEG, 30 frames/s,
//! read through a file disk device) from a kernel whose NIC counts and
//! discards frames (the wire and the receivers are not the server's cost).
//! One "second of stream" is 30 frames sent back to back on this thread;
//! its wall time is the server's CPU time for that second (the work is
//! single-threaded and never blocks). For each client count the two modes
//! alternate, `ROUNDS` rounds each, and the medians are compared.
//!
//! `cargo bench -p spin-video --bench video_server`

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use spin_kernel::event::Principal;
use spin_net::wire::ethernet::MacAddr;
use spin_net::{NetConfig, NetStack, Nic, NicError};
use spin_video::disk::{ClipReader, FileDisk};
use spin_video::server::{SendMode, ServerConfig, ServerStats, VideoServer};

const CLIENTS: [usize; 5] = [1, 5, 10, 15, 30];
const ROUNDS: usize = 15;
const FPS: u64 = 30;

/// A NIC that counts what it is given and throws it away.
#[derive(Default)]
struct SinkNic {
    frames: AtomicU64,
    bytes: AtomicU64,
}

impl Nic for SinkNic {
    fn transmit(&self, frame: Vec<u8>) -> Result<(), NicError> {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
        black_box(frame);
        Ok(())
    }

    fn receive(&self) -> Option<Vec<u8>> {
        None
    }
}

struct Rig {
    _stack: NetStack,
    nic: Arc<SinkNic>,
    server: VideoServer,
    next: u64,
}

fn rig(clients: usize, mode: SendMode) -> Rig {
    let nic = Arc::new(SinkNic::default());
    let stack = NetStack::new(
        NetConfig::new(MacAddr([2, 0, 0, 0, 0, 1]), Ipv4Addr::new(10, 0, 0, 1), 16),
        nic.clone(),
    )
    .expect("stack");
    let clip_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/video/testclip.mjpeg");
    let clip =
        ClipReader::open(Box::new(FileDisk::open(&clip_path).expect("clip"))).expect("index");
    let mut cfg = ServerConfig::new(5004, FPS as u32);
    cfg.mode = mode;
    let server = VideoServer::install(
        &stack.handle(),
        &Principal::kernel("video-server"),
        cfg,
        clip,
    )
    .expect("server");
    for i in 0..clients {
        let ip = Ipv4Addr::new(10, 0, 1, i as u8 + 1);
        stack.add_static_arp(ip, MacAddr([2, 0, 0, 1, 0, i as u8 + 1]));
        assert!(server.subscribe(SocketAddrV4::new(ip, 6000)));
    }
    Rig {
        _stack: stack,
        nic,
        server,
        next: 0,
    }
}

impl Rig {
    /// One second of stream; returns its time, ns.
    fn second(&mut self) -> u64 {
        let t = Instant::now();
        for _ in 0..FPS {
            self.server.send_frame(self.next);
            self.next += 1;
        }
        t.elapsed().as_nanos() as u64
    }
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { ROUNDS };
    println!("server CPU per second of stream (30 frames of the bundled clip), median of {rounds}");
    println!(
        "{:>7} | {:>14} {:>8} | {:>14} {:>8} | {:>7} | {:>10}",
        "clients", "multicast ms", "% CPU", "per-client ms", "% CPU", "ratio", "frames out"
    );
    for &n in &CLIENTS {
        let mut m = rig(n, SendMode::Multicast);
        let mut p = rig(n, SendMode::PerClient);
        m.second(); // warm: file cache, allocations
        p.second();
        let (mut tm, mut tp) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            tm.push(m.second());
            tp.push(p.second());
        }
        let (mm, mp) = (median(&mut tm), median(&mut tp));
        let (sm, sp): (ServerStats, ServerStats) = (m.server.stats(), p.server.stats());
        let per_second = |frames: u64, s: &ServerStats| frames * FPS / s.frames.max(1);
        let (fm, fp) = (
            m.nic.frames.load(Ordering::Relaxed),
            p.nic.frames.load(Ordering::Relaxed),
        );
        assert_eq!(
            per_second(fm, &sm),
            per_second(fp, &sp),
            "both modes put the same frames on the wire"
        );
        println!(
            "{:>7} | {:>14.3} {:>7.3}% | {:>14.3} {:>7.3}% | {:>7.2} | {:>10}",
            n,
            mm as f64 / 1e6,
            mm as f64 / 1e7,
            mp as f64 / 1e6,
            mp as f64 / 1e7,
            mm as f64 / mp as f64,
            per_second(fm, &sm),
        );
    }
}
