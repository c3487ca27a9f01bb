//! ICMPv4 messages (RFC 792): echo and destination unreachable.

use super::checksum;
use super::WireError;

/// Length of the ICMP header (type, code, checksum, 4 bytes of rest) in bytes.
pub const HEADER_LEN: usize = 8;

/// ICMP message types this stack knows.
pub mod kind {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
}

/// Destination-unreachable code: the port has no listener.
pub const CODE_PORT_UNREACHABLE: u8 = 3;

/// An ICMPv4 message over a buffer (exactly the IP payload).
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// Wraps a buffer holding at least the header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(p)
    }

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// Message code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }

    /// Echo sequence number.
    pub fn echo_seq(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[6], b[7]])
    }

    /// Whether the checksum over the whole message is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.buffer.as_ref()) == 0
    }

    /// The data after the 8-byte header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// Writes an ICMP message (`msg_type`, `code`, the 4 `rest` bytes, then
/// `data`) with its checksum to the end of `out`.
pub fn emit(out: &mut Vec<u8>, msg_type: u8, code: u8, rest: [u8; 4], data: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&[msg_type, code, 0, 0]);
    out.extend_from_slice(&rest);
    out.extend_from_slice(data);
    let c = checksum::checksum(&out[start..]);
    out[start + 2..start + 4].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_golden_bytes() {
        // type 8, ident 0x0001, seq 0x0002, data "hi": checksum worked by hand
        // (0x0800 + 0x0001 + 0x0002 + 0x6869 = 0x706c -> 0x8f93).
        let mut out = Vec::new();
        emit(&mut out, kind::ECHO_REQUEST, 0, [0, 1, 0, 2], b"hi");
        assert_eq!(out, [8, 0, 0x8f, 0x93, 0, 1, 0, 2, b'h', b'i']);
        let p = Icmpv4Packet::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!((p.echo_ident(), p.echo_seq(), p.data()), (1, 2, &b"hi"[..]));
        assert_eq!(
            Icmpv4Packet::new_checked(&out[..7]).unwrap_err(),
            WireError::Truncated
        );
    }
}
