//! Helpers shared by the video interop tests (personalities/video/tests/
//! ffmpeg_interop.rs and the root tests/video_fb.rs), included with
//! `#[path]`: the clip's geometry, ffmpeg's presence, scratch directories,
//! PSNR, ffmpeg's YUV output as RGB, and two kernels on an in-memory link.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use spin_net::wire::ethernet::MacAddr;
use spin_net::{MemNic, NetConfig, NetStack};

/// The bundled clip's and the tests' frame size.
pub const W: usize = 160;
pub const H: usize = 120;

pub fn have_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("SKIP: ffmpeg not installed");
    }
    ok
}

pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spin-video-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

pub fn yuv420_to_rgb(f: &[u8]) -> Vec<u8> {
    let (cw, ch) = (W / 2, H / 2);
    let (y, cb, cr) = (
        &f[..W * H],
        &f[W * H..W * H + cw * ch],
        &f[W * H + cw * ch..],
    );
    let up = |plane: &[u8], px: usize, py: usize| -> f64 {
        let (cx, cy) = (px / 2, py / 2);
        let ny = if py & 1 == 0 {
            cy.saturating_sub(1)
        } else {
            (cy + 1).min(ch - 1)
        };
        let nx = if px & 1 == 0 {
            cx.saturating_sub(1)
        } else {
            (cx + 1).min(cw - 1)
        };
        let col = |x: usize| 3.0 * f64::from(plane[cy * cw + x]) + f64::from(plane[ny * cw + x]);
        (3.0 * col(cx) + col(nx)) / 16.0
    };
    let mut rgb = Vec::with_capacity(W * H * 3);
    for py in 0..H {
        for px in 0..W {
            let l = f64::from(y[py * W + px]);
            let (b, r) = (up(cb, px, py) - 128.0, up(cr, px, py) - 128.0);
            for v in [
                l + 1.402 * r,
                l - 0.344_136 * b - 0.714_136 * r,
                l + 1.772 * b,
            ] {
                rgb.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    rgb
}

pub fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

/// Two kernels joined by an in-memory link, ARP entries preset.
pub fn kernels() -> (NetStack, NetStack) {
    let (na, nb) = MemNic::pair(100_000);
    let (ma, mb) = (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]));
    let a = NetStack::new(NetConfig::new(ma, ip(1), 24), Arc::new(na)).expect("stack a");
    let b = NetStack::new(NetConfig::new(mb, ip(2), 24), Arc::new(nb)).expect("stack b");
    a.add_static_arp(ip(2), mb);
    b.add_static_arp(ip(1), ma);
    (a, b)
}

pub fn pump(a: &NetStack, b: &NetStack) {
    while a.poll_nic() + b.poll_nic() > 0 {}
}

/// Starts ffmpeg sending `frames` of its 160×120 test pattern at 30
/// frames/s as RTP/JPEG to 127.0.0.1:`port`, writing the same JPEG frames
/// to `sent` (Motion-JPEG) for the reference decode; its stderr as given.
pub fn ffmpeg_rtp_testsrc(port: u16, frames: usize, sent: &Path, stderr: Stdio) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-re", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={W}x{H}:rate=30"))
        .args(["-frames:v", &frames.to_string()])
        // ffmpeg's RTP/JPEG needs full-range 4:2:0 and the standard tables.
        .args([
            "-pix_fmt", "yuvj420p", "-c:v", "mjpeg", "-huffman", "default",
        ])
        .args(["-map", "0:v", "-f", "tee"])
        .arg(format!(
            "[f=rtp]rtp://127.0.0.1:{port}|[f=mjpeg]{}",
            sent.display()
        ))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("ffmpeg starts")
}
