//! JPEG → RGB with `zune-jpeg`. The decoder is third-party code fed with
//! bytes off the wire: its errors are values, and a panic inside it is
//! contained and reported as an error too.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Largest side accepted, pixels (RFC 2435's limit).
pub const MAX_SIDE: usize = 2040;

/// An RGB image, 3 bytes per pixel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width, pixels.
    pub width: u16,
    /// Height, pixels.
    pub height: u16,
    /// `width * height * 3` bytes.
    pub pixels: Vec<u8>,
}

/// Why a JPEG did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The decoder refused the data.
    #[error("the JPEG did not decode: {0}")]
    Invalid(String),
    /// The decoder panicked on the data (contained).
    #[error("the JPEG decoder failed on this input")]
    DecoderPanic,
}

/// Decodes `jpeg` to RGB.
pub fn decode_rgb(jpeg: &[u8]) -> Result<RgbImage, DecodeError> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let opts = DecoderOptions::default()
            .jpeg_set_out_colorspace(ColorSpace::RGB)
            .set_max_width(MAX_SIDE)
            .set_max_height(MAX_SIDE);
        let mut d = JpegDecoder::new_with_options(Cursor::new(jpeg), opts);
        let pixels = d
            .decode()
            .map_err(|e| DecodeError::Invalid(format!("{e:?}")))?;
        let info = d
            .info()
            .ok_or_else(|| DecodeError::Invalid("no image information".into()))?;
        if pixels.len() != usize::from(info.width) * usize::from(info.height) * 3 {
            return Err(DecodeError::Invalid("unexpected output size".into()));
        }
        Ok(RgbImage {
            width: info.width,
            height: info.height,
            pixels,
        })
    }));
    r.unwrap_or(Err(DecodeError::DecoderPanic))
}
