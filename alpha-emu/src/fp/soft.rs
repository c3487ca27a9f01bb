//! Soft-float core: unpacking IEEE S/T bit patterns, NaN selection and the
//! single rounding/packing routine every operation ends in.
//!
//! The behaviour mirrors qemu-alpha 7.2's softfloat configuration for Alpha:
//! tininess is detected after rounding, the default NaN is
//! `0x7ff8000000000000` (positive quiet), NaN operands are chosen by the x87
//! rules, and a flushed tiny result (flush-to-zero) raises no flag at all.

use super::fpcr::{Round, DZE, INE, INV, OVF, UNF};

/// An IEEE binary interchange format.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fmt {
    /// Exponent field width in bits.
    pub exp_bits: u32,
    /// Fraction field width in bits (without the implicit bit).
    pub frac_bits: u32,
}

/// IEEE double (Alpha T format).
pub(crate) const T: Fmt = Fmt {
    exp_bits: 11,
    frac_bits: 52,
};
/// IEEE single (Alpha S format, memory layout).
pub(crate) const S: Fmt = Fmt {
    exp_bits: 8,
    frac_bits: 23,
};

impl Fmt {
    pub(crate) const fn bias(self) -> i32 {
        (1 << (self.exp_bits - 1)) - 1
    }
    pub(crate) const fn exp_max(self) -> i32 {
        (1 << self.exp_bits) - 1
    }
    const fn frac_mask(self) -> u64 {
        (1 << self.frac_bits) - 1
    }
    /// How far the fraction sits below bit 63 in the unpacked significand.
    const fn frac_shift(self) -> u32 {
        63 - self.frac_bits
    }
    const fn sign_bit(self) -> u64 {
        1 << (self.exp_bits + self.frac_bits)
    }
    /// The default (generated) NaN: positive, quiet, zero payload.
    pub(crate) const fn default_nan(self) -> u64 {
        ((self.exp_max() as u64) << self.frac_bits) | (1 << (self.frac_bits - 1))
    }
    pub(crate) const fn inf(self, sign: bool) -> u64 {
        ((sign as u64) << (self.exp_bits + self.frac_bits))
            | ((self.exp_max() as u64) << self.frac_bits)
    }
    pub(crate) const fn zero(self, sign: bool) -> u64 {
        (sign as u64) << (self.exp_bits + self.frac_bits)
    }
}

/// Operation context: rounding direction, flush modes, accumulated flags
/// (flags use the FPCR status bit positions).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    /// Rounding direction.
    pub rm: Round,
    /// Tiny results become zero without any flag.
    pub ftz: bool,
    /// Denormal operands are read as zero without any flag.
    pub daz: bool,
    /// Raised exception flags (FPCR status bit positions).
    pub flags: u64,
}

impl Ctx {
    pub(crate) fn new(rm: Round, ftz: bool, daz: bool) -> Ctx {
        Ctx {
            rm,
            ftz,
            daz,
            flags: 0,
        }
    }
}

/// Class of an unpacked operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Zero,
    Normal,
    Inf,
    QNaN,
    SNaN,
}

/// An unpacked operand. For `Normal`, the value is `sig * 2^(exp - 63)` with
/// bit 63 of `sig` set; for NaNs `sig` holds the fraction with its top
/// (quiet) bit at bit 62.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unpacked {
    pub class: Class,
    pub sign: bool,
    pub exp: i32,
    pub sig: u64,
}

impl Unpacked {
    pub(crate) fn is_nan(&self) -> bool {
        matches!(self.class, Class::QNaN | Class::SNaN)
    }
}

/// Unpacks `bits` of format `f`; denormals are normalized (or read as zero
/// under `daz`).
pub(crate) fn unpack(f: Fmt, bits: u64, ctx: &Ctx) -> Unpacked {
    let sign = bits & f.sign_bit() != 0;
    let e = ((bits >> f.frac_bits) as i32) & f.exp_max();
    let frac = bits & f.frac_mask();
    let sig = frac << f.frac_shift();
    let (class, exp, sig) = if e == 0 {
        if frac == 0 || ctx.daz {
            (Class::Zero, 0, 0)
        } else {
            let lz = sig.leading_zeros();
            (Class::Normal, 1 - f.bias() - lz as i32, sig << lz)
        }
    } else if e == f.exp_max() {
        if frac == 0 {
            (Class::Inf, 0, 0)
        } else if sig & (1 << 62) != 0 {
            (Class::QNaN, 0, sig)
        } else {
            (Class::SNaN, 0, sig)
        }
    } else {
        (Class::Normal, e - f.bias(), sig | 1 << 63)
    };
    Unpacked {
        class,
        sign,
        exp,
        sig,
    }
}

/// Packs a NaN (already quieted if needed) into format `f`.
pub(crate) fn pack_nan(f: Fmt, n: &Unpacked) -> u64 {
    ((n.sign as u64) << (f.exp_bits + f.frac_bits))
        | ((f.exp_max() as u64) << f.frac_bits)
        | ((n.sig >> f.frac_shift()) & f.frac_mask())
}

/// The result of an operation with a single NaN operand: signaling NaNs
/// raise invalid and are quieted.
pub(crate) fn return_nan(f: Fmt, a: &Unpacked, ctx: &mut Ctx) -> u64 {
    let mut n = *a;
    if n.class == Class::SNaN {
        ctx.flags |= INV;
        n.sig |= 1 << 62;
    }
    pack_nan(f, &n)
}

/// The result of a two-operand operation with at least one NaN operand, by
/// the x87 rules qemu uses for Alpha: a quiet NaN beats a signaling one,
/// a NaN beats a number, and between two NaNs of the same kind the larger
/// significand (then the positive sign) wins.
pub(crate) fn pick_nan(f: Fmt, a: &Unpacked, b: &Unpacked, ctx: &mut Ctx) -> u64 {
    if a.class == Class::SNaN || b.class == Class::SNaN {
        ctx.flags |= INV;
    }
    let a_larger = match a.sig.cmp(&b.sig) {
        core::cmp::Ordering::Greater => true,
        core::cmp::Ordering::Less => false,
        core::cmp::Ordering::Equal => !a.sign && b.sign,
    };
    let take_b = match (a.class, b.class) {
        (Class::SNaN, Class::SNaN) | (Class::QNaN, Class::QNaN) => !a_larger,
        (Class::SNaN, bc) => bc == Class::QNaN,
        (Class::QNaN, _) => false,
        _ => true,
    };
    let mut n = if take_b { *b } else { *a };
    n.sig |= 1 << 62;
    pack_nan(f, &n)
}

/// The default NaN with the invalid flag.
pub(crate) fn invalid(f: Fmt, ctx: &mut Ctx) -> u64 {
    ctx.flags |= INV;
    f.default_nan()
}

/// Division by zero of a finite nonzero number: signed infinity.
pub(crate) fn div_by_zero(f: Fmt, sign: bool, ctx: &mut Ctx) -> u64 {
    ctx.flags |= DZE;
    f.inf(sign)
}

/// Shifts right, OR-ing every bit shifted out into bit 0 ("jamming").
pub(crate) fn shr_jam64(x: u64, n: u32) -> u64 {
    if n == 0 {
        x
    } else if n < 64 {
        (x >> n) | ((x << (64 - n) != 0) as u64)
    } else {
        (x != 0) as u64
    }
}

/// 128-bit version of [`shr_jam64`].
pub(crate) fn shr_jam128(x: u128, n: u32) -> u128 {
    if n == 0 {
        x
    } else if n < 128 {
        (x >> n) | ((x << (128 - n) != 0) as u128)
    } else {
        (x != 0) as u128
    }
}

/// Narrows a normalized 128-bit significand (bit 127 set) to 64 bits,
/// jamming the dropped half.
pub(crate) fn narrow(m: u128) -> u64 {
    ((m >> 64) as u64) | ((m as u64 != 0) as u64)
}

/// The rounding increment for the current mode, for a significand whose
/// bits under `round_mask` are to be discarded.
fn increment(rm: Round, sign: bool, sig: u64, round_mask: u64) -> u64 {
    let half = (round_mask >> 1) + 1;
    match rm {
        Round::NearestEven => {
            if sig & (round_mask | (round_mask + 1)) != half {
                half
            } else {
                0
            }
        }
        Round::ToZero => 0,
        Round::Up => {
            if sign {
                0
            } else {
                round_mask
            }
        }
        Round::Down => {
            if sign {
                round_mask
            } else {
                0
            }
        }
    }
}

/// Rounds the nonzero finite value `sig * 2^(exp - 63)` (bit 63 of `sig`
/// set; bit 0 may carry jammed sticky bits) to format `f`, raising
/// inexact/overflow/underflow as qemu's softfloat does.
pub(crate) fn round_pack(f: Fmt, sign: bool, exp: i32, sig: u64, ctx: &mut Ctx) -> u64 {
    let shift = f.frac_shift();
    let round_mask = (1u64 << shift) - 1;
    let mut e = exp + f.bias();
    let mut sig = sig;
    let sign_bits = (sign as u64) << (f.exp_bits + f.frac_bits);
    if e > 0 {
        if sig & round_mask != 0 {
            ctx.flags |= INE;
            let (sum, carry) = sig.overflowing_add(increment(ctx.rm, sign, sig, round_mask));
            sig = sum;
            if carry {
                sig = (sig >> 1) | 1 << 63;
                e += 1;
            }
            sig &= !round_mask;
        }
        if e >= f.exp_max() {
            ctx.flags |= OVF | INE;
            let to_max = match ctx.rm {
                Round::NearestEven => false,
                Round::ToZero => true,
                Round::Up => sign,
                Round::Down => !sign,
            };
            return if to_max {
                sign_bits | (((f.exp_max() - 1) as u64) << f.frac_bits) | f.frac_mask()
            } else {
                f.inf(sign)
            };
        }
        return sign_bits | ((e as u64) << f.frac_bits) | ((sig >> shift) & f.frac_mask());
    }
    if ctx.ftz {
        return sign_bits;
    }
    let tiny = e < 0
        || sig
            .checked_add(increment(ctx.rm, sign, sig, round_mask))
            .is_some();
    sig = shr_jam64(sig, (1 - e) as u32);
    let mut inexact = false;
    if sig & round_mask != 0 {
        inexact = true;
        sig += increment(ctx.rm, sign, sig, round_mask);
        sig &= !round_mask;
    }
    let e = sig >> 63;
    if inexact {
        ctx.flags |= INE;
        if tiny {
            ctx.flags |= UNF;
        }
    }
    sign_bits | (e << f.frac_bits) | ((sig >> shift) & f.frac_mask())
}
