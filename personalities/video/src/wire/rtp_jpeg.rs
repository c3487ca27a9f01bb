//! The RTP/JPEG payload headers (RFC 2435 §3.1): the main JPEG header in
//! every packet and the quantization table header in a frame's first packet
//! when Q is 128 or more.

use super::WireError;

/// Length of the main JPEG header, bytes.
pub const HEADER_LEN: usize = 8;
/// Length of the quantization table header (before the tables), bytes.
pub const QUANT_HEADER_LEN: usize = 4;
/// Static payload type of JPEG (RFC 3551).
pub const PAYLOAD_TYPE: u8 = 26;
/// RTP clock of video, Hz.
pub const CLOCK_HZ: u32 = 90_000;

/// The main JPEG header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegHeader {
    /// Type-specific field (0 for progressive frames).
    pub type_specific: u8,
    /// Offset of this packet's data in the frame's scan, bytes (24 bits).
    pub fragment_offset: u32,
    /// RFC 2435 type (0: 4:2:2, 1: 4:2:0; 64..127 with restart markers).
    pub jpeg_type: u8,
    /// Quality: 1..=99 scale the standard tables, 128..=255 tables in band.
    pub q: u8,
    /// Width in pixels / 8.
    pub width8: u8,
    /// Height in pixels / 8.
    pub height8: u8,
}

impl JpegHeader {
    /// Parses the header at the start of an RTP payload.
    pub fn parse(p: &[u8]) -> Result<JpegHeader, WireError> {
        let b = p.get(..HEADER_LEN).ok_or(WireError::Truncated)?;
        let h = JpegHeader {
            type_specific: b[0],
            fragment_offset: u32::from_be_bytes([0, b[1], b[2], b[3]]),
            jpeg_type: b[4],
            q: b[5],
            width8: b[6],
            height8: b[7],
        };
        if h.q == 0 {
            return Err(WireError::Malformed("Q of 0 is reserved"));
        }
        if h.width8 == 0 || h.height8 == 0 {
            return Err(WireError::Malformed("a zero image size"));
        }
        Ok(h)
    }

    /// Appends the 8 bytes. The offset must fit 24 bits.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let o = self.fragment_offset.to_be_bytes();
        out.extend_from_slice(&[
            self.type_specific,
            o[1],
            o[2],
            o[3],
            self.jpeg_type,
            self.q,
            self.width8,
            self.height8,
        ]);
    }
}

/// The quantization table header and the tables it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantHeader<'a> {
    /// Precision bits (bit i set: table i has 16-bit entries).
    pub precision: u8,
    /// The tables' bytes (empty: use tables sent before for this Q).
    pub tables: &'a [u8],
}

impl<'a> QuantHeader<'a> {
    /// Parses the header at `p` (right after the main header); returns it
    /// and the bytes it took.
    pub fn parse(p: &'a [u8]) -> Result<(QuantHeader<'a>, usize), WireError> {
        let b = p.get(..QUANT_HEADER_LEN).ok_or(WireError::Truncated)?;
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let tables = p
            .get(QUANT_HEADER_LEN..QUANT_HEADER_LEN + len)
            .ok_or(WireError::Truncated)?;
        Ok((
            QuantHeader {
                precision: b[1],
                tables,
            },
            QUANT_HEADER_LEN + len,
        ))
    }

    /// Appends the header and the tables (8-bit tables only).
    pub fn emit(tables: &[[u8; 64]; 2], out: &mut Vec<u8>) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&128u16.to_be_bytes());
        out.extend_from_slice(&tables[0]);
        out.extend_from_slice(&tables[1]);
    }

    /// The 8-bit tables (luminance, chrominance), if that is what it
    /// carries: two tables, or one that serves both (as ffmpeg sends when
    /// its JPEGs share one table).
    pub fn tables8(&self) -> Result<[[u8; 64]; 2], WireError> {
        if self.precision & 0x03 != 0 {
            return Err(WireError::Malformed("16-bit quantization tables"));
        }
        let mut t = [[0u8; 64]; 2];
        match self.tables.len() {
            64 => {
                t[0].copy_from_slice(self.tables);
                t[1].copy_from_slice(self.tables);
            }
            128 => {
                t[0].copy_from_slice(&self.tables[..64]);
                t[1].copy_from_slice(&self.tables[64..]);
            }
            _ => {
                return Err(WireError::Malformed(
                    "not one or two 64-byte quantization tables",
                ))
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes() {
        let h = JpegHeader {
            type_specific: 0,
            fragment_offset: 0x01_0203,
            jpeg_type: 1,
            q: 255,
            width8: 20,
            height8: 15,
        };
        let mut v = Vec::new();
        h.emit(&mut v);
        assert_eq!(v, [0, 1, 2, 3, 1, 255, 20, 15]);
        assert_eq!(JpegHeader::parse(&v), Ok(h));
        assert!(JpegHeader::parse(&v[..7]).is_err());
        v[5] = 0;
        assert!(JpegHeader::parse(&v).is_err());
    }

    #[test]
    fn quant_header_round_trip() {
        let t = [[3u8; 64], [7u8; 64]];
        let mut v = Vec::new();
        QuantHeader::emit(&t, &mut v);
        v.extend_from_slice(b"scan");
        let (q, used) = QuantHeader::parse(&v).expect("valid");
        assert_eq!(used, 132);
        assert_eq!(q.tables8(), Ok(t));
        assert_eq!(
            QuantHeader::parse(&v[..100]).err(),
            Some(WireError::Truncated)
        );
    }
}
