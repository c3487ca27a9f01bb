//! Checked wire formats: the RTP fixed header and the RTP/JPEG payload
//! headers. Parsing never panics; a bad packet is a [`WireError`].

pub mod rtp;
pub mod rtp_jpeg;

/// Why a packet could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its headers say.
    #[error("the packet is truncated")]
    Truncated,
    /// A field has a value the format forbids.
    #[error("the packet is malformed: {0}")]
    Malformed(&'static str),
}
