//! Motion-JPEG clips: JPEG frames one after another in a file. Frames are
//! found by walking each JPEG's marker segments to its EOI (not by
//! searching for byte patterns, which scan data may contain).

/// Why a clip could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClipError {
    /// Bytes that do not start a JPEG where a frame should start.
    #[error("no JPEG frame starts at byte {0} of the clip")]
    NotJpeg(usize),
    /// The clip ends inside a frame.
    #[error("the clip ends inside the frame starting at byte {0}")]
    Truncated(usize),
    /// A clip with no frame.
    #[error("the clip holds no frame")]
    Empty,
}

/// The length of the JPEG at the start of `d` (SOI to EOI inclusive).
pub fn jpeg_len(d: &[u8]) -> Option<usize> {
    if d.get(0..2) != Some(&[0xff, 0xd8]) {
        return None;
    }
    let mut at = 2;
    let mut in_scan = false;
    loop {
        if in_scan {
            // Entropy-coded data: up to a marker that is not stuffing or RST.
            while at + 1 < d.len() {
                if d[at] == 0xff && !matches!(d[at + 1], 0x00 | 0xd0..=0xd7 | 0xff) {
                    break;
                }
                at += 1;
            }
            in_scan = false;
        }
        if *d.get(at)? != 0xff {
            return None;
        }
        while d.get(at) == Some(&0xff) {
            at += 1;
        }
        let m = *d.get(at)?;
        at += 1;
        match m {
            0xd9 => return Some(at),
            0x01 | 0xd0..=0xd7 => continue,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]));
        if len < 2 {
            return None;
        }
        at += len;
        if at > d.len() {
            return None;
        }
        in_scan = m == 0xda;
    }
}

/// The byte ranges of the frames of a clip.
pub fn split_frames(clip: &[u8]) -> Result<Vec<std::ops::Range<usize>>, ClipError> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < clip.len() {
        if clip.get(at..at + 2) != Some(&[0xff, 0xd8]) {
            return Err(ClipError::NotJpeg(at));
        }
        let n = jpeg_len(&clip[at..]).ok_or(ClipError::Truncated(at))?;
        frames.push(at..at + n);
        at += n;
    }
    if frames.is_empty() {
        return Err(ClipError::Empty);
    }
    Ok(frames)
}
