//! UDP datagrams (RFC 768).

use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::protocol;
use super::WireError;

/// Length of the UDP header in bytes.
pub const HEADER_LEN: usize = 8;

/// A UDP datagram over a buffer (the IP payload).
#[derive(Debug, Clone)]
pub struct UdpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps a buffer holding the header and as many bytes as its length
    /// field says.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let field = usize::from(p.len());
        if field < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if field > len {
            return Err(WireError::Truncated);
        }
        Ok(p)
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(2)
    }

    /// Length field (header and payload) in bytes.
    pub fn len(&self) -> u16 {
        self.u16_at(4)
    }

    /// Whether the datagram carries no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) == HEADER_LEN
    }

    /// Checksum field (0: none was computed).
    pub fn checksum(&self) -> u16 {
        self.u16_at(6)
    }

    /// Whether the checksum is right (or absent) for these addresses.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let len = self.len();
        let sum = checksum::pseudo_header(src, dst, protocol::UDP, len);
        checksum::finish(checksum::accumulate(
            sum,
            &self.buffer.as_ref()[..usize::from(len)],
        )) == 0
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }
}

/// Appends a UDP datagram with its checksum to `out`.
pub fn emit(
    out: &mut Vec<u8>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Result<(), WireError> {
    let len = u16::try_from(HEADER_LEN + payload.len()).map_err(|_| WireError::Malformed)?;
    let start = out.len();
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let sum = checksum::pseudo_header(src, dst, protocol::UDP, len);
    let mut c = checksum::finish(checksum::accumulate(sum, &out[start..]));
    // Zero means "no checksum"; a computed zero is sent as all ones.
    if c == 0 {
        c = 0xffff;
    }
    out[start + 6..start + 8].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn golden_datagram() {
        // 10.0.0.1:1234 -> 10.0.0.2:7, "ping"; checksum worked by hand:
        // pseudo 0a00+0001+0a00+0002+0011+000c = 0x1420, header
        // 04d2+0007+000c = 0x04e5, data 7069+6e67 = 0xded0; total 0xf7d5,
        // complemented 0x082a.
        let mut out = Vec::new();
        emit(&mut out, A, B, 1234, 7, b"ping").unwrap();
        assert_eq!(
            out,
            [0x04, 0xd2, 0x00, 0x07, 0x00, 0x0c, 0x08, 0x2a, b'p', b'i', b'n', b'g']
        );
        let p = UdpPacket::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum(A, B));
        assert!(!p.verify_checksum(A, Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(
            (p.src_port(), p.dst_port(), p.payload()),
            (1234, 7, &b"ping"[..])
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut out = Vec::new();
        emit(&mut out, A, B, 1, 2, b"abc").unwrap();
        assert_eq!(
            UdpPacket::new_checked(&out[..7]).unwrap_err(),
            WireError::Truncated
        );
        assert_eq!(
            UdpPacket::new_checked(&out[..10]).unwrap_err(),
            WireError::Truncated
        );
        out[5] = 4;
        assert_eq!(
            UdpPacket::new_checked(&out[..]).unwrap_err(),
            WireError::Malformed
        );
    }
}
