//! JPEG frames → RTP packets (RFC 2435 §3): the scan is cut into fragments
//! with their offsets, every packet carries the main JPEG header, the first
//! one the quantization tables (Q = 255: tables in band, every frame), the
//! last one the marker bit.

use crate::jpeg::JpegFrame;
use crate::wire::rtp::{self, RtpHeader};
use crate::wire::rtp_jpeg::{self, JpegHeader, QuantHeader, CLOCK_HZ, PAYLOAD_TYPE};

/// Default largest RTP packet, bytes: fits a 1500-byte Ethernet MTU with IPv4
/// and UDP headers.
pub const DEFAULT_MAX_PACKET: usize = 1400;

/// Why a frame could not be packetized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketizeError {
    /// The packet size leaves no room for data.
    #[error("a packet of {0} bytes cannot carry JPEG data")]
    PacketTooSmall(usize),
    /// The scan is longer than a 24-bit offset reaches.
    #[error("a JPEG scan of {0} bytes exceeds RFC 2435's 16 MiB")]
    FrameTooBig(usize),
}

/// One RTP/JPEG stream's sender state: SSRC, next sequence number.
#[derive(Debug, Clone)]
pub struct Packetizer {
    ssrc: u32,
    seq: u16,
    max_packet: usize,
}

impl Packetizer {
    /// A stream with `ssrc`, starting at sequence number `first_seq`, cutting
    /// packets of at most `max_packet` bytes (RTP header included).
    pub fn new(ssrc: u32, first_seq: u16, max_packet: usize) -> Packetizer {
        Packetizer {
            ssrc,
            seq: first_seq,
            max_packet,
        }
    }

    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number the next packet gets.
    pub fn next_seq(&self) -> u16 {
        self.seq
    }

    /// Cuts `frame` into RTP packets with `timestamp` (90 kHz units).
    pub fn packetize(
        &mut self,
        frame: &JpegFrame<'_>,
        timestamp: u32,
    ) -> Result<Vec<Vec<u8>>, PacketizeError> {
        let first_overhead =
            rtp::HEADER_LEN + rtp_jpeg::HEADER_LEN + rtp_jpeg::QUANT_HEADER_LEN + 2 * 64;
        if self.max_packet <= first_overhead {
            return Err(PacketizeError::PacketTooSmall(self.max_packet));
        }
        if frame.scan.len() >= 1 << 24 {
            return Err(PacketizeError::FrameTooBig(frame.scan.len()));
        }
        let mut packets = Vec::new();
        let mut offset = 0usize;
        loop {
            let overhead = if offset == 0 {
                first_overhead
            } else {
                rtp::HEADER_LEN + rtp_jpeg::HEADER_LEN
            };
            let n = (self.max_packet - overhead).min(frame.scan.len() - offset);
            let last = offset + n == frame.scan.len();
            let mut p = Vec::with_capacity(overhead + n);
            RtpHeader {
                marker: last,
                payload_type: PAYLOAD_TYPE,
                seq: self.seq,
                timestamp,
                ssrc: self.ssrc,
            }
            .emit(&mut p);
            JpegHeader {
                type_specific: 0,
                fragment_offset: offset as u32,
                jpeg_type: frame.subsampling.rtp_type(),
                q: 255,
                width8: (frame.width / 8) as u8,
                height8: (frame.height / 8) as u8,
            }
            .emit(&mut p);
            if offset == 0 {
                QuantHeader::emit(&frame.quant, &mut p);
            }
            p.extend_from_slice(&frame.scan[offset..offset + n]);
            packets.push(p);
            self.seq = self.seq.wrapping_add(1);
            offset += n;
            if last {
                return Ok(packets);
            }
        }
    }
}

/// The RTP timestamp of frame `index` at `fps` frames per second (90 kHz
/// clock, wrapping as RTP timestamps do), starting from `base`.
pub fn frame_timestamp(base: u32, index: u64, fps: u32) -> u32 {
    let ticks = index * u64::from(CLOCK_HZ) / u64::from(fps.max(1));
    base.wrapping_add(ticks as u32)
}
