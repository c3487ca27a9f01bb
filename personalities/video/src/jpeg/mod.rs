//! Baseline JPEG as RFC 2435 needs it: parsing a frame into type, size,
//! quantization tables and scan; rebuilding one from those; the standard
//! tables; decoding to RGB.

pub mod decode;
pub mod headers;
pub mod parse;
pub mod tables;

pub use decode::{decode_rgb, DecodeError, RgbImage};
pub use headers::build_jpeg;
pub use parse::{parse, JpegError, JpegFrame, Subsampling};
