//! The framebuffer device: one RGB picture that a video client writes and
//! the console reads. Writers replace the whole frame; readers take a
//! snapshot, a downscaled view for drawing with half-block characters
//! (each character cell shows two pixels, top and bottom), or a PNG file
//! (`--snapshot-dir`).
//!
//! The pixels sit behind one mutex, held only to copy a frame in or out.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// Largest side of a frame, pixels.
pub const MAX_SIDE: u16 = 4096;

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FbError {
    /// Zero or above [`MAX_SIDE`].
    #[error("a {0}x{1} frame is outside the framebuffer's limits (1..={MAX_SIDE} per side)")]
    BadSize(u16, u16),
    /// The pixel data does not match the size.
    #[error("a {w}x{h} RGB frame needs {} bytes, got {got}", usize::from(*.w) * usize::from(*.h) * 3)]
    BadLength {
        /// Width.
        w: u16,
        /// Height.
        h: u16,
        /// Bytes given.
        got: usize,
    },
}

/// A copy of the framebuffer's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FbFrame {
    /// Width, pixels.
    pub width: u16,
    /// Height, pixels.
    pub height: u16,
    /// RGB, 3 bytes per pixel, rows top down.
    pub pixels: Vec<u8>,
    /// Frames written so far (0: the initial black picture).
    pub generation: u64,
}

/// The picture downscaled to `cols` × `rows` character cells, each with a
/// top and a bottom colour (draw `▀` with the top as foreground and the
/// bottom as background).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalfBlockView {
    /// Cells per row.
    pub cols: u16,
    /// Rows of cells.
    pub rows: u16,
    /// `cols * rows` cells, row by row: `[top, bottom]` RGB.
    pub cells: Vec<[[u8; 3]; 2]>,
    /// The generation of the frame shown.
    pub generation: u64,
}

struct State {
    width: u16,
    height: u16,
    pixels: Vec<u8>,
    generation: u64,
}

/// The framebuffer device.
pub struct Framebuffer {
    state: Mutex<State>,
}

impl std::fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Framebuffer")
            .field("width", &s.width)
            .field("height", &s.height)
            .field("generation", &s.generation)
            .finish()
    }
}

fn check(w: u16, h: u16) -> Result<usize, FbError> {
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(FbError::BadSize(w, h));
    }
    Ok(usize::from(w) * usize::from(h) * 3)
}

impl Framebuffer {
    /// A black `width` × `height` framebuffer.
    pub fn new(width: u16, height: u16) -> Result<Framebuffer, FbError> {
        let n = check(width, height)?;
        Ok(Framebuffer {
            state: Mutex::new(State {
                width,
                height,
                pixels: vec![0; n],
                generation: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Only whole-buffer copies happen under the lock: a panic there
        // cannot leave a half-updated size, so the data stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the picture with a `width` × `height` RGB frame (the
    /// framebuffer takes the frame's size).
    pub fn write_rgb(&self, width: u16, height: u16, rgb: &[u8]) -> Result<u64, FbError> {
        let n = check(width, height)?;
        if rgb.len() != n {
            return Err(FbError::BadLength {
                w: width,
                h: height,
                got: rgb.len(),
            });
        }
        let mut s = self.lock();
        s.pixels.clear();
        s.pixels.extend_from_slice(rgb);
        s.width = width;
        s.height = height;
        s.generation += 1;
        Ok(s.generation)
    }

    /// Frames written so far.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// A copy of the current picture.
    pub fn snapshot(&self) -> FbFrame {
        let s = self.lock();
        FbFrame {
            width: s.width,
            height: s.height,
            pixels: s.pixels.clone(),
            generation: s.generation,
        }
    }

    /// The picture scaled to fit `cols` × `rows` half-block cells (2 pixel
    /// rows per cell), keeping its aspect ratio, each pixel the mean of
    /// the source pixels it covers.
    pub fn half_block_view(&self, cols: u16, rows: u16) -> HalfBlockView {
        let f = self.snapshot();
        let (sw, sh) = (u32::from(f.width), u32::from(f.height));
        let (max_w, max_h) = (u32::from(cols), u32::from(rows) * 2);
        // Fit inside max_w × max_h keeping sw:sh (terminal cells with two
        // pixels each are roughly square).
        let (mut w, mut h) = (max_w, max_w * sh / sw.max(1));
        if h > max_h {
            h = max_h;
            w = max_h * sw / sh.max(1);
        }
        let (w, h) = (w.max(u32::from(cols > 0)), h.max(u32::from(rows > 0)));
        let scaled = box_scale(&f.pixels, sw, sh, w, h);
        let out_rows = h.div_ceil(2);
        let mut cells = Vec::with_capacity((w * out_rows) as usize);
        for r in 0..out_rows {
            for c in 0..w {
                let px = |y: u32| {
                    if y >= h {
                        [0; 3]
                    } else {
                        let o = ((y * w + c) * 3) as usize;
                        [scaled[o], scaled[o + 1], scaled[o + 2]]
                    }
                };
                cells.push([px(2 * r), px(2 * r + 1)]);
            }
        }
        HalfBlockView {
            cols: w as u16,
            rows: out_rows as u16,
            cells,
            generation: f.generation,
        }
    }

    /// Writes the current picture to `path` as PNG.
    pub fn save_png(&self, path: &Path) -> io::Result<()> {
        let f = self.snapshot();
        std::fs::write(path, encode_png(f.width, f.height, &f.pixels))
    }

    /// Writes the current picture into `dir` as `frame-GENERATION.png`
    /// (six digits at least) and returns the file's path.
    pub fn snapshot_to_dir(&self, dir: &Path) -> io::Result<PathBuf> {
        let f = self.snapshot();
        let path = dir.join(format!("frame-{:06}.png", f.generation));
        std::fs::write(&path, encode_png(f.width, f.height, &f.pixels))?;
        Ok(path)
    }
}

/// Box-filter scaling of an RGB image from `sw`×`sh` to `dw`×`dh`.
fn box_scale(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32) -> Vec<u8> {
    let mut out = vec![0u8; (dw * dh * 3) as usize];
    if sw == 0 || sh == 0 {
        return out;
    }
    for y in 0..dh {
        let (y0, y1) = (y * sh / dh, ((y + 1) * sh).div_ceil(dh).min(sh));
        for x in 0..dw {
            let (x0, x1) = (x * sw / dw, ((x + 1) * sw).div_ceil(dw).min(sw));
            let mut sum = [0u32; 3];
            let mut n = 0u32;
            for sy in y0..y1.max(y0 + 1) {
                for sx in x0..x1.max(x0 + 1) {
                    let o = ((sy * sw + sx) * 3) as usize;
                    for c in 0..3 {
                        sum[c] += u32::from(src[o + c]);
                    }
                    n += 1;
                }
            }
            let o = ((y * dw + x) * 3) as usize;
            for c in 0..3 {
                out[o + c] = (sum[c] / n.max(1)) as u8;
            }
        }
    }
    out
}

const CRC_POLY: u32 = 0xedb8_8320;

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = !0u32;
    for part in parts {
        for &b in *part {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ CRC_POLY
                } else {
                    c >> 1
                };
            }
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// An RGB image as a PNG file: 8-bit truecolour, no filtering, zlib
/// stream of stored (uncompressed) deflate blocks — simple and exact;
/// snapshots are small.
pub fn encode_png(width: u16, height: u16, rgb: &[u8]) -> Vec<u8> {
    let row = usize::from(width) * 3;
    let mut raw = Vec::with_capacity((row + 1) * usize::from(height));
    for y in 0..usize::from(height) {
        raw.push(0); // filter: none
        let start = (y * row).min(rgb.len());
        let end = (start + row).min(rgb.len());
        raw.extend_from_slice(&rgb[start..end]);
        raw.resize(raw.len() + row - (end - start), 0);
    }
    let mut z = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        z.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(b) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut out = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&u32::from(width).to_be_bytes());
    ihdr.extend_from_slice(&u32::from(height).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads back what [`encode_png`] writes (stored blocks only).
    fn decode_stored_png(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let (mut w, mut h, mut z) = (0, 0, Vec::new());
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&[kind, data]), "chunk CRC");
            match kind {
                b"IHDR" => {
                    w = u32::from_be_bytes(data[..4].try_into().unwrap());
                    h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                }
                b"IDAT" => z.extend_from_slice(data),
                _ => {}
            }
            at += 12 + len;
        }
        let mut raw = Vec::new();
        let mut i = 2;
        loop {
            let last = z[i] & 1;
            let len = u16::from_le_bytes([z[i + 1], z[i + 2]]) as usize;
            let nlen = u16::from_le_bytes([z[i + 3], z[i + 4]]);
            assert_eq!(nlen, !(len as u16));
            raw.extend_from_slice(&z[i + 5..i + 5 + len]);
            i += 5 + len;
            if last == 1 {
                break;
            }
        }
        let mut px = Vec::new();
        for r in raw.chunks(w as usize * 3 + 1) {
            assert_eq!(r[0], 0);
            px.extend_from_slice(&r[1..]);
        }
        (w, h, px)
    }

    #[test]
    fn crc_matches_the_png_specification_example() {
        // CRC-32 of "IEND" with no data, as every PNG ends.
        assert_eq!(crc32(&[b"IEND"]), 0xae42_6082);
    }

    #[test]
    fn png_round_trip_including_multi_block() {
        let (w, h) = (200u16, 120u16); // 72,120 raw bytes: two stored blocks
        let rgb: Vec<u8> = (0..usize::from(w) * usize::from(h) * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let (dw, dh, px) = decode_stored_png(&encode_png(w, h, &rgb));
        assert_eq!((dw, dh), (200, 120));
        assert_eq!(px, rgb);
    }

    #[test]
    fn writes_replace_the_frame_and_bad_ones_are_refused() {
        let fb = Framebuffer::new(4, 2).unwrap();
        assert_eq!(fb.snapshot().pixels, vec![0; 24]);
        assert_eq!(fb.write_rgb(2, 1, &[1, 2, 3, 4, 5, 6]), Ok(1));
        let s = fb.snapshot();
        assert_eq!((s.width, s.height, s.generation), (2, 1, 1));
        assert_eq!(s.pixels, [1, 2, 3, 4, 5, 6]);
        assert!(matches!(
            fb.write_rgb(2, 1, &[0; 5]),
            Err(FbError::BadLength { .. })
        ));
        assert_eq!(fb.write_rgb(0, 1, &[]), Err(FbError::BadSize(0, 1)));
        assert_eq!(fb.generation(), 1);
    }

    #[test]
    fn half_block_view_averages_and_keeps_aspect() {
        let fb = Framebuffer::new(8, 4).unwrap();
        // Left half red, right half blue; the top two rows bright.
        let mut rgb = vec![0u8; 8 * 4 * 3];
        for y in 0..4 {
            for x in 0..8 {
                let o = (y * 8 + x) * 3;
                let v = if y < 2 { 200 } else { 100 };
                if x < 4 {
                    rgb[o] = v;
                } else {
                    rgb[o + 2] = v;
                }
            }
        }
        fb.write_rgb(8, 4, &rgb).unwrap();
        let v = fb.half_block_view(4, 10);
        // 8×4 fits 4 columns as 4×2 pixels: one row of cells.
        assert_eq!((v.cols, v.rows), (4, 1));
        assert_eq!(v.cells.len(), 4);
        assert_eq!(v.cells[0], [[200, 0, 0], [100, 0, 0]]);
        assert_eq!(v.cells[3], [[0, 0, 200], [0, 0, 100]]);
        // Height-bound: 8×4 into 100 columns and 1 row keeps 2:1.
        let v = fb.half_block_view(100, 1);
        assert_eq!((v.cols, v.rows), (4, 1));
    }

    #[test]
    fn snapshot_dir_names_the_generation() {
        let dir = std::env::temp_dir().join(format!("spin-fb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fb = Framebuffer::new(2, 2).unwrap();
        fb.write_rgb(2, 2, &[9; 12]).unwrap();
        let p = fb.snapshot_to_dir(&dir).unwrap();
        assert!(p.ends_with("frame-000001.png"));
        let (w, h, px) = decode_stored_png(&std::fs::read(&p).unwrap());
        assert_eq!((w, h, px), (2, 2, vec![9; 12]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
