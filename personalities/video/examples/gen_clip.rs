//! Generates the bundled test clip: `cargo run --release -p spin-video
//! --example gen_clip [OUT] [FRAMES]` writes FRAMES (default 90: 3 s at
//! 30 fps) frames of the test pattern, 160×120, as baseline 4:2:0 JPEGs
//! with the standard Huffman tables (what RFC 2435 carries), one after
//! another, to OUT (default assets/video/testclip.mjpeg in the repository).
//! The output is a pure function of the arguments.

use std::path::PathBuf;

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use spin_video::testpattern;

const WIDTH: u16 = 160;
const HEIGHT: u16 = 120;
const QUALITY: u8 = 80;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/video/testclip.mjpeg")
    });
    let frames: u32 = match args.next() {
        Some(n) => n.parse()?,
        None => 90,
    };
    let mut clip = Vec::new();
    for i in 0..frames {
        let rgb = testpattern::frame(i, WIDTH, HEIGHT);
        let mut jpeg = Vec::new();
        let mut enc = Encoder::new(&mut jpeg, QUALITY);
        enc.set_sampling_factor(SamplingFactor::F_2_2);
        enc.set_optimized_huffman_tables(false);
        enc.encode(&rgb, WIDTH, HEIGHT, ColorType::Rgb)?;
        clip.extend_from_slice(&jpeg);
    }
    std::fs::write(&out, &clip)?;
    println!("{}: {} frames, {} bytes", out.display(), frames, clip.len());
    Ok(())
}
