//! The video client writing the framebuffer device, and the framebuffer's
//! PNG snapshots (`--snapshot-dir`) read back by a real decoder:
//!
//! * our server → our client → framebuffer: every snapshot PNG, decoded by
//!   ffmpeg, is exactly the clip frame our decoder produced;
//! * ffmpeg's RTP/JPEG test pattern → our client (bridged from a host UDP
//!   socket into a spin-net kernel) → framebuffer → PNG: each PNG matches
//!   ffmpeg's own decode of the same stream, PSNR ≥ 40 dB;
//! * the dashboard's half-block view of the live frame.
//!
//! Without ffmpeg, the parts that need it print `SKIP: ffmpeg not installed`.

#[path = "../personalities/video/tests/support/interop.rs"]
mod interop;

use std::net::{SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use spin_kernel::event::Principal;
use spin_net::NetStack;
use spin_video::client::{ClientConfig, DisplayStrand, FrameSink, VideoClient};
use spin_video::disk::{ClipReader, FileDisk};
use spin_video::jpeg::decode_rgb;
use spin_video::mjpeg::split_frames;
use spin_video::server::{ServerConfig, VideoServer};
use spin_vmm::fb::Framebuffer;

use interop::{
    ffmpeg_rtp_testsrc, have_ffmpeg, ip, kernels, psnr, pump, scratch, yuv420_to_rgb, H, W,
};

const PERIOD: u64 = 1_000_000_000 / 30;

/// The framebuffer device as the client's sink.
struct FbSink(Arc<Framebuffer>);

impl FrameSink for FbSink {
    fn present(&self, w: u16, h: u16, rgb: &[u8], _ts: u32) {
        self.0
            .write_rgb(w, h, rgb)
            .expect("a decoded frame fits the framebuffer");
    }
}

fn clip_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/video/testclip.mjpeg")
}

fn client_on(
    b: &NetStack,
    server: Option<SocketAddrV4>,
) -> (VideoClient, DisplayStrand, Arc<Framebuffer>) {
    let fb = Arc::new(Framebuffer::new(W as u16, H as u16).expect("framebuffer"));
    let (client, display) = VideoClient::install(
        &b.handle(),
        &Principal::kernel("video-client"),
        ClientConfig::new(6000, server, 30),
        Arc::new(FbSink(fb.clone())),
    )
    .expect("client");
    (client, display, fb)
}

/// ffmpeg's decode of the PNG files `pattern` (an image2 pattern) as RGB.
fn ffmpeg_read_pngs(pattern: &Path, out: &Path) -> Vec<u8> {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "image2", "-i"])
        .arg(pattern)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
        .arg(out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg could not read our PNGs");
    std::fs::read(out).expect("raw")
}

#[test]
fn client_frames_reach_the_framebuffer_and_its_png_snapshots_are_exact() {
    let dir = scratch("loop");
    let (a, b) = kernels();
    let clip =
        ClipReader::open(Box::new(FileDisk::open(&clip_path()).expect("clip"))).expect("index");
    let mut srv = VideoServer::install(
        &a.handle(),
        &Principal::kernel("video-server"),
        ServerConfig::new(5004, 30),
        clip,
    )
    .expect("server");
    let (client, mut display, fb) = client_on(&b, Some(SocketAddrV4::new(ip(1), 5004)));
    client.subscribe();
    pump(&a, &b);
    let frames = 8;
    let mut pngs = Vec::new();
    for k in 0..frames {
        srv.tick(k * PERIOD);
        pump(&a, &b);
        display.run(k * PERIOD, || k * PERIOD);
        assert_eq!(fb.generation(), k + 1);
        pngs.push(fb.snapshot_to_dir(&dir).expect("snapshot"));
    }
    assert!(pngs[0].ends_with("frame-000001.png"));
    let c = std::fs::read(clip_path()).expect("clip");
    let ranges = split_frames(&c).expect("splits");
    let want: Vec<Vec<u8>> = (0..frames as usize)
        .map(|k| decode_rgb(&c[ranges[k].clone()]).expect("decodes").pixels)
        .collect();
    // The framebuffer holds the last frame shown.
    assert_eq!(fb.snapshot().pixels, want[frames as usize - 1]);
    // The dashboard's view: 160×120 into 40 columns is 40×30 pixels, 15 rows.
    let v = fb.half_block_view(40, 20);
    assert_eq!((v.cols, v.rows, v.cells.len()), (40, 15, 600));
    assert_eq!(v.generation, frames);
    if have_ffmpeg() {
        let raw = ffmpeg_read_pngs(&dir.join("frame-%06d.png"), &dir.join("pngs.rgb"));
        assert_eq!(raw.len(), frames as usize * W * H * 3);
        for (k, f) in raw.chunks(W * H * 3).enumerate() {
            assert!(f == want[k], "PNG {k} differs from the frame shown");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ffmpeg_stream_to_framebuffer_pngs_matches_ffmpegs_decode() {
    if !have_ffmpeg() {
        return;
    }
    let dir = scratch("ffmpeg");
    let sock = UdpSocket::bind("127.0.0.1:0").expect("host socket");
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let port = sock.local_addr().expect("addr").port();
    let sent = dir.join("sent.mjpeg");
    let frames = 20;
    let mut ffmpeg = ffmpeg_rtp_testsrc(port, frames, &sent, Stdio::null());
    let (a, b) = kernels();
    let (client, mut display, fb) = client_on(&b, None);
    let mut buf = vec![0u8; 65_536];
    let mut now = 0;
    let mut exited = false;
    let mut idle = 0;
    while idle < 3 {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let before = display.telemetry().decoded;
                a.handle()
                    .send_udp(40_000, SocketAddrV4::new(ip(2), 6000), &buf[..n]);
                pump(&a, &b);
                if display.telemetry().decoded > before {
                    now = display.run(now, || now);
                    fb.snapshot_to_dir(&dir).expect("snapshot");
                }
            }
            Err(_) => {
                if !exited {
                    exited = ffmpeg.wait().expect("ffmpeg").success();
                    assert!(exited, "ffmpeg failed");
                }
                idle += 1;
            }
        }
    }
    // Reaped already when the socket went quiet; this returns its status.
    assert!(ffmpeg.wait().expect("ffmpeg").success());
    assert_eq!(client.reassembly().frames, frames as u64);
    let ours = ffmpeg_read_pngs(&dir.join("frame-%06d.png"), &dir.join("ours.rgb"));
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&sent)
        .args(["-f", "rawvideo", "-pix_fmt", "yuvj420p"])
        .arg(dir.join("ref.yuv"))
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let reference = std::fs::read(dir.join("ref.yuv")).expect("reference");
    assert_eq!(ours.len() / (W * H * 3), frames);
    let mut worst = f64::INFINITY;
    for (k, f) in ours.chunks(W * H * 3).enumerate() {
        let r = yuv420_to_rgb(&reference[k * W * H * 3 / 2..(k + 1) * W * H * 3 / 2]);
        worst = worst.min(psnr(f, &r));
    }
    println!("ffmpeg → client → framebuffer PNGs: {frames} frames, worst PSNR {worst:.1} dB");
    assert!(worst >= 40.0, "worst PSNR {worst:.1} dB");
    let _ = std::fs::remove_dir_all(&dir);
}
