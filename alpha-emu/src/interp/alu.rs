//! Pure integer semantics: byte manipulation, multimedia (MVI), counts.
//!
//! Each function takes Ra's and Rb's values and returns Rc's value, exactly as
//! the Alpha Architecture Handbook defines the operation.

/// Byte mask for each 8-bit ZAPNOT selector: bit i set → byte i all ones.
pub(crate) static BYTE_MASKS: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut m = 0;
    while m < 256 {
        let mut i = 0;
        while i < 8 {
            if (m >> i) & 1 != 0 {
                t[m] |= 0xff << (8 * i);
            }
            i += 1;
        }
        m += 1;
    }
    t
};

/// Keeps the bytes of `v` whose bit is set in `mask` (ZAPNOT; only `mask<7:0>` counts).
#[inline(always)]
pub fn zapnot(v: u64, mask: u64) -> u64 {
    v & BYTE_MASKS[(mask & 0xff) as usize]
}

/// Clears the bytes of `v` whose bit is set in `mask` (ZAP).
#[inline(always)]
pub fn zap(v: u64, mask: u64) -> u64 {
    zapnot(v, !mask & 0xff)
}

/// EXTxL: the `width`-byte field of `a` starting at byte `b<2:0>`.
#[inline(always)]
pub fn ext_low(a: u64, b: u64, mask: u64) -> u64 {
    zapnot(a >> ((b & 7) * 8), mask)
}

/// EXTxH: the high part of an unaligned field (shift left by 64 − 8·b<2:0>).
#[inline(always)]
pub fn ext_high(a: u64, b: u64, mask: u64) -> u64 {
    let sh = (64 - (b & 7) * 8) & 63;
    zapnot(a << sh, mask)
}

/// INSxL: `a`'s low field moved to byte `b<2:0>`.
#[inline(always)]
pub fn ins_low(a: u64, b: u64, mask: u64) -> u64 {
    let byte = b & 7;
    zapnot(a << (byte * 8), (mask << byte) & 0xff)
}

/// INSxH: the part of `a`'s field that spills into the next quadword.
#[inline(always)]
pub fn ins_high(a: u64, b: u64, mask: u64) -> u64 {
    let byte = b & 7;
    let m = (mask << byte) >> 8;
    if byte == 0 {
        return 0;
    }
    zapnot(a >> (64 - byte * 8), m)
}

/// MSKxL: `a` with the field at byte `b<2:0>` cleared.
#[inline(always)]
pub fn msk_low(a: u64, b: u64, mask: u64) -> u64 {
    zap(a, (mask << (b & 7)) & 0xff)
}

/// MSKxH: `a` with the spilled part of the field cleared.
#[inline(always)]
pub fn msk_high(a: u64, b: u64, mask: u64) -> u64 {
    zap(a, (mask << (b & 7)) >> 8)
}

/// CMPBGE: bit i set when byte i of `a` ≥ byte i of `b` (unsigned).
#[inline(always)]
pub fn cmpbge(a: u64, b: u64) -> u64 {
    let mut r = 0;
    for i in 0..8 {
        if (a >> (8 * i)) as u8 >= (b >> (8 * i)) as u8 {
            r |= 1 << i;
        }
    }
    r
}

/// Applies `f` lane-wise to `lanes` lanes of `bits` bits each.
fn lanes(a: u64, b: u64, bits: u32, f: impl Fn(u64, u64) -> u64) -> u64 {
    let m = (1u64 << bits) - 1;
    let mut r = 0;
    for i in 0..64 / bits {
        let s = i * bits;
        r |= (f(a >> s & m, b >> s & m) & m) << s;
    }
    r
}

fn sext(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

/// MINUB8 / MINUW4 / MAXUB8 / MAXUW4 / MINSB8 / MINSW4 / MAXSB8 / MAXSW4.
pub fn minmax(a: u64, b: u64, bits: u32, signed: bool, max: bool) -> u64 {
    lanes(a, b, bits, |x, y| {
        let x_less = if signed {
            sext(x, bits) < sext(y, bits)
        } else {
            x < y
        };
        if x_less == max {
            y
        } else {
            x
        }
    })
}

/// PERR: sum of absolute byte differences.
pub fn perr(a: u64, b: u64) -> u64 {
    (0..8)
        .map(|i| ((a >> (8 * i)) as u8).abs_diff((b >> (8 * i)) as u8) as u64)
        .sum()
}

/// PKLB: bytes 0 and 4 of `b` packed into bytes 0–1.
pub fn pklb(b: u64) -> u64 {
    (b & 0xff) | ((b >> 24) & 0xff00)
}

/// PKWB: bytes 0, 2, 4, 6 of `b` packed into bytes 0–3.
pub fn pkwb(b: u64) -> u64 {
    (b & 0xff) | ((b >> 8) & 0xff00) | ((b >> 16) & 0xff_0000) | ((b >> 24) & 0xff00_0000)
}

/// UNPKBL: bytes 0–1 of `b` spread to bytes 0 and 4.
pub fn unpkbl(b: u64) -> u64 {
    (b & 0xff) | ((b & 0xff00) << 24)
}

/// UNPKBW: bytes 0–3 of `b` spread to bytes 0, 2, 4, 6.
pub fn unpkbw(b: u64) -> u64 {
    (b & 0xff) | ((b & 0xff00) << 8) | ((b & 0xff_0000) << 16) | ((b & 0xff00_0000) << 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_manipulation_vectors() {
        let a = 0x0123_4567_89ab_cdef;
        assert_eq!(ext_low(a, 2, 0x03), 0x89ab);
        assert_eq!(ext_low(a, 7, 0xff), 0x01);
        assert_eq!(ext_high(a, 6, 0x03), 0xcdef_0000 & 0xffff);
        assert_eq!(ext_high(a, 0, 0xff), a);
        assert_eq!(ins_low(0xbeef, 3, 0x03), 0x00be_ef00_0000);
        assert_eq!(ins_high(0xbeef, 7, 0x03), 0xbe);
        assert_eq!(ins_high(0xbeef, 0, 0x03), 0);
        assert_eq!(msk_low(a, 1, 0x03), 0x0123_4567_8900_00ef);
        assert_eq!(msk_high(a, 7, 0x03), 0x0123_4567_89ab_cd00);
        assert_eq!(zap(a, 0x0f), 0x0123_4567_0000_0000);
        assert_eq!(zapnot(a, 0x0f), 0x89ab_cdef);
        assert_eq!(cmpbge(0x00ff, 0x0100), 0xfd);
    }

    #[test]
    fn mvi_vectors() {
        assert_eq!(minmax(0x80_01, 0x01_80, 8, false, false), 0x01_01);
        assert_eq!(minmax(0x80_01, 0x01_80, 8, true, false), 0x80_80);
        assert_eq!(minmax(0x80_01, 0x01_80, 8, false, true), 0x80_80);
        assert_eq!(perr(0x0a_05, 0x03_09), 7 + 4);
        assert_eq!(pklb(0x0000_0044_0000_0033), 0x4433);
        assert_eq!(pkwb(0x0044_0033_0022_0011), 0x4433_2211);
        assert_eq!(unpkbl(0x4433), 0x0000_0044_0000_0033);
        assert_eq!(unpkbw(0x4433_2211), 0x0044_0033_0022_0011);
    }
}
