//! RTP packets → complete JPEG frames: fragments are collected by
//! timestamp in offset order; a frame is complete when the packet with the
//! marker bit arrives and no byte is missing; the JFIF headers are rebuilt
//! from the RTP/JPEG header. A frame with a gap, or cut off by the next
//! frame, is dropped and counted; a packet that does not parse is dropped
//! and counted. Nothing a packet holds can panic the reassembler.

use serde::{Deserialize, Serialize};

use crate::jpeg::headers::build_jpeg;
use crate::jpeg::tables::quant_tables_for_q;
use crate::jpeg::Subsampling;
use crate::wire::rtp::RtpHeader;
use crate::wire::rtp_jpeg::{JpegHeader, QuantHeader, PAYLOAD_TYPE};

/// Default bound on one frame's scan, bytes.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// A frame rebuilt from packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassembledFrame {
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// Width, pixels.
    pub width: u16,
    /// Height, pixels.
    pub height: u16,
    /// A complete JPEG file.
    pub jpeg: Vec<u8>,
}

/// Counters of a reassembler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassemblyStats {
    /// Packets accepted into a frame.
    pub packets: u64,
    /// Packets that did not parse (RTP or RTP/JPEG headers, tables).
    pub malformed: u64,
    /// Packets of another payload type or stream.
    pub foreign: u64,
    /// Packets RFC 2435 allows but this receiver does not take (restart
    /// markers, 16-bit tables, unknown types).
    pub unsupported: u64,
    /// Frames completed.
    pub frames: u64,
    /// Frames dropped incomplete (a lost or late packet, or over the size
    /// bound).
    pub dropped_frames: u64,
}

/// A frame's type, width, height (pixels) and quantization tables.
type FrameParams = (Subsampling, u16, u16, [[u8; 64]; 2]);

#[derive(Debug)]
struct Partial {
    timestamp: u32,
    ssrc: u32,
    /// Type, size, tables: from the packet at offset 0.
    params: Option<FrameParams>,
    data: Vec<u8>,
    broken: bool,
}

/// Reassembles one RTP/JPEG stream (the first SSRC it sees, until
/// [`Reassembler::reset`]).
#[derive(Debug)]
pub struct Reassembler {
    partial: Option<Partial>,
    ssrc: Option<u32>,
    max_frame: usize,
    /// Tables sent once for a Q in 128..=254 (RFC 2435 §4.2).
    static_tables: Vec<(u8, [[u8; 64]; 2])>,
    stats: ReassemblyStats,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(DEFAULT_MAX_FRAME)
    }
}

enum Reject {
    Malformed,
    Unsupported,
}

impl Reassembler {
    /// A reassembler bounding each frame's scan to `max_frame` bytes.
    pub fn new(max_frame: usize) -> Reassembler {
        Reassembler {
            partial: None,
            ssrc: None,
            max_frame,
            static_tables: Vec::new(),
            stats: ReassemblyStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Forgets the stream (the next packet's SSRC is followed); a frame in
    /// progress counts as dropped.
    pub fn reset(&mut self) {
        if self.partial.take().is_some() {
            self.stats.dropped_frames += 1;
        }
        self.ssrc = None;
    }

    /// Takes one RTP packet; returns a frame when this packet completes one.
    pub fn push(&mut self, packet: &[u8]) -> Option<ReassembledFrame> {
        let Ok((rtp, range)) = RtpHeader::parse(packet) else {
            self.stats.malformed += 1;
            return None;
        };
        if rtp.payload_type != PAYLOAD_TYPE || self.ssrc.is_some_and(|s| s != rtp.ssrc) {
            self.stats.foreign += 1;
            return None;
        }
        self.ssrc = Some(rtp.ssrc);
        let payload = &packet[range];
        let Ok(h) = JpegHeader::parse(payload) else {
            self.stats.malformed += 1;
            return None;
        };
        if self
            .partial
            .as_ref()
            .is_some_and(|p| p.timestamp != rtp.timestamp || p.ssrc != rtp.ssrc)
        {
            // The previous frame never saw its last packet.
            self.partial = None;
            self.stats.dropped_frames += 1;
        }
        let part = self.partial.get_or_insert_with(|| Partial {
            timestamp: rtp.timestamp,
            ssrc: rtp.ssrc,
            params: None,
            data: Vec::new(),
            broken: false,
        });
        let mut data = &payload[crate::wire::rtp_jpeg::HEADER_LEN..];
        if h.fragment_offset == 0 {
            match Self::frame_params(&h, &mut data, &mut self.static_tables) {
                Ok(p) => part.params = Some(p),
                Err(r) => {
                    part.broken = true;
                    match r {
                        Reject::Malformed => self.stats.malformed += 1,
                        Reject::Unsupported => self.stats.unsupported += 1,
                    }
                    return self.finish_if_marked(rtp.marker);
                }
            }
        }
        if h.fragment_offset as usize != part.data.len()
            || part.data.len() + data.len() > self.max_frame
        {
            // A gap (a lost packet), a repeat, or too big: the frame is lost.
            part.broken = true;
        } else if !part.broken {
            part.data.extend_from_slice(data);
        }
        self.stats.packets += 1;
        self.finish_if_marked(rtp.marker)
    }

    fn finish_if_marked(&mut self, marker: bool) -> Option<ReassembledFrame> {
        if !marker {
            return None;
        }
        let part = self.partial.take()?;
        match (part.broken, part.params) {
            (false, Some((sub, w, h, quant))) => {
                self.stats.frames += 1;
                Some(ReassembledFrame {
                    timestamp: part.timestamp,
                    width: w,
                    height: h,
                    jpeg: build_jpeg(w, h, sub, &quant, &part.data),
                })
            }
            _ => {
                self.stats.dropped_frames += 1;
                None
            }
        }
    }

    /// Type, size and tables from a frame's first packet; advances `data`
    /// past the quantization table header.
    fn frame_params(
        h: &JpegHeader,
        data: &mut &[u8],
        cache: &mut Vec<(u8, [[u8; 64]; 2])>,
    ) -> Result<FrameParams, Reject> {
        let sub = Subsampling::from_rtp_type(h.jpeg_type).ok_or(Reject::Unsupported)?;
        let quant = if h.q < 128 {
            quant_tables_for_q(h.q)
        } else {
            let (qh, used) = QuantHeader::parse(data).map_err(|_| Reject::Malformed)?;
            *data = &data[used..];
            if qh.tables.is_empty() && h.q != 255 {
                cache
                    .iter()
                    .find(|(q, _)| *q == h.q)
                    .map(|(_, t)| *t)
                    .ok_or(Reject::Malformed)?
            } else {
                if qh.precision & 0x03 != 0 {
                    return Err(Reject::Unsupported);
                }
                let t = qh.tables8().map_err(|_| Reject::Malformed)?;
                if h.q != 255 {
                    cache.retain(|(q, _)| *q != h.q);
                    cache.push((h.q, t));
                }
                t
            }
        };
        Ok((
            sub,
            u16::from(h.width8) * 8,
            u16::from(h.height8) * 8,
            quant,
        ))
    }
}
