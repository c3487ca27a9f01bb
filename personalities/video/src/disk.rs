//! The disk device the server reads its clip through: fixed-size blocks
//! read by number. [`FileDisk`] backs it with a host file; [`MemDisk`]
//! with bytes in memory (tests). The clip reader finds the frames once and
//! then reads each frame's blocks when the frame is due.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::mjpeg::{split_frames, ClipError};

/// Block size of the disk devices, bytes.
pub const BLOCK: usize = 512;

/// A block device.
pub trait Disk: Send + Sync {
    /// Size of the device, bytes.
    fn len(&self) -> u64;
    /// Whether the device holds no byte.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads block `n` into `buf` (a short last block is zero-padded).
    fn read_block(&self, n: u64, buf: &mut [u8; BLOCK]) -> io::Result<()>;
}

/// A disk backed by a host file.
#[derive(Debug)]
pub struct FileDisk {
    file: File,
    len: u64,
}

impl FileDisk {
    /// Opens `path` read-only.
    pub fn open(path: &Path) -> io::Result<FileDisk> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileDisk { file, len })
    }
}

impl Disk for FileDisk {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_block(&self, n: u64, buf: &mut [u8; BLOCK]) -> io::Result<()> {
        let at = n * BLOCK as u64;
        if at >= self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "block past the end",
            ));
        }
        let want = (self.len - at).min(BLOCK as u64) as usize;
        buf.fill(0);
        self.file.read_exact_at(&mut buf[..want], at)
    }
}

/// A disk backed by memory.
#[derive(Debug, Clone)]
pub struct MemDisk(pub Vec<u8>);

impl Disk for MemDisk {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_block(&self, n: u64, buf: &mut [u8; BLOCK]) -> io::Result<()> {
        let at = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(BLOCK))
            .filter(|&at| at < self.0.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "block past the end"))?;
        let end = (at + BLOCK).min(self.0.len());
        buf.fill(0);
        buf[..end - at].copy_from_slice(&self.0[at..end]);
        Ok(())
    }
}

/// Reads `range` of the device.
pub fn read_range(disk: &dyn Disk, range: Range<u64>, out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    if range.end > disk.len() || range.start > range.end {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "range past the end",
        ));
    }
    let mut block = [0u8; BLOCK];
    let mut at = range.start;
    while at < range.end {
        let n = at / BLOCK as u64;
        disk.read_block(n, &mut block)?;
        let off = (at % BLOCK as u64) as usize;
        let take = ((range.end - at) as usize).min(BLOCK - off);
        out.extend_from_slice(&block[off..off + take]);
        at += take as u64;
    }
    Ok(())
}

/// Why a clip could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ClipOpenError {
    /// The device could not be read.
    #[error("reading the clip failed: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not a Motion-JPEG clip.
    #[error(transparent)]
    Clip(#[from] ClipError),
    /// The clip is larger than the reader indexes (bytes).
    #[error("the clip is {0} bytes; at most {MAX_CLIP} are read")]
    TooBig(u64),
}

/// Largest clip indexed, bytes.
pub const MAX_CLIP: u64 = 256 << 20;

/// A Motion-JPEG clip on a disk: where each frame lies.
pub struct ClipReader {
    disk: Box<dyn Disk>,
    frames: Vec<Range<u64>>,
}

impl std::fmt::Debug for ClipReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipReader")
            .field("frames", &self.frames.len())
            .finish()
    }
}

impl ClipReader {
    /// Reads the device once to find the frames.
    pub fn open(disk: Box<dyn Disk>) -> Result<ClipReader, ClipOpenError> {
        if disk.len() > MAX_CLIP {
            return Err(ClipOpenError::TooBig(disk.len()));
        }
        let mut all = Vec::new();
        read_range(disk.as_ref(), 0..disk.len(), &mut all)?;
        let frames = split_frames(&all)?
            .into_iter()
            .map(|r| r.start as u64..r.end as u64)
            .collect();
        Ok(ClipReader { disk, frames })
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// Reads frame `i` (modulo the frame count: the clip loops) into `out`.
    pub fn read_frame(&self, i: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let r = self.frames[i % self.frames.len()].clone();
        read_range(self.disk.as_ref(), r, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cross_blocks() {
        let bytes: Vec<u8> = (0..1300u32).map(|i| i as u8).collect();
        let d = MemDisk(bytes.clone());
        let mut out = Vec::new();
        read_range(&d, 500..1300, &mut out).unwrap();
        assert_eq!(out, &bytes[500..1300]);
        assert!(read_range(&d, 0..1301, &mut out).is_err());
    }
}
