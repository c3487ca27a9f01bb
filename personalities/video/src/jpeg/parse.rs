//! Reading a baseline JPEG into what RFC 2435 carries: the frame's type
//! (4:2:2 or 4:2:0), size, quantization tables and entropy-coded scan.
//!
//! Only what the RTP payload format can describe is accepted: baseline
//! (SOF0), 8-bit samples, three components (Y sampled 2×1 or 2×2, Cb and
//! Cr 1×1), 8-bit quantization tables (Y on one, Cb and Cr on another), the
//! standard Huffman tables (Y on tables 0, chroma on 1), no restart
//! intervals, a single interleaved scan. Everything else is an error value.

use super::tables::standard_huffman;

/// Why a JPEG cannot be sent as RTP/JPEG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    /// The data ends inside a marker segment.
    #[error("the JPEG data ends early")]
    Truncated,
    /// A marker or segment breaks the format.
    #[error("the JPEG is malformed: {0}")]
    Malformed(&'static str),
    /// A valid JPEG that RFC 2435 cannot describe.
    #[error("RFC 2435 cannot carry this JPEG: {0}")]
    Unsupported(&'static str),
}

/// RFC 2435 type 0: Y sampled 2×1 (4:2:2); type 1: 2×2 (4:2:0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subsampling {
    /// Type 0.
    S422,
    /// Type 1.
    S420,
}

impl Subsampling {
    /// The RFC 2435 type number.
    pub fn rtp_type(self) -> u8 {
        match self {
            Subsampling::S422 => 0,
            Subsampling::S420 => 1,
        }
    }

    /// From an RFC 2435 type (restart-marker types 64/65 map to the same
    /// sampling but are not supported here).
    pub fn from_rtp_type(t: u8) -> Option<Subsampling> {
        match t {
            0 => Some(Subsampling::S422),
            1 => Some(Subsampling::S420),
            _ => None,
        }
    }

    /// Y's sampling factors byte (H << 4 | V).
    pub fn luma_factors(self) -> u8 {
        match self {
            Subsampling::S422 => 0x21,
            Subsampling::S420 => 0x22,
        }
    }
}

/// A baseline JPEG as RFC 2435 sees it; borrows the scan from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegFrame<'a> {
    /// Width in pixels (a multiple of 8, at most 2040).
    pub width: u16,
    /// Height in pixels (a multiple of 8, at most 2040).
    pub height: u16,
    /// Chroma subsampling.
    pub subsampling: Subsampling,
    /// Luminance and chrominance quantization tables, zigzag order.
    pub quant: [[u8; 64]; 2],
    /// The entropy-coded scan (between the SOS header and EOI).
    pub scan: &'a [u8],
}

/// Markers.
mod marker {
    pub const SOI: u8 = 0xd8;
    pub const EOI: u8 = 0xd9;
    pub const SOF0: u8 = 0xc0;
    pub const SOF1: u8 = 0xc1;
    pub const DHT: u8 = 0xc4;
    pub const DQT: u8 = 0xdb;
    pub const DRI: u8 = 0xdd;
    pub const SOS: u8 = 0xda;
    pub const TEM: u8 = 0x01;
}

struct Sof {
    width: u16,
    height: u16,
    subsampling: Subsampling,
    ids: [u8; 3],
    tq: [u8; 2],
}

fn be16(d: &[u8], at: usize) -> Result<u16, JpegError> {
    match d.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(JpegError::Truncated),
    }
}

/// Parses `data` (one complete JPEG, SOI to EOI).
pub fn parse(data: &[u8]) -> Result<JpegFrame<'_>, JpegError> {
    if data.get(0..2) != Some(&[0xff, marker::SOI]) {
        return Err(JpegError::Malformed("no start-of-image marker"));
    }
    let mut quant: [Option<[u8; 64]>; 4] = [None; 4];
    // None: not defined, which Motion-JPEG reads as the standard table.
    let mut huff_ok = [[None; 2]; 2];
    let mut sof: Option<Sof> = None;
    let mut at = 2;
    loop {
        if *data.get(at).ok_or(JpegError::Truncated)? != 0xff {
            return Err(JpegError::Malformed("expected a marker"));
        }
        while data.get(at) == Some(&0xff) {
            at += 1; // fill bytes
        }
        let m = *data.get(at).ok_or(JpegError::Truncated)?;
        at += 1;
        match m {
            marker::TEM | 0xd0..=0xd7 => continue,
            marker::EOI => return Err(JpegError::Malformed("no scan before end of image")),
            marker::SOI => return Err(JpegError::Malformed("a second start-of-image")),
            _ => {}
        }
        let len = usize::from(be16(data, at)?);
        if len < 2 {
            return Err(JpegError::Malformed("segment length below 2"));
        }
        let seg = data.get(at + 2..at + len).ok_or(JpegError::Truncated)?;
        at += len;
        match m {
            marker::DQT => parse_dqt(seg, &mut quant)?,
            marker::DHT => parse_dht(seg, &mut huff_ok)?,
            marker::SOF0 | marker::SOF1 => sof = Some(parse_sof(seg)?),
            0xc2..=0xcf => {
                return Err(JpegError::Unsupported(
                    "only baseline sequential Huffman JPEG",
                ))
            }
            marker::DRI if be16(seg, 0)? != 0 => {
                return Err(JpegError::Unsupported("restart intervals"));
            }
            marker::SOS => {
                let sof = sof.ok_or(JpegError::Malformed("scan before frame header"))?;
                check_sos(seg, &sof)?;
                if huff_ok.iter().flatten().any(|&ok| ok == Some(false)) {
                    return Err(JpegError::Unsupported(
                        "Huffman tables other than the standard ones",
                    ));
                }
                let luma = quant[usize::from(sof.tq[0])]
                    .ok_or(JpegError::Malformed("luminance quantization table missing"))?;
                let chroma = quant[usize::from(sof.tq[1])].ok_or(JpegError::Malformed(
                    "chrominance quantization table missing",
                ))?;
                let scan = scan_data(&data[at..])?;
                return Ok(JpegFrame {
                    width: sof.width,
                    height: sof.height,
                    subsampling: sof.subsampling,
                    quant: [luma, chroma],
                    scan,
                });
            }
            _ => {} // APPn, COM and others: not carried
        }
    }
}

/// The entropy-coded data: up to the first marker that is neither a
/// stuffed 0xFF00 nor a restart marker (normally EOI).
fn scan_data(d: &[u8]) -> Result<&[u8], JpegError> {
    let mut i = 0;
    while i + 1 < d.len() {
        if d[i] == 0xff {
            match d[i + 1] {
                0x00 | 0xd0..=0xd7 => i += 2,
                0xff => i += 1,
                _ => return Ok(&d[..i]),
            }
        } else {
            i += 1;
        }
    }
    Err(JpegError::Truncated)
}

fn parse_dqt(mut seg: &[u8], quant: &mut [Option<[u8; 64]>; 4]) -> Result<(), JpegError> {
    while let Some((&pq_tq, rest)) = seg.split_first() {
        if pq_tq >> 4 != 0 {
            return Err(JpegError::Unsupported("16-bit quantization tables"));
        }
        let id = usize::from(pq_tq & 0x0f);
        if id > 3 {
            return Err(JpegError::Malformed("quantization table id above 3"));
        }
        let t = rest.get(..64).ok_or(JpegError::Truncated)?;
        let mut table = [0u8; 64];
        table.copy_from_slice(t);
        quant[id] = Some(table);
        seg = &rest[64..];
    }
    Ok(())
}

fn parse_dht(mut seg: &[u8], ok: &mut [[Option<bool>; 2]; 2]) -> Result<(), JpegError> {
    while let Some((&tc_th, rest)) = seg.split_first() {
        let (class, id) = (tc_th >> 4, tc_th & 0x0f);
        let bits = rest.get(..16).ok_or(JpegError::Truncated)?;
        let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
        let values = rest.get(16..16 + n).ok_or(JpegError::Truncated)?;
        let standard =
            standard_huffman(class, id).is_some_and(|s| s.bits[..] == *bits && s.values == values);
        if class > 1 || id > 1 {
            return Err(JpegError::Unsupported("Huffman table ids above 1"));
        }
        ok[usize::from(class)][usize::from(id)] = Some(standard);
        seg = &rest[16 + n..];
    }
    Ok(())
}

fn parse_sof(seg: &[u8]) -> Result<Sof, JpegError> {
    let p = *seg.first().ok_or(JpegError::Truncated)?;
    if p != 8 {
        return Err(JpegError::Unsupported("samples other than 8 bits"));
    }
    let height = be16(seg, 1)?;
    let width = be16(seg, 3)?;
    let nf = *seg.get(5).ok_or(JpegError::Truncated)?;
    if nf != 3 {
        return Err(JpegError::Unsupported(
            "images without exactly 3 components",
        ));
    }
    let c = seg.get(6..15).ok_or(JpegError::Truncated)?;
    let subsampling = match c[1] {
        0x21 => Subsampling::S422,
        0x22 => Subsampling::S420,
        _ => {
            return Err(JpegError::Unsupported(
                "luminance sampling other than 2x1 or 2x2",
            ))
        }
    };
    if c[4] != 0x11 || c[7] != 0x11 {
        return Err(JpegError::Unsupported(
            "chrominance sampling other than 1x1",
        ));
    }
    // Cb and Cr share a table; it may be luminance's own (ffmpeg's default).
    if c[5] != c[8] || c[2] > 3 || c[5] > 3 {
        return Err(JpegError::Unsupported(
            "chrominance components with different quantization tables",
        ));
    }
    if width == 0 || height == 0 || width % 8 != 0 || height % 8 != 0 {
        return Err(JpegError::Unsupported("a size that is not a multiple of 8"));
    }
    if width > 2040 || height > 2040 {
        return Err(JpegError::Unsupported("a side above 2040 pixels"));
    }
    Ok(Sof {
        width,
        height,
        subsampling,
        ids: [c[0], c[3], c[6]],
        tq: [c[2], c[5]],
    })
}

fn check_sos(seg: &[u8], sof: &Sof) -> Result<(), JpegError> {
    if seg.first() != Some(&3) {
        return Err(JpegError::Unsupported("a scan without all 3 components"));
    }
    let c = seg.get(1..10).ok_or(JpegError::Truncated)?;
    if [c[0], c[2], c[4]] != sof.ids {
        return Err(JpegError::Unsupported("scan components out of frame order"));
    }
    if [c[1], c[3], c[5]] != [0x00, 0x11, 0x11] {
        return Err(JpegError::Unsupported(
            "Huffman table choice other than 0 for luminance and 1 for chrominance",
        ));
    }
    if seg.get(7..10) != Some(&[0, 63, 0]) {
        return Err(JpegError::Unsupported("a scan that is not sequential"));
    }
    Ok(())
}
