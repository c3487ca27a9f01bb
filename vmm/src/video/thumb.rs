//! A video client's current frame as it travels in a telemetry record:
//! downscaled in the host to at most [`THUMB_MAX_W`] × [`THUMB_MAX_H`]
//! pixels and carried as base64 RGB, so a JSON record stays small (a
//! 96×72 thumbnail is 27 KiB of text). The dashboard scales it again to
//! the cells it has.

use serde::{Deserialize, Serialize};

/// Widest thumbnail, pixels.
pub const THUMB_MAX_W: u16 = 96;
/// Tallest thumbnail, pixels.
pub const THUMB_MAX_H: u16 = 72;

/// Why a thumbnail's pixels could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThumbnailError {
    /// A character outside the base64 alphabet, or a bad length.
    #[error("the thumbnail's pixels are not base64")]
    Encoding,
    /// The decoded bytes do not match the size.
    #[error("a {w}x{h} thumbnail needs {} bytes, got {got}", usize::from(*.w) * usize::from(*.h) * 3)]
    Length {
        /// Width.
        w: u16,
        /// Height.
        h: u16,
        /// Bytes decoded.
        got: usize,
    },
}

/// A downscaled frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Width, pixels (at most [`THUMB_MAX_W`]).
    pub width: u16,
    /// Height, pixels (at most [`THUMB_MAX_H`]).
    pub height: u16,
    /// The framebuffer generation it shows (0: nothing written yet).
    pub generation: u64,
    /// RGB, 3 bytes per pixel, rows top down, base64 (RFC 4648, padded).
    pub rgb: String,
}

impl Thumbnail {
    /// The `width` × `height` RGB picture `rgb` fitted inside
    /// [`THUMB_MAX_W`] × [`THUMB_MAX_H`] keeping its aspect ratio (each
    /// pixel the mean of those it covers). A picture whose data does not
    /// match its size gives a 1×1 black thumbnail.
    pub fn of(rgb: &[u8], width: u16, height: u16, generation: u64) -> Thumbnail {
        let n = usize::from(width) * usize::from(height) * 3;
        if n == 0 || rgb.len() != n {
            return Thumbnail {
                width: 1,
                height: 1,
                generation,
                rgb: base64(&[0, 0, 0]),
            };
        }
        let (w, h) = fit_inside(width, height, THUMB_MAX_W, THUMB_MAX_H);
        let scaled = scale_rgb(rgb, width, height, w, h);
        Thumbnail {
            width: w,
            height: h,
            generation,
            rgb: base64(&scaled),
        }
    }

    /// The RGB pixels (`width * height * 3` bytes).
    pub fn pixels(&self) -> Result<Vec<u8>, ThumbnailError> {
        let px = unbase64(&self.rgb).ok_or(ThumbnailError::Encoding)?;
        let want = usize::from(self.width) * usize::from(self.height) * 3;
        if px.len() != want {
            return Err(ThumbnailError::Length {
                w: self.width,
                h: self.height,
                got: px.len(),
            });
        }
        Ok(px)
    }
}

/// The largest size inside `max_w` × `max_h` with `w`:`h`'s aspect ratio
/// (at least 1×1; never larger than `w` × `h`).
pub fn fit_inside(w: u16, h: u16, max_w: u16, max_h: u16) -> (u16, u16) {
    let (w32, h32) = (u32::from(w.max(1)), u32::from(h.max(1)));
    let (mw, mh) = (
        u32::from(max_w.min(w).max(1)),
        u32::from(max_h.min(h).max(1)),
    );
    let (mut ow, mut oh) = (mw, mw * h32 / w32);
    if oh > mh {
        oh = mh;
        ow = mh * w32 / h32;
    }
    (ow.clamp(1, mw) as u16, oh.clamp(1, mh) as u16)
}

/// `src` (`sw` × `sh` RGB) scaled to `dw` × `dh`, each output pixel the
/// mean of the source pixels it covers (nearest when enlarging). A source
/// whose length does not match its size scales as black.
pub fn scale_rgb(src: &[u8], sw: u16, sh: u16, dw: u16, dh: u16) -> Vec<u8> {
    let (sw, sh, dw, dh) = (
        usize::from(sw),
        usize::from(sh),
        usize::from(dw),
        usize::from(dh),
    );
    let mut out = vec![0u8; dw * dh * 3];
    if sw == 0 || sh == 0 || src.len() != sw * sh * 3 {
        return out;
    }
    for y in 0..dh {
        let y0 = y * sh / dh;
        let y1 = ((y + 1) * sh).div_ceil(dh).clamp(y0 + 1, sh.max(y0 + 1));
        for x in 0..dw {
            let x0 = x * sw / dw;
            let x1 = ((x + 1) * sw).div_ceil(dw).clamp(x0 + 1, sw.max(x0 + 1));
            let mut sum = [0u32; 3];
            let mut n = 0u32;
            for sy in y0..y1.min(sh) {
                for sx in x0..x1.min(sw) {
                    let o = (sy * sw + sx) * 3;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u32::from(src[o + c]);
                    }
                    n += 1;
                }
            }
            let o = (y * dw + x) * 3;
            for (c, s) in sum.iter().enumerate() {
                out[o + c] = (s / n.max(1)) as u8;
            }
        }
    }
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.len() / 4;
    for (q, quad) in bytes.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && q + 1 != quads) {
            return None;
        }
        let mut v = 0u32;
        for &c in &quad[..4 - pad] {
            v = (v << 6) | value(c)?;
        }
        v <<= 6 * pad as u32;
        let got = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&got[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        for n in 0..50u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64(&base64(&bytes)).as_deref(), Some(&bytes[..]));
        }
        for bad in ["TWF", "TW=u", "T===", "TQ==TWFu", "TW!u"] {
            assert_eq!(unbase64(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_frame_shrinks_to_the_bound_keeping_its_aspect() {
        let (w, h) = (160u16, 120u16);
        let mut rgb = vec![0u8; 160 * 120 * 3];
        // Left half red, right half blue.
        for y in 0..120 {
            for x in 0..160 {
                let o = (y * 160 + x) * 3;
                if x < 80 {
                    rgb[o] = 200;
                } else {
                    rgb[o + 2] = 100;
                }
            }
        }
        let t = Thumbnail::of(&rgb, w, h, 7);
        assert_eq!((t.width, t.height, t.generation), (96, 72, 7));
        assert!(t.rgb.len() <= 96 * 72 * 4, "base64 of 3 bytes a pixel");
        let px = t.pixels().expect("decodes");
        assert_eq!(&px[..3], &[200, 0, 0]);
        assert_eq!(&px[px.len() - 3..], &[0, 0, 100]);
        // A small frame is not enlarged.
        let small = Thumbnail::of(&[1, 2, 3, 4, 5, 6], 2, 1, 1);
        assert_eq!((small.width, small.height), (2, 1));
        assert_eq!(small.pixels().expect("decodes"), [1, 2, 3, 4, 5, 6]);
        // Bad input: a black pixel, no panic.
        let bad = Thumbnail::of(&[1, 2], 2, 1, 1);
        assert_eq!((bad.width, bad.height), (1, 1));
    }

    #[test]
    fn a_damaged_thumbnail_is_an_error() {
        let mut t = Thumbnail::of(&[9; 12], 2, 2, 1);
        t.width = 3;
        assert!(matches!(t.pixels(), Err(ThumbnailError::Length { .. })));
        t.rgb = "%%%%".into();
        assert_eq!(t.pixels(), Err(ThumbnailError::Encoding));
    }

    #[test]
    fn scaling_fits_and_never_panics() {
        assert_eq!(fit_inside(160, 120, 96, 72), (96, 72));
        assert_eq!(fit_inside(160, 120, 40, 72), (40, 30));
        assert_eq!(fit_inside(1, 4000, 96, 72), (1, 72));
        assert_eq!(fit_inside(0, 0, 0, 0), (1, 1));
        let px = scale_rgb(&[10, 20, 30], 1, 1, 3, 2);
        assert_eq!(px, [10, 20, 30].repeat(6), "nearest when enlarging");
        assert_eq!(scale_rgb(&[1], 1, 1, 2, 2), vec![0; 12], "bad length");
        let avg = scale_rgb(&[0, 0, 0, 100, 100, 100], 2, 1, 1, 1);
        assert_eq!(avg, [50, 50, 50]);
    }
}
