//! Server and clients on the protocol graph: kernels joined by in-memory
//! NICs, the server reading the bundled clip through a disk device, clients
//! subscribing by datagram, frames arriving decoded on the framebuffer
//! sink through the display strand — multicast relay and per-client sends.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};

use spin_kernel::event::Principal;
use spin_net::wire::ethernet::MacAddr;
use spin_net::{MemNic, NetConfig, NetStack};
use spin_video::client::{ClientConfig, DisplayStrand, FrameSink, VideoClient};
use spin_video::disk::{ClipReader, FileDisk};
use spin_video::jpeg::decode_rgb;
use spin_video::mjpeg::split_frames;
use spin_video::server::{SendMode, ServerConfig, VideoServer, SUBSCRIBE};

const PERIOD: u64 = 1_000_000_000 / 30;
const SERVER_PORT: u16 = 5004;

fn clip_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/video/testclip.mjpeg")
}

fn clip_frames_rgb(n: usize) -> Vec<Vec<u8>> {
    let c = std::fs::read(clip_path()).expect("clip");
    split_frames(&c).expect("splits")[..n]
        .iter()
        .map(|r| decode_rgb(&c[r.clone()]).expect("decodes").pixels)
        .collect()
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(u16, u16, Vec<u8>)>>);

impl FrameSink for Recorder {
    fn present(&self, w: u16, h: u16, rgb: &[u8], _ts: u32) {
        self.0.lock().expect("recorder").push((w, h, rgb.to_vec()));
    }
}

impl Recorder {
    fn frames(&self) -> Vec<(u16, u16, Vec<u8>)> {
        self.0.lock().expect("recorder").clone()
    }
}

struct Net {
    a: NetStack,
    b: NetStack,
}

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn net() -> Net {
    let (na, nb) = MemNic::pair(100_000);
    let (ma, mb) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
    let a = NetStack::new(NetConfig::new(ma, ip(1), 24), Arc::new(na)).expect("stack a");
    let b = NetStack::new(NetConfig::new(mb, ip(2), 24), Arc::new(nb)).expect("stack b");
    a.add_static_arp(ip(2), mb);
    b.add_static_arp(ip(1), ma);
    Net { a, b }
}

impl Net {
    fn pump(&self) {
        while self.a.poll_nic() + self.b.poll_nic() > 0 {}
    }
}

fn who(name: &str) -> Principal {
    Principal::kernel(name)
}

fn server(net: &NetStack, mode: SendMode) -> VideoServer {
    let clip = ClipReader::open(Box::new(FileDisk::open(&clip_path()).expect("open")))
        .expect("clip indexes");
    assert_eq!(clip.frames(), 90);
    let mut cfg = ServerConfig::new(SERVER_PORT, 30);
    cfg.mode = mode;
    VideoServer::install(&net.handle(), &who("video-server"), cfg, clip).expect("server")
}

struct Client {
    client: VideoClient,
    display: DisplayStrand,
    sink: Arc<Recorder>,
}

fn client(net: &NetStack, port: u16, server: Ipv4Addr) -> Client {
    let sink = Arc::new(Recorder::default());
    let cfg = ClientConfig::new(port, Some(SocketAddrV4::new(server, SERVER_PORT)), 30);
    let (client, display) =
        VideoClient::install(&net.handle(), &who("video-client"), cfg, sink.clone())
            .expect("client");
    Client {
        client,
        display,
        sink,
    }
}

/// Streams `frames` frames: at each period the server ticks, the wire is
/// pumped and every client's display strand runs.
fn stream(net: &Net, server: &mut VideoServer, clients: &mut [&mut Client], frames: u64) {
    for k in 0..frames {
        let now = k * PERIOD;
        server.tick(now);
        net.pump();
        for c in clients.iter_mut() {
            c.display.run(now, || now);
        }
    }
}

#[test]
fn a_subscribed_client_shows_every_frame_of_the_clip() {
    let net = net();
    let mut srv = server(&net.a, SendMode::Multicast);
    let mut c = client(&net.b, 6000, ip(1));
    assert_eq!(srv.tick(0), None, "nobody subscribed yet");
    c.client.subscribe();
    net.pump();
    assert_eq!(srv.subscribers(), vec![SocketAddrV4::new(ip(2), 6000)]);
    stream(&net, &mut srv, &mut [&mut c], 12);
    let want = clip_frames_rgb(12);
    let got = c.sink.frames();
    assert_eq!(got.len(), 12);
    for (k, (w, h, px)) in got.iter().enumerate() {
        assert_eq!((*w, *h), (160, 120));
        assert!(*px == want[k], "frame {k} differs from the clip's");
    }
    let t = c.display.telemetry();
    assert_eq!((t.decoded, t.displayed), (12, 12));
    assert_eq!(
        (t.late_frames, t.dropped_frames, t.deadline_misses),
        (0, 0, 0)
    );
    assert!(t.pool_allocated <= t.pool_capacity);
    let s = srv.stats();
    assert_eq!((s.frames, s.replicas, s.skipped_frames), (12, 0, 0));
    assert!(s.sends >= 12 * 2, "a 160x120 frame takes several packets");
}

fn multicast_vs_per_client(mode: SendMode) -> (spin_video::server::ServerStats, Vec<Client>) {
    let net = net();
    let mut srv = server(&net.a, mode);
    // Three clients on kernel b and one on the server's own kernel.
    let mut cs = vec![
        client(&net.b, 6000, ip(1)),
        client(&net.b, 6002, ip(1)),
        client(&net.b, 6004, ip(1)),
        client(&net.a, 6006, ip(1)),
    ];
    for c in &cs {
        c.client.subscribe();
    }
    net.pump();
    assert_eq!(srv.subscribers().len(), 4);
    let mut refs: Vec<&mut Client> = cs.iter_mut().collect();
    stream(&net, &mut srv, &mut refs, 6);
    (srv.stats(), cs)
}

#[test]
fn multicast_sends_once_and_the_relay_replicates_below_udp() {
    let (s, cs) = multicast_vs_per_client(SendMode::Multicast);
    let want = clip_frames_rgb(6);
    for c in &cs {
        let got = c.sink.frames();
        assert_eq!(got.len(), 6);
        assert!(got.iter().zip(&want).all(|(g, w)| g.2 == *w));
        assert_eq!(c.client.reassembly().dropped_frames, 0);
        assert_eq!(c.client.reassembly().malformed, 0);
    }
    assert_eq!(s.frames, 6);
    assert_eq!(
        s.replicas,
        3 * s.sends,
        "every send replicated to the 3 others"
    );
    let (p, _) = multicast_vs_per_client(SendMode::PerClient);
    assert_eq!(p.replicas, 0);
    assert_eq!(
        p.sends,
        4 * s.sends,
        "per client: one send per packet per client"
    );
}

#[test]
fn per_client_sessions_each_decode_everything() {
    let (s, cs) = multicast_vs_per_client(SendMode::PerClient);
    assert_eq!(s.frames, 6);
    for c in &cs {
        assert_eq!(c.display.telemetry().displayed, 6);
        assert_eq!(c.client.reassembly().frames, 6);
    }
}

#[test]
fn unsubscribing_stops_the_stream_and_junk_control_is_counted() {
    let net = net();
    let mut srv = server(&net.a, SendMode::Multicast);
    let mut c1 = client(&net.b, 6000, ip(1));
    let mut c2 = client(&net.b, 6002, ip(1));
    c1.client.subscribe();
    c2.client.subscribe();
    c2.client.subscribe(); // twice: still one subscription
    net.b
        .handle()
        .send_udp(7000, SocketAddrV4::new(ip(1), SERVER_PORT), b"hello?");
    net.pump();
    assert_eq!(srv.subscribers().len(), 2);
    assert_eq!(srv.stats().bad_control, 1);
    stream(&net, &mut srv, &mut [&mut c1, &mut c2], 3);
    // The lead unsubscribes: the second client becomes the lead and goes on.
    c1.client.unsubscribe();
    net.pump();
    assert_eq!(srv.subscribers(), vec![SocketAddrV4::new(ip(2), 6002)]);
    for k in 3..6 {
        srv.tick(k * PERIOD);
        net.pump();
        c1.display.run(k * PERIOD, || k * PERIOD);
        c2.display.run(k * PERIOD, || k * PERIOD);
    }
    assert_eq!(c1.client.reassembly().frames, 3);
    assert_eq!(c2.client.reassembly().frames, 6);
    // Late periods: c1's stream stopped, so its display finds nothing new.
    assert_eq!(c1.display.telemetry().late_frames, 3);
    assert_eq!(c2.display.telemetry().late_frames, 0);
    // The server stops when the last one leaves.
    c2.client.unsubscribe();
    net.pump();
    assert_eq!(srv.tick(6 * PERIOD), None);
    let _ = SUBSCRIBE;
}

#[test]
fn a_late_server_skips_frames_and_a_late_display_misses_deadlines() {
    let net = net();
    let mut srv = server(&net.a, SendMode::Multicast);
    let mut c = client(&net.b, 6000, ip(1));
    c.client.subscribe();
    net.pump();
    srv.tick(0);
    net.pump();
    c.display.run(0, || 0);
    // The server is called 3 periods late: frames 1 and 2 are skipped, 3 goes.
    srv.tick(3 * PERIOD + 5);
    assert_eq!(srv.stats().skipped_frames, 2);
    net.pump();
    // The display strand runs 2.5 periods after its release at PERIOD:
    // releases at PERIOD and 2*PERIOD passed unrun (2 misses), the one at
    // 3*PERIOD runs and finishes in time.
    let now = 3 * PERIOD + PERIOD / 2;
    c.display.run(now, || now);
    // Then a release whose job finishes after its deadline.
    let r = c.display.next_release().expect("phase set");
    c.display.run(r, || r + 2 * PERIOD);
    let t = c.display.telemetry();
    assert_eq!(t.deadline_misses, 3);
    assert_eq!(t.displayed, 2);
    assert_eq!(t.late_frames, 1);
}

#[test]
fn a_full_pool_drops_the_oldest_frames_without_growing() {
    let net = net();
    let mut srv = server(&net.a, SendMode::Multicast);
    let c = client(&net.b, 6000, ip(1));
    c.client.subscribe();
    net.pump();
    // Ten frames arrive while the display strand never runs.
    for k in 0..10 {
        srv.tick(k * PERIOD);
        net.pump();
    }
    let t = c.display.telemetry();
    assert_eq!(t.decoded, 10);
    assert_eq!(t.pool_allocated, t.pool_capacity);
    assert_eq!(t.dropped_frames, 10 - t.pool_capacity as u64);
}

#[test]
fn real_time_drivers_stream_and_display_until_stopped() {
    use spin_video::driver::{Display, Streamer};
    use std::sync::atomic::{AtomicBool, Ordering};
    let net = Arc::new(net());
    let srv = server(&net.a, SendMode::Multicast);
    let c = client(&net.b, 6000, ip(1));
    c.client.subscribe();
    // The network pump: what the vmm's pump thread does for a real NIC.
    let stop = Arc::new(AtomicBool::new(false));
    let (n, s) = (net.clone(), stop.clone());
    let pump = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            n.pump();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    let streamer = Streamer::start(srv).expect("streamer");
    let display = Display::start(c.display).expect("display");
    // Wait (without a time bound on the outcome) until frames are shown.
    while display.telemetry().displayed < 5 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let server = streamer.stop().expect("server back");
    let strand = display.stop().expect("strand back");
    stop.store(true, Ordering::Relaxed);
    pump.join().expect("pump");
    let t = strand.telemetry();
    assert!(t.displayed >= 5);
    assert!(server.stats().frames >= t.displayed);
    let frames = c.sink.frames();
    assert_eq!(frames.len() as u64, t.displayed);
    assert!(frames.iter().all(|(w, h, _)| (*w, *h) == (160, 120)));
}

#[test]
fn hand_built_configs_with_a_zero_rate_do_not_panic() {
    let net = net();
    let clip =
        ClipReader::open(Box::new(FileDisk::open(&clip_path()).expect("open"))).expect("clip");
    let mut cfg = ServerConfig::new(SERVER_PORT, 30);
    cfg.fps = 0;
    let mut srv =
        VideoServer::install(&net.a.handle(), &who("video-server"), cfg, clip).expect("server");
    let sink = Arc::new(Recorder::default());
    let mut ccfg = ClientConfig::new(6000, Some(SocketAddrV4::new(ip(1), SERVER_PORT)), 30);
    ccfg.fps = 0;
    let (client, mut display) =
        VideoClient::install(&net.b.handle(), &who("video-client"), ccfg, sink.clone())
            .expect("client");
    client.subscribe();
    net.pump();
    assert!(srv.tick(0).is_some());
    net.pump();
    display.run(0, || 0);
    assert_eq!(sink.frames().len(), 1);
}
