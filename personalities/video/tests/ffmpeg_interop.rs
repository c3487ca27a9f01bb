//! Interoperation with a real RTP/JPEG implementation, ffmpeg's:
//!
//! * ffmpeg streams a generated test pattern as RTP/JPEG to a host UDP
//!   socket; the test bridges each datagram into a spin-net kernel where
//!   our client extension reassembles, decodes and displays it; every frame
//!   matches ffmpeg's own decode of the same JPEGs (PSNR ≥ 40 dB).
//! * ffmpeg receives our server's stream, described by our SDP, and decodes
//!   every frame without an error, to pictures matching the clip.
//!
//! ffmpeg 5.1 packetizes only yuvj420p/yuvj422p JPEGs with the standard
//! Huffman tables ("RFC 2435 requires standard Huffman tables"), so the
//! sender is given `-pix_fmt yuvj420p -huffman default`.
//!
//! Without ffmpeg the tests print `SKIP: ffmpeg not installed` and pass.

#[path = "support/interop.rs"]
mod interop;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spin_kernel::event::{Handler, Principal};
use spin_net::events::UdpArrived;
use spin_video::client::{ClientConfig, FrameSink, VideoClient};
use spin_video::disk::{ClipReader, FileDisk};
use spin_video::jpeg::decode_rgb;
use spin_video::mjpeg::split_frames;
use spin_video::server::{ServerConfig, VideoServer};

use interop::{
    ffmpeg_rtp_testsrc, have_ffmpeg, ip, kernels, psnr, pump, scratch, yuv420_to_rgb, H, W,
};

const FRAMES: usize = 30;

/// ffmpeg's decode of `input` — its native output, the Y, Cb, Cr planes
/// of each 4:2:0 frame with no conversion — turned to RGB the way JPEG
/// decoders do it (libjpeg's "fancy" triangle upsampling of the chroma,
/// the JFIF YCbCr→RGB matrix), so the comparison measures the decoding,
/// not two libraries' different colour converters (ffmpeg's default
/// converter alone is ~27 dB away from any exact one on these patterns).
fn ffmpeg_decode(input: &Path, out: &Path) -> Vec<Vec<u8>> {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(input)
        .args(["-f", "rawvideo", "-pix_fmt", "yuvj420p"])
        .arg(out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg could not decode {}", input.display());
    let raw = std::fs::read(out).expect("raw frames");
    let yuv = W * H * 3 / 2;
    assert_eq!(raw.len() % yuv, 0);
    raw.chunks(yuv).map(yuv420_to_rgb).collect()
}

fn wait_or_kill(mut child: Child, limit: Duration) -> (bool, String) {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (st.success(), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (false, format!("killed after {limit:?}; {err}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(u32, Vec<u8>)>>);

impl FrameSink for Recorder {
    fn present(&self, w: u16, h: u16, rgb: &[u8], ts: u32) {
        assert_eq!((usize::from(w), usize::from(h)), (W, H));
        self.0.lock().expect("recorder").push((ts, rgb.to_vec()));
    }
}

#[test]
fn ffmpeg_rtp_jpeg_into_our_client_matches_ffmpegs_own_decode() {
    if !have_ffmpeg() {
        return;
    }
    let dir = scratch("rx");
    let sock = UdpSocket::bind("127.0.0.1:0").expect("host socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let port = sock.local_addr().expect("addr").port();
    let sent = dir.join("sent.mjpeg");
    let ffmpeg = ffmpeg_rtp_testsrc(port, FRAMES, &sent, Stdio::piped());

    // The bridge: kernel a re-sends each datagram from the host socket to
    // the client on kernel b, through both protocol graphs.
    let (a, b) = kernels();
    let sink = Arc::new(Recorder::default());
    let cfg = ClientConfig::new(6000, None, 30);
    let (client, mut display) = VideoClient::install(
        &b.handle(),
        &Principal::kernel("video-client"),
        cfg,
        sink.clone(),
    )
    .expect("client");
    let mut child = Some(ffmpeg);
    let mut status = None;
    let mut buf = vec![0u8; 65_536];
    let mut now = 0u64;
    let mut idle_since_exit = 0;
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let before = display.telemetry().decoded;
                a.handle()
                    .send_udp(40_000, SocketAddrV4::new(ip(2), 6000), &buf[..n]);
                pump(&a, &b);
                if display.telemetry().decoded > before {
                    now = display.run(now, || now);
                }
            }
            Err(_) => {
                if let Some(c) = child.take() {
                    match wait_or_kill(c, Duration::from_secs(30)) {
                        r if r.0 => status = Some(r),
                        r => panic!("ffmpeg failed: {}", r.1),
                    }
                }
                idle_since_exit += 1;
                if idle_since_exit > 2 {
                    break;
                }
            }
        }
    }
    let (ok, err) = status.expect("ffmpeg finished");
    assert!(ok && err.trim().is_empty(), "ffmpeg: {err}");

    let reference = ffmpeg_decode(&sent, &dir.join("ref.yuv"));
    assert_eq!(reference.len(), FRAMES);
    let got = sink.0.lock().expect("recorder").clone();
    let r = client.reassembly();
    assert_eq!(
        (r.frames, r.dropped_frames, r.malformed),
        (FRAMES as u64, 0, 0)
    );
    assert_eq!(got.len(), FRAMES, "every frame displayed");
    let ts0 = got[0].0;
    let mut worst = f64::INFINITY;
    for (ts, px) in &got {
        let k = (ts.wrapping_sub(ts0) / 3000) as usize;
        let p = psnr(px, &reference[k]);
        worst = worst.min(p);
    }
    println!("ffmpeg → spin client: {FRAMES} frames, worst PSNR {worst:.1} dB");
    assert!(worst >= 40.0, "worst frame PSNR {worst:.1} dB");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until some process has UDP port `port` bound on any address.
fn wait_for_udp_port(port: u16, limit: Duration) -> bool {
    let hex = format!(":{port:04X} ");
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::fs::read_to_string("/proc/net/udp").is_ok_and(|t| t.contains(&hex)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn ffmpeg_decodes_our_servers_stream_from_our_sdp() {
    if !have_ffmpeg() {
        return;
    }
    let dir = scratch("tx");
    let port = UdpSocket::bind("127.0.0.1:0")
        .expect("probe")
        .local_addr()
        .expect("addr")
        .port();
    let clip_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/video/testclip.mjpeg");
    let (a, b) = kernels();
    let clip =
        ClipReader::open(Box::new(FileDisk::open(&clip_path).expect("clip"))).expect("index");
    let mut srv = VideoServer::install(
        &a.handle(),
        &Principal::kernel("video-server"),
        ServerConfig::new(5004, 30),
        clip,
    )
    .expect("server");
    // Kernel b forwards what arrives for `port` to ffmpeg on the host.
    let out = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("out socket"));
    let o = out.clone();
    let fwd = Handler::new(move |d: &UdpArrived| {
        let _ = o.send_to(&d.payload, ("127.0.0.1", port));
    })
    .guard(b.events().udp_port(port));
    b.events()
        .udp
        .install(&Principal::kernel("host-bridge"), fwd)
        .expect("bridge");
    assert!(srv.subscribe(SocketAddrV4::new(ip(2), port)));
    let sdp = dir.join("stream.sdp");
    std::fs::write(
        &sdp,
        srv.sdp(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port), (160, 120)),
    )
    .expect("sdp");
    let raw = dir.join("out.yuv");
    let ffmpeg = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-protocol_whitelist",
            "file,udp,rtp",
            "-i",
        ])
        .arg(&sdp)
        .args(["-frames:v", &FRAMES.to_string()])
        .args(["-f", "rawvideo", "-pix_fmt", "yuvj420p"])
        .arg(&raw)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg starts");
    assert!(
        wait_for_udp_port(port, Duration::from_secs(20)),
        "ffmpeg never listened"
    );
    for k in 0..FRAMES as u64 {
        srv.send_frame(k);
        pump(&a, &b);
        // Stream at the clip's rate, as the server's clock would: ffmpeg's
        // socket buffer never has to hold more than a frame or two.
        std::thread::sleep(Duration::from_millis(33));
    }
    let (ok, err) = wait_or_kill(ffmpeg, Duration::from_secs(20));
    assert!(ok, "ffmpeg failed: {err}");
    assert!(err.trim().is_empty(), "ffmpeg reported errors: {err}");
    let yuv = std::fs::read(&raw).expect("ffmpeg output");
    assert_eq!(
        yuv.len(),
        FRAMES * W * H * 3 / 2,
        "ffmpeg decoded every frame"
    );
    let frames: Vec<Vec<u8>> = yuv.chunks(W * H * 3 / 2).map(yuv420_to_rgb).collect();
    // Against ffmpeg's decode of the clip file itself (same decoder: the
    // transport must be lossless) and against our decoder.
    let direct = ffmpeg_decode(&clip_path, &dir.join("direct.yuv"));
    let c = std::fs::read(&clip_path).expect("clip");
    let ranges = split_frames(&c).expect("splits");
    let (mut worst_ffmpeg, mut worst_ours) = (f64::INFINITY, f64::INFINITY);
    for k in 0..FRAMES {
        let got = &frames[k];
        worst_ffmpeg = worst_ffmpeg.min(psnr(got, &direct[k]));
        let ours = decode_rgb(&c[ranges[k].clone()]).expect("decodes").pixels;
        worst_ours = worst_ours.min(psnr(&ours, got));
    }
    println!(
        "spin server → ffmpeg: {FRAMES} frames; worst PSNR vs ffmpeg's decode of the file \
         {worst_ffmpeg:.1} dB, vs our decoder {worst_ours:.1} dB"
    );
    assert!(worst_ffmpeg >= 40.0 && worst_ours >= 40.0);
    assert_eq!(srv.stats().frames, FRAMES as u64);
    let _ = std::fs::remove_dir_all(&dir);
}
