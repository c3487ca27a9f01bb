//! IPv4 headers (RFC 791); options are carried but not interpreted.

use std::net::Ipv4Addr;

use super::checksum;
use super::WireError;

/// Length of an IPv4 header without options, in bytes.
pub const HEADER_LEN: usize = 20;

/// IP protocol numbers this stack knows.
pub mod protocol {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP (recognized, not yet handled).
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

/// An IPv4 packet over a buffer.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer holding a whole IPv4 packet (the buffer may be longer:
    /// Ethernet pads short frames).
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks version, header length and total length against the buffer.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        if self.version() != 4 {
            return Err(WireError::Unsupported);
        }
        let hl = self.header_len();
        let total = usize::from(self.total_len());
        if hl < HEADER_LEN || total < hl {
            return Err(WireError::Malformed);
        }
        if len < hl || len < total {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version field.
    pub fn version(&self) -> u8 {
        self.b()[0] >> 4
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[0] & 0x0f) * 4
    }

    /// DSCP and ECN.
    pub fn tos(&self) -> u8 {
        self.b()[1]
    }

    /// Total length (header and payload) in bytes.
    pub fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.b()[2], self.b()[3]])
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        u16::from_be_bytes([self.b()[4], self.b()[5]])
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.b()[6] & 0x40 != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.b()[6] & 0x20 != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> usize {
        usize::from(u16::from_be_bytes([self.b()[6] & 0x1f, self.b()[7]])) * 8
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[8]
    }

    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        self.b()[9]
    }

    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.b()[10], self.b()[11]])
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        let b = self.b();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }

    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(&self.b()[..self.header_len()]) == 0
    }

    /// The payload (without Ethernet padding).
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..usize::from(self.total_len())]
    }

    /// Where the payload starts and ends in the buffer.
    pub fn payload_range(&self) -> std::ops::Range<usize> {
        self.header_len()..usize::from(self.total_len())
    }
}

/// An IPv4 header (without options) as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Identification.
    pub ident: u16,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: usize,
    /// More fragments follow.
    pub more_frags: bool,
}

impl Ipv4Repr {
    /// Writes a 20-byte header with its checksum into `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let total =
            u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| WireError::Malformed)?;
        if !self.frag_offset.is_multiple_of(8) || self.frag_offset / 8 > 0x1fff {
            return Err(WireError::Malformed);
        }
        let b = buf.get_mut(..HEADER_LEN).ok_or(WireError::Truncated)?;
        b[0] = 0x45;
        b[1] = 0;
        b[2..4].copy_from_slice(&total.to_be_bytes());
        b[4..6].copy_from_slice(&self.ident.to_be_bytes());
        let frag = (self.frag_offset / 8) as u16 | if self.more_frags { 0x2000 } else { 0 };
        b[6..8].copy_from_slice(&frag.to_be_bytes());
        b[8] = self.ttl;
        b[9] = self.protocol;
        b[10..12].copy_from_slice(&[0, 0]);
        b[12..16].copy_from_slice(&self.src.octets());
        b[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::checksum(b);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A UDP datagram's header: 10.0.0.1 -> 10.0.0.2, ident 0x1c46, DF,
    // ttl 64, 28 bytes total; checksum 0x0a89 worked by hand.
    const HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x1c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x0a, 0x89, 10, 0, 0, 1, 10, 0,
        0, 2,
    ];

    fn packet() -> Vec<u8> {
        let mut p = HEADER.to_vec();
        p.extend_from_slice(&[0; 8]);
        p
    }

    #[test]
    fn parses_golden_header() {
        let buf = packet();
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(
            (p.src(), p.dst()),
            (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
        );
        assert_eq!(
            (p.protocol(), p.ttl(), p.ident()),
            (protocol::UDP, 64, 0x1c46)
        );
        assert!(p.dont_frag() && !p.more_frags());
        assert_eq!(p.payload().len(), 8);
    }

    #[test]
    fn emit_writes_a_valid_checksum() {
        let mut out = [0u8; 20];
        Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: protocol::UDP,
            ttl: 64,
            ident: 0x1c46,
            payload_len: 8,
            frag_offset: 0,
            more_frags: false,
        }
        .emit(&mut out)
        .unwrap();
        // Same as the golden header except DF (we never set it).
        let mut want = HEADER;
        want[6] = 0;
        let c = checksum::checksum(&{
            let mut w = want;
            w[10] = 0;
            w[11] = 0;
            w
        });
        want[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn rejects_bad_lengths() {
        let buf = packet();
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..19]).unwrap_err(),
            WireError::Truncated
        );
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..27]).unwrap_err(),
            WireError::Truncated
        );
        let mut bad = buf.clone();
        bad[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).unwrap_err(),
            WireError::Malformed
        );
        bad[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).unwrap_err(),
            WireError::Unsupported
        );
        let mut bad = buf;
        bad[3] = 10; // total length shorter than the header
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).unwrap_err(),
            WireError::Malformed
        );
    }
}
