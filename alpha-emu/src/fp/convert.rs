//! Format conversions: T↔S, quadword→S/T, T→quadword (`cvttq`), and the
//! longword shuffles `cvtql`/`cvtlq`, plus the S register/memory mapping.

use super::fpcr::{Round, INE, INV, IOV};
use super::soft::{return_nan, round_pack, unpack, Class, Ctx, S, T};

/// Expands an S value from 32-bit memory layout to the 64-bit register
/// layout (`lds`, `itofs`): the 8-bit exponent is widened to 11 bits so the
/// register holds the same value in T format; all-ones stays all-ones.
pub fn s_mem_to_reg(bits: u32) -> u64 {
    let frac = (bits & 0x7f_ffff) as u64;
    let sign = (bits >> 31) as u64;
    let exp_msb = (bits >> 30) & 1;
    let exp_low = (bits >> 23) & 0x7f;
    let mut exp = ((exp_msb << 10) | exp_low) as u64;
    if exp_msb != 0 {
        if exp_low == 0x7f {
            exp = 0x7ff;
        }
    } else if exp_low != 0 {
        exp |= 0x380;
    }
    (sign << 63) | (exp << 52) | (frac << 29)
}

/// Compresses a 64-bit register value to S memory layout (`sts`, `ftois`,
/// and the operand read of every S instruction): bits 63:62 and 58:29.
pub fn s_reg_to_mem(reg: u64) -> u32 {
    (((reg >> 32) & 0xc000_0000) | ((reg >> 29) & 0x3fff_ffff)) as u32
}

/// `cvtts`: T to S (register layout in and out), rounded.
pub(crate) fn cvtts(a: u64, ctx: &mut Ctx) -> u64 {
    let u = unpack(T, a, ctx);
    let bits = match u.class {
        Class::QNaN | Class::SNaN => return_nan(S, &u, ctx),
        Class::Inf => S.inf(u.sign),
        Class::Zero => S.zero(u.sign),
        Class::Normal => round_pack(S, u.sign, u.exp, u.sig, ctx),
    };
    s_mem_to_reg(bits as u32)
}

/// `cvtst`: S (register layout) to T; exact except for NaN quieting.
pub(crate) fn cvtst(a: u64, ctx: &mut Ctx) -> u64 {
    let u = unpack(S, s_reg_to_mem(a) as u64, ctx);
    match u.class {
        Class::QNaN | Class::SNaN => return_nan(T, &u, ctx),
        Class::Inf => T.inf(u.sign),
        Class::Zero => T.zero(u.sign),
        Class::Normal => round_pack(T, u.sign, u.exp, u.sig, ctx),
    }
}

fn int_to_float(f: super::soft::Fmt, a: u64, ctx: &mut Ctx) -> u64 {
    if a == 0 {
        return 0;
    }
    let sign = (a as i64) < 0;
    let mag = (a as i64).unsigned_abs();
    let lz = mag.leading_zeros();
    round_pack(f, sign, 63 - lz as i32, mag << lz, ctx)
}

/// `cvtqt`: signed quadword to T, rounded.
pub(crate) fn cvtqt(a: u64, ctx: &mut Ctx) -> u64 {
    if ctx.rm == Round::NearestEven {
        // Rust's integer-to-float cast rounds to nearest even; every result
        // (at most 2^63 in magnitude) converts back to i128 exactly.
        let v = a as i64;
        let r = v as f64;
        if r as i128 != v as i128 {
            ctx.flags |= INE;
        }
        return r.to_bits();
    }
    int_to_float(T, a, ctx)
}

/// `cvtqs`: signed quadword to S (register layout), rounded.
pub(crate) fn cvtqs(a: u64, ctx: &mut Ctx) -> u64 {
    if ctx.rm == Round::NearestEven {
        let v = a as i64;
        let r = v as f32;
        if r as i128 != v as i128 {
            ctx.flags |= INE;
        }
        return s_mem_to_reg(r.to_bits());
    }
    s_mem_to_reg(int_to_float(S, a, ctx) as u32)
}

/// `cvttq`: T to signed quadword in rounding mode `rm`, modulo 2^64 when
/// out of range (the low 64 bits of the exact integer), as qemu does.
/// Returns the value and the raised flags (INV, IOV|INE, INE).
pub(crate) fn cvttq(a: u64, rm: Round, daz: bool) -> (u64, u64) {
    let sign = a >> 63 != 0;
    let exp = ((a >> 52) & 0x7ff) as i32;
    let frac = a & 0xf_ffff_ffff_ffff;
    if exp == 0x7ff {
        return (0, INV);
    }
    let mut flags = 0;
    let (mut ret, round): (u64, u64) = if exp == 0 {
        if frac == 0 || daz {
            return (0, 0);
        }
        // A denormal only leaves a sticky bit below the binary point.
        (0, 1)
    } else {
        let sig = frac | 1 << 52;
        let shift = exp - 1023 - 52;
        if shift >= 0 {
            // Too large to have a fraction: no rounding.
            let ret = if shift < 64 { sig << shift } else { 0 };
            // -2^63 is the one in-range value with shift 11.
            if shift >= 11 && a != 0xc3e0_0000_0000_0000 {
                flags = IOV | INE;
            }
            (ret, 0)
        } else {
            let shift = (-shift) as u32;
            if shift < 63 {
                (sig >> shift, sig << (64 - shift))
            } else {
                (0, 1)
            }
        }
    };
    if round != 0 {
        flags = INE;
        let half = 1u64 << 63;
        match rm {
            Round::NearestEven => {
                if round > half || (round == half && ret & 1 != 0) {
                    ret += 1;
                }
            }
            Round::ToZero => {}
            Round::Up => ret += !sign as u64,
            Round::Down => ret += sign as u64,
        }
    }
    if sign {
        ret = ret.wrapping_neg();
    }
    (ret, flags)
}

/// `cvtql`: quadword to longword in register layout; flags IOV|INE when the
/// value does not fit in 32 signed bits.
pub(crate) fn cvtql(b: u64) -> (u64, u64) {
    let flags = if b != (b as i32) as i64 as u64 {
        IOV | INE
    } else {
        0
    };
    (((b & 0xc000_0000) << 32) | ((b & 0x3fff_ffff) << 29), flags)
}

/// `cvtlq`: longword in register layout to sign-extended quadword.
pub(crate) fn cvtlq(b: u64) -> u64 {
    let high = (((b as i64) >> 32) as u64) & !0x3fff_ffff;
    high | ((b >> 29) & 0x3fff_ffff)
}
