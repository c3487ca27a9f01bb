//! RTP fixed header (RFC 3550 §5.1).

use super::WireError;

/// Length of the fixed header, bytes.
pub const HEADER_LEN: usize = 12;

/// A parsed RTP header and where its payload lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit (RTP/JPEG: last packet of a frame).
    pub marker: bool,
    /// Payload type (26 for JPEG).
    pub payload_type: u8,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp (90 kHz for video).
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Parses `packet`; returns the header and the payload's byte range
    /// (after CSRCs and any header extension, before any padding).
    pub fn parse(packet: &[u8]) -> Result<(RtpHeader, std::ops::Range<usize>), WireError> {
        if packet.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let b0 = packet[0];
        if b0 >> 6 != 2 {
            return Err(WireError::Malformed("RTP version is not 2"));
        }
        let padding = b0 & 0x20 != 0;
        let extension = b0 & 0x10 != 0;
        let csrc = usize::from(b0 & 0x0f);
        let mut start = HEADER_LEN + 4 * csrc;
        if extension {
            let words = packet
                .get(start + 2..start + 4)
                .ok_or(WireError::Truncated)?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        }
        let mut end = packet.len();
        if padding {
            let pad = usize::from(packet[end - 1]);
            if pad == 0 {
                return Err(WireError::Malformed("RTP padding count of 0"));
            }
            end = end.checked_sub(pad).ok_or(WireError::Truncated)?;
        }
        if start > end {
            return Err(WireError::Truncated);
        }
        let h = RtpHeader {
            marker: packet[1] & 0x80 != 0,
            payload_type: packet[1] & 0x7f,
            seq: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        };
        Ok((h, start..end))
    }

    /// Appends the 12-byte header (no CSRCs, extension or padding).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(0x80);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7f));
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_bytes() {
        let h = RtpHeader {
            marker: true,
            payload_type: 26,
            seq: 0x1234,
            timestamp: 0xdead_beef,
            ssrc: 0x0102_0304,
        };
        let mut v = Vec::new();
        h.emit(&mut v);
        assert_eq!(
            v,
            [0x80, 0x9a, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]
        );
        v.extend_from_slice(b"xy");
        assert_eq!(RtpHeader::parse(&v), Ok((h, 12..14)));
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        let mut v = vec![0x80 | 0x20 | 0x10 | 1, 26, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        v.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        v.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // extension, 1 word
        v.extend_from_slice(b"data");
        v.extend_from_slice(&[0, 0, 3]); // 3 bytes of padding
        let (_, r) = RtpHeader::parse(&v).expect("valid");
        assert_eq!(&v[r], b"data");
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(RtpHeader::parse(&[0x80; 5]), Err(WireError::Truncated));
        let mut v = vec![0x40, 26, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        assert!(RtpHeader::parse(&v).is_err());
        v[0] = 0x8f; // 15 CSRCs that are not there
        assert_eq!(RtpHeader::parse(&v), Err(WireError::Truncated));
        v[0] = 0xa0; // padding count larger than the packet
        v[11] = 200;
        assert_eq!(RtpHeader::parse(&v), Err(WireError::Truncated));
    }
}
