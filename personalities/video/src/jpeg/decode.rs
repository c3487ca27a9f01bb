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
    let mut pixels = Vec::new();
    let (width, height) = decode_rgb_into(jpeg, &mut pixels)?;
    Ok(RgbImage {
        width,
        height,
        pixels,
    })
}

/// Decodes `jpeg` to RGB into `out` (resized to fit; its allocation is
/// reused); returns the width and height.
pub fn decode_rgb_into(jpeg: &[u8], out: &mut Vec<u8>) -> Result<(u16, u16), DecodeError> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let opts = DecoderOptions::default()
            .jpeg_set_out_colorspace(ColorSpace::RGB)
            .set_max_width(MAX_SIDE)
            .set_max_height(MAX_SIDE);
        let mut d = JpegDecoder::new_with_options(Cursor::new(jpeg), opts);
        d.decode_headers()
            .map_err(|e| DecodeError::Invalid(format!("{e:?}")))?;
        let info = d
            .info()
            .ok_or_else(|| DecodeError::Invalid("no image information".into()))?;
        let n = usize::from(info.width) * usize::from(info.height) * 3;
        if d.output_buffer_size() != Some(n) {
            return Err(DecodeError::Invalid("unexpected output size".into()));
        }
        out.resize(n, 0);
        d.decode_into(out)
            .map_err(|e| DecodeError::Invalid(format!("{e:?}")))?;
        Ok((info.width, info.height))
    }));
    r.unwrap_or(Err(DecodeError::DecoderPanic))
}
