//! Rebuilding a complete JPEG from an RTP/JPEG frame: the JFIF headers the
//! sender stripped are regenerated from the RTP/JPEG header's type, size
//! and quantization tables and the standard Huffman tables (the procedure
//! of RFC 2435 Appendix B, written for this crate).

use super::parse::Subsampling;
use super::tables::{HuffmanSpec, AC_CHROMA, AC_LUMA, DC_CHROMA, DC_LUMA};

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xff, marker]);
    // Every segment built here is far below 64 KiB.
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn huffman(out: &mut Vec<u8>, class: u8, id: u8, t: &HuffmanSpec) {
    let mut body = Vec::with_capacity(17 + t.values.len());
    body.push((class << 4) | id);
    body.extend_from_slice(&t.bits);
    body.extend_from_slice(t.values);
    segment(out, 0xc4, &body);
}

/// The headers of a baseline JPEG (SOI up to and including SOS) for a
/// `width`×`height` image with `subsampling` and the two quantization
/// tables (zigzag order); the scan and EOI follow.
pub fn build_headers(
    width: u16,
    height: u16,
    subsampling: Subsampling,
    quant: &[[u8; 64]; 2],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(640);
    out.extend_from_slice(&[0xff, 0xd8]);
    for (id, table) in quant.iter().enumerate() {
        let mut body = Vec::with_capacity(65);
        body.push(id as u8); // 8-bit precision, table id
        body.extend_from_slice(table);
        segment(&mut out, 0xdb, &body);
    }
    let [h1, h0] = height.to_be_bytes();
    let [w1, w0] = width.to_be_bytes();
    let sof = [
        8,
        h1,
        h0,
        w1,
        w0,
        3,
        0,
        subsampling.luma_factors(),
        0,
        1,
        0x11,
        1,
        2,
        0x11,
        1,
    ];
    segment(&mut out, 0xc0, &sof);
    huffman(&mut out, 0, 0, &DC_LUMA);
    huffman(&mut out, 1, 0, &AC_LUMA);
    huffman(&mut out, 0, 1, &DC_CHROMA);
    huffman(&mut out, 1, 1, &AC_CHROMA);
    segment(&mut out, 0xda, &[3, 0, 0x00, 1, 0x11, 2, 0x11, 0, 63, 0]);
    out
}

/// A complete JPEG: headers, `scan`, EOI.
pub fn build_jpeg(
    width: u16,
    height: u16,
    subsampling: Subsampling,
    quant: &[[u8; 64]; 2],
    scan: &[u8],
) -> Vec<u8> {
    let mut out = build_headers(width, height, subsampling, quant);
    out.reserve(scan.len() + 2);
    out.extend_from_slice(scan);
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jpeg::parse::parse;
    use crate::jpeg::tables::quant_tables_for_q;

    #[test]
    fn rebuilt_headers_parse_back() {
        let q = quant_tables_for_q(75);
        let scan = [0x12, 0xff, 0x00, 0x34];
        let j = build_jpeg(160, 120, Subsampling::S420, &q, &scan);
        let f = parse(&j).expect("our own headers parse");
        assert_eq!((f.width, f.height), (160, 120));
        assert_eq!(f.subsampling, Subsampling::S420);
        assert_eq!(f.quant, q);
        assert_eq!(f.scan, &scan);
    }
}
