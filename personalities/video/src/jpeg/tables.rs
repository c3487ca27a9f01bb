//! The tables RFC 2435 assumes both ends know: the JPEG standard's example
//! Huffman tables (ITU-T T.81 Annex K.3) and quantization tables (K.1, K.2),
//! and the RFC's scaling of the latter by a quality factor Q (1..=99).

/// Natural (row-major) index of each zigzag position.
pub const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// T.81 Table K.1 (luminance), natural order.
const LUMA_QUANT: [u8; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, //
    12, 12, 14, 19, 26, 58, 60, 55, //
    14, 13, 16, 24, 40, 57, 69, 56, //
    14, 17, 22, 29, 51, 87, 80, 62, //
    18, 22, 37, 56, 68, 109, 103, 77, //
    24, 35, 55, 64, 81, 104, 113, 92, //
    49, 64, 78, 87, 103, 121, 120, 101, //
    72, 92, 95, 98, 112, 100, 103, 99,
];

/// T.81 Table K.2 (chrominance), natural order.
const CHROMA_QUANT: [u8; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, //
    18, 21, 26, 66, 99, 99, 99, 99, //
    24, 26, 56, 99, 99, 99, 99, 99, //
    47, 66, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99, //
    99, 99, 99, 99, 99, 99, 99, 99,
];

/// The two quantization tables (luminance, chrominance) for quality
/// factor `q` (clamped to 1..=99), in zigzag order as a DQT carries them —
/// RFC 2435 Appendix A.
pub fn quant_tables_for_q(q: u8) -> [[u8; 64]; 2] {
    let factor = u32::from(q.clamp(1, 99));
    let scale = if factor < 50 {
        5000 / factor
    } else {
        200 - factor * 2
    };
    let mut out = [[0u8; 64]; 2];
    for (z, &natural) in ZIGZAG.iter().enumerate() {
        let n = usize::from(natural);
        for (t, base) in [&LUMA_QUANT, &CHROMA_QUANT].iter().enumerate() {
            let v = (u32::from(base[n]) * scale + 50) / 100;
            out[t][z] = v.clamp(1, 255) as u8;
        }
    }
    out
}

/// A Huffman table as a DHT segment carries it: code counts per length
/// (1..=16 bits) and the symbols in code order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HuffmanSpec {
    /// Number of codes of each length 1..=16.
    pub bits: [u8; 16],
    /// The symbols.
    pub values: &'static [u8],
}

/// K.3.3.1: DC luminance.
pub const DC_LUMA: HuffmanSpec = HuffmanSpec {
    bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    values: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};

/// K.3.3.1: DC chrominance.
pub const DC_CHROMA: HuffmanSpec = HuffmanSpec {
    bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    values: &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};

/// K.3.3.2: AC luminance.
pub const AC_LUMA: HuffmanSpec = HuffmanSpec {
    bits: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    values: &[
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
        0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
        0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
        0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
        0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
        0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
        0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
        0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
};

/// K.3.3.2: AC chrominance.
pub const AC_CHROMA: HuffmanSpec = HuffmanSpec {
    bits: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    values: &[
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
        0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
        0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
        0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
        0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
        0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
        0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
        0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
};

/// The standard table for DHT class `class` (0 DC, 1 AC) and id `id` (0
/// luminance, 1 chrominance).
pub fn standard_huffman(class: u8, id: u8) -> Option<&'static HuffmanSpec> {
    match (class, id) {
        (0, 0) => Some(&DC_LUMA),
        (0, 1) => Some(&DC_CHROMA),
        (1, 0) => Some(&AC_LUMA),
        (1, 1) => Some(&AC_CHROMA),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn huffman_tables_are_consistent() {
        for t in [&DC_LUMA, &DC_CHROMA, &AC_LUMA, &AC_CHROMA] {
            let n: usize = t.bits.iter().map(|&b| usize::from(b)).sum();
            assert_eq!(n, t.values.len());
            let unique: HashSet<u8> = t.values.iter().copied().collect();
            assert_eq!(unique.len(), n, "a symbol appears twice");
        }
        // AC tables code every (run, size) pair, EOB and ZRL: 16 * 10 + 2.
        for t in [&AC_LUMA, &AC_CHROMA] {
            let expected: HashSet<u8> = (0u8..16)
                .flat_map(|r| (1u8..=10).map(move |s| (r << 4) | s))
                .chain([0x00, 0xf0])
                .collect();
            let got: HashSet<u8> = t.values.iter().copied().collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn zigzag_is_a_permutation() {
        let set: HashSet<u8> = ZIGZAG.iter().copied().collect();
        assert_eq!(set.len(), 64);
        assert_eq!(ZIGZAG[2], 8);
        assert_eq!(ZIGZAG[63], 63);
    }

    #[test]
    fn q50_is_the_standard_table() {
        let [l, c] = quant_tables_for_q(50);
        assert_eq!(l[0], 16);
        assert_eq!(l[1], 11); // zigzag 1 = natural 1
        assert_eq!(l[2], 12); // zigzag 2 = natural 8
        assert_eq!(c[0], 17);
        let [l, _] = quant_tables_for_q(100);
        assert!(l.iter().all(|&v| v <= 2)); // clamped to 99: scale 2%
        let [l, _] = quant_tables_for_q(0);
        assert!(l.iter().all(|&v| v >= 1));
    }
}
