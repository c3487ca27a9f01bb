//! The synthetic picture of the bundled test clip: colour bars scrolling
//! sideways, a white square bouncing, and the frame number drawn in a
//! 3×5-pixel font (scaled), so every frame differs and its index can be
//! read off the picture.

/// Glyphs for 0–9: 5 rows of 3 bits each (bit 2 = left column).
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

/// Frame `index` of the pattern as RGB (3 bytes per pixel, rows top down).
pub fn frame(index: u32, width: u16, height: u16) -> Vec<u8> {
    let (w, h) = (usize::from(width), usize::from(height));
    let mut px = vec![0u8; w * h * 3];
    let shift = index as usize * 2;
    for y in 0..h {
        for x in 0..w {
            let bar = ((x + shift) * BARS.len() / w.max(1)) % BARS.len();
            let o = (y * w + x) * 3;
            px[o..o + 3].copy_from_slice(&BARS[bar]);
        }
    }
    // A 16×16 square bouncing between the edges.
    let span_x = w.saturating_sub(16).max(1);
    let span_y = h.saturating_sub(16).max(1);
    let t = index as usize * 3;
    let bx = bounce(t, span_x);
    let by = bounce(t * 2 / 3, span_y);
    fill(&mut px, w, h, bx, by, 16, 16, [255, 255, 255]);
    // The frame number, 4 digits, each pixel 3×3, on a black plate.
    let scale = 3;
    let digits = format!("{:04}", index % 10_000);
    fill(
        &mut px,
        w,
        h,
        2,
        2,
        4 * 4 * scale + scale,
        5 * scale + 2 * scale,
        [0, 0, 0],
    );
    for (i, c) in digits.bytes().enumerate() {
        let g = DIGITS[usize::from(c - b'0')];
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    let x = 2 + scale + i * 4 * scale + col * scale;
                    let y = 2 + scale + row * scale;
                    fill(&mut px, w, h, x, y, scale, scale, [255, 255, 255]);
                }
            }
        }
    }
    px
}

fn bounce(t: usize, span: usize) -> usize {
    let p = t % (2 * span);
    if p < span {
        p
    } else {
        2 * span - p
    }
}

#[allow(clippy::too_many_arguments)]
fn fill(px: &mut [u8], w: usize, h: usize, x0: usize, y0: usize, fw: usize, fh: usize, c: [u8; 3]) {
    for y in y0..(y0 + fh).min(h) {
        for x in x0..(x0 + fw).min(w) {
            let o = (y * w + x) * 3;
            px[o..o + 3].copy_from_slice(&c);
        }
    }
}
