//! TCP segments (RFC 793 / 9293) with the MSS (RFC 879) and window scale
//! (RFC 7323) options; other options are skipped.

use std::net::Ipv4Addr;

use super::checksum;
use super::ipv4::protocol;
use super::WireError;

/// Length of a TCP header without options, in bytes.
pub const HEADER_LEN: usize = 20;

/// Header flag bits.
pub mod flags {
    /// No more data from the sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push.
    pub const PSH: u8 = 0x08;
    /// The acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer significant (ignored by this stack).
    pub const URG: u8 = 0x20;
}

mod opt {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
}

/// Largest window shift RFC 7323 allows.
pub const MAX_WSCALE: u8 = 14;

/// A TCP segment over a buffer (the IP payload).
#[derive(Debug, Clone)]
pub struct TcpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wraps a buffer holding a header whose data offset lies within it.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        let len = p.b().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let hl = p.header_len();
        if hl < HEADER_LEN {
            return Err(WireError::Malformed);
        }
        if hl > len {
            return Err(WireError::Truncated);
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.b()[at], self.b()[at + 1]])
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = self.b();
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(2)
    }

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        self.u32_at(4)
    }

    /// Acknowledgment number.
    pub fn ack(&self) -> u32 {
        self.u32_at(8)
    }

    /// Header length (data offset) in bytes.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[12] >> 4) * 4
    }

    /// The flag bits (see [`flags`]).
    pub fn flags(&self) -> u8 {
        self.b()[13] & 0x3f
    }

    /// Window field (unscaled).
    pub fn window(&self) -> u16 {
        self.u16_at(14)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        self.u16_at(16)
    }

    /// The options bytes.
    pub fn options(&self) -> &[u8] {
        &self.b()[HEADER_LEN..self.header_len()]
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }

    /// Whether the checksum is right for these addresses (the whole buffer
    /// is the segment).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let Ok(len) = u16::try_from(self.b().len()) else {
            return false;
        };
        let sum = checksum::pseudo_header(src, dst, protocol::TCP, len);
        checksum::finish(checksum::accumulate(sum, self.b())) == 0
    }

    /// The options this stack understands: `(mss, window shift)`. A
    /// malformed option list is an error.
    pub fn parse_options(&self) -> Result<(Option<u16>, Option<u8>), WireError> {
        let mut o = self.options();
        let (mut mss, mut ws) = (None, None);
        while let Some(&kind) = o.first() {
            match kind {
                opt::END => break,
                opt::NOP => o = &o[1..],
                _ => {
                    let len = usize::from(*o.get(1).ok_or(WireError::Malformed)?);
                    if len < 2 || len > o.len() {
                        return Err(WireError::Malformed);
                    }
                    match (kind, len) {
                        (opt::MSS, 4) => mss = Some(u16::from_be_bytes([o[2], o[3]])),
                        (opt::WSCALE, 3) => ws = Some(o[2].min(MAX_WSCALE)),
                        (opt::MSS | opt::WSCALE, _) => return Err(WireError::Malformed),
                        _ => {}
                    }
                    o = &o[len..];
                }
            }
        }
        Ok((mss, ws))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port (the checksum must be redone).
    pub fn set_src_port(&mut self, port: u16) {
        self.buffer.as_mut()[0..2].copy_from_slice(&port.to_be_bytes());
    }

    /// Sets the destination port (the checksum must be redone).
    pub fn set_dst_port(&mut self, port: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&port.to_be_bytes());
    }

    /// Recomputes the checksum for these addresses.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) -> Result<(), WireError> {
        let len = u16::try_from(self.b().len()).map_err(|_| WireError::Malformed)?;
        let b = self.buffer.as_mut();
        b[16..18].copy_from_slice(&[0, 0]);
        let sum = checksum::pseudo_header(src, dst, protocol::TCP, len);
        let c = checksum::finish(checksum::accumulate(sum, b));
        b[16..18].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

/// A TCP header as a value (the payload travels beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (sent only with the ACK flag).
    pub ack: u32,
    /// Flag bits (see [`flags`]).
    pub flags: u8,
    /// Window field (already scaled down by the sender's shift).
    pub window: u16,
    /// MSS option (SYN segments).
    pub mss: Option<u16>,
    /// Window scale option (SYN segments).
    pub wscale: Option<u8>,
}

impl TcpRepr {
    /// Parses a checked segment's header.
    pub fn parse<T: AsRef<[u8]>>(p: &TcpPacket<T>) -> Result<TcpRepr, WireError> {
        let (mss, wscale) = p.parse_options()?;
        Ok(TcpRepr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq: p.seq(),
            ack: p.ack(),
            flags: p.flags(),
            window: p.window(),
            mss,
            wscale,
        })
    }

    /// Header length with this repr's options, in bytes.
    pub fn header_len(&self) -> usize {
        HEADER_LEN
            + if self.mss.is_some() { 4 } else { 0 }
            + if self.wscale.is_some() { 4 } else { 0 }
    }

    /// Appends the segment (header, options, payload, checksum) to `out`.
    pub fn emit(
        &self,
        out: &mut Vec<u8>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
    ) -> Result<(), WireError> {
        let start = out.len();
        let hl = self.header_len();
        let len = u16::try_from(hl + payload.len()).map_err(|_| WireError::Malformed)?;
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.push(((hl / 4) as u8) << 4);
        out.push(self.flags & 0x3f);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        if let Some(m) = self.mss {
            out.extend_from_slice(&[opt::MSS, 4]);
            out.extend_from_slice(&m.to_be_bytes());
        }
        if let Some(w) = self.wscale {
            out.extend_from_slice(&[opt::NOP, opt::WSCALE, 3, w.min(MAX_WSCALE)]);
        }
        out.extend_from_slice(payload);
        let sum = checksum::pseudo_header(src, dst, protocol::TCP, len);
        let c = checksum::finish(checksum::accumulate(sum, &out[start..]));
        out[start + 16..start + 18].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn golden_syn() {
        // 10.0.0.1:1234 -> 10.0.0.2:80 SYN seq 1, window 0xffff, MSS 1460,
        // wscale 7: 28 bytes, data offset 7. Checksum by hand: pseudo
        // 0a00+0001+0a00+0002+0006+001c = 0x1425; header
        // 04d2+0050+0000+0001+0000+0000+7002+ffff = 0x17524; options
        // 0204+05b4+0103+0307 = 0x0bc2; total 0x1950b folds to 0x950c,
        // complemented 0x6af3.
        let repr = TcpRepr {
            src_port: 1234,
            dst_port: 80,
            seq: 1,
            ack: 0,
            flags: flags::SYN,
            window: 0xffff,
            mss: Some(1460),
            wscale: Some(7),
        };
        let mut out = Vec::new();
        repr.emit(&mut out, A, B, &[]).unwrap();
        assert_eq!(
            out,
            [
                0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x70, 0x02, 0xff, 0xff, 0x6a, 0xf3,
                0, 0, 2, 4, 0x05, 0xb4, 1, 3, 3, 7
            ]
        );
        let p = TcpPacket::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum(A, B));
        assert!(!p.verify_checksum(A, Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(TcpRepr::parse(&p).unwrap(), repr);
    }

    #[test]
    fn data_round_trips_and_rewriting_ports_keeps_it_valid() {
        let repr = TcpRepr {
            src_port: 5,
            dst_port: 6,
            seq: 0xdead_beef,
            ack: 0x0102_0304,
            flags: flags::ACK | flags::PSH,
            window: 512,
            ..TcpRepr::default()
        };
        let mut out = Vec::new();
        repr.emit(&mut out, A, B, b"abc").unwrap();
        let mut p = TcpPacket::new_checked(&mut out[..]).unwrap();
        assert_eq!(p.payload(), b"abc");
        p.set_dst_port(99);
        assert!(!p.verify_checksum(A, B));
        p.fill_checksum(A, B).unwrap();
        assert!(p.verify_checksum(A, B));
        assert_eq!(TcpRepr::parse(&p).unwrap().dst_port, 99);
    }

    #[test]
    fn rejects_bad_lengths_and_options() {
        let mut out = Vec::new();
        TcpRepr::default().emit(&mut out, A, B, &[]).unwrap();
        assert_eq!(
            TcpPacket::new_checked(&out[..19]).unwrap_err(),
            WireError::Truncated
        );
        out[12] = 0x40; // data offset 16 bytes
        assert_eq!(
            TcpPacket::new_checked(&out[..]).unwrap_err(),
            WireError::Malformed
        );
        out[12] = 0x60; // 24 bytes: beyond the buffer
        assert_eq!(
            TcpPacket::new_checked(&out[..]).unwrap_err(),
            WireError::Truncated
        );
        out.extend_from_slice(&[2, 9, 0, 0]); // an MSS option claiming 9 bytes
        let p = TcpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(p.parse_options().unwrap_err(), WireError::Malformed);
    }
}
