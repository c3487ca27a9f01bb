//! IEEE arithmetic on S and T operands: add, subtract, multiply, divide,
//! square root and comparison, each with a host-float fast path for
//! round-to-nearest on comfortably normal operands and results.
//!
//! S operands here are in 32-bit memory layout (low bits of the `u64`).
//!
//! The fast paths are exact: the host's `f64`/`f32` operations are IEEE
//! round-to-nearest-even, and the inexact flag is recovered from the exact
//! rounding error (TwoSum for addition, a fused multiply-add residual for
//! multiplication, division and square root). They are taken only when every
//! operand and the result lie well inside the normal range, so overflow,
//! underflow, flush-to-zero and denormal handling never arise there.

use super::fpcr::{Round, INE};
use super::soft::{
    div_by_zero, invalid, narrow, pick_nan, return_nan, round_pack, shr_jam128, unpack, Class, Ctx,
    Fmt, S, T,
};
use core::cmp::Ordering;

/// Lowest T exponent field the fast paths accept (operands and result):
/// keeps every rounding residual representable and results far from tiny.
const T_FAST_LO: u64 = 128;
/// Highest T exponent field the fast paths accept: results far from overflow.
const T_FAST_HI: u64 = 1920;

fn t_exp(bits: u64) -> u64 {
    (bits >> 52) & 0x7ff
}

fn t_fast_ok(bits: u64) -> bool {
    (T_FAST_LO..=T_FAST_HI).contains(&t_exp(bits))
}

/// S exponent field of a fast-path result must be normal and not the
/// smallest binade (where qemu's tininess and flush rules differ).
fn s_fast_result_ok(bits: u32) -> bool {
    let e = (bits >> 23) & 0xff;
    (2..=253).contains(&e)
}

/// S operand usable by the fast path: normal (exponent field 1..=254).
fn s_normal(bits: u32) -> bool {
    let e = (bits >> 23) & 0xff;
    (1..=254).contains(&e)
}

/// The four arithmetic operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a op b` in format T.
pub(crate) fn arith_t(op: Op, a: u64, b: u64, ctx: &mut Ctx) -> u64 {
    if ctx.rm == Round::NearestEven {
        if let Some(r) = fast_t(op, a, b, ctx) {
            return r;
        }
    }
    soft_arith(T, op, a, b, ctx)
}

/// `a op b` in format S (32-bit memory layout in the low bits).
pub(crate) fn arith_s(op: Op, a: u32, b: u32, ctx: &mut Ctx) -> u32 {
    if ctx.rm == Round::NearestEven {
        if let Some(r) = fast_s(op, a, b, ctx) {
            return r;
        }
    }
    soft_arith(S, op, a as u64, b as u64, ctx) as u32
}

fn fast_t(op: Op, a: u64, b: u64, ctx: &mut Ctx) -> Option<u64> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    match op {
        Op::Add | Op::Sub => {
            // Zeros are fine here: TwoSum is exact whatever the magnitudes.
            let ok = |v: u64| v << 1 == 0 || t_fast_ok(v);
            if !ok(a) || !ok(b) {
                return None;
            }
            let y = if op == Op::Sub { -y } else { y };
            let s = x + y;
            if !t_fast_ok(s.to_bits()) {
                return None;
            }
            let bb = s - x;
            let err = (x - (s - bb)) + (y - bb);
            if err != 0.0 {
                ctx.flags |= INE;
            }
            Some(s.to_bits())
        }
        Op::Mul => {
            if !t_fast_ok(a) || !t_fast_ok(b) {
                return None;
            }
            let p = x * y;
            if !t_fast_ok(p.to_bits()) {
                return None;
            }
            if x.mul_add(y, -p) != 0.0 {
                ctx.flags |= INE;
            }
            Some(p.to_bits())
        }
        Op::Div => {
            if !t_fast_ok(a) || !t_fast_ok(b) {
                return None;
            }
            let q = x / y;
            if !t_fast_ok(q.to_bits()) {
                return None;
            }
            if (-q).mul_add(y, x) != 0.0 {
                ctx.flags |= INE;
            }
            Some(q.to_bits())
        }
    }
}

fn fast_s(op: Op, a: u32, b: u32, ctx: &mut Ctx) -> Option<u32> {
    // Every f32 is exact in f64, and computing +,-,*,/ in f64 and rounding
    // once more to f32 is correctly rounded (53 >= 2 * 24 + 2).
    let ok_add = |v: u32| v << 1 == 0 || s_normal(v);
    let (x, y) = (f32::from_bits(a) as f64, f32::from_bits(b) as f64);
    let (r, exact_wide) = match op {
        Op::Add | Op::Sub => {
            if !ok_add(a) || !ok_add(b) {
                return None;
            }
            let y = if op == Op::Sub { -y } else { y };
            let s = x + y;
            let bb = s - x;
            let err = (x - (s - bb)) + (y - bb);
            (s, err == 0.0)
        }
        Op::Mul => {
            if !s_normal(a) || !s_normal(b) {
                return None;
            }
            (x * y, true)
        }
        Op::Div => {
            if !s_normal(a) || !s_normal(b) {
                return None;
            }
            (x / y, true)
        }
    };
    let r32 = r as f32;
    if !s_fast_result_ok(r32.to_bits()) {
        return None;
    }
    let back = r32 as f64;
    let exact = match op {
        Op::Add | Op::Sub | Op::Mul => exact_wide && back == r,
        // 24-bit by 24-bit products are exact in f64.
        Op::Div => back * y == x,
    };
    if !exact {
        ctx.flags |= INE;
    }
    Some(r32.to_bits())
}

/// Correctly rounded `a op b` in format `f` on the integer pipeline.
pub(crate) fn soft_arith(f: Fmt, op: Op, a: u64, b: u64, ctx: &mut Ctx) -> u64 {
    let ua = unpack(f, a, ctx);
    let mut ub = unpack(f, b, ctx);
    if ua.is_nan() || ub.is_nan() {
        return pick_nan(f, &ua, &ub, ctx);
    }
    match op {
        Op::Add | Op::Sub => {
            if op == Op::Sub {
                ub.sign = !ub.sign;
            }
            add(f, ua, ub, ctx)
        }
        Op::Mul => {
            let sign = ua.sign ^ ub.sign;
            match (ua.class, ub.class) {
                (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf) => invalid(f, ctx),
                (Class::Inf, _) | (_, Class::Inf) => f.inf(sign),
                (Class::Zero, _) | (_, Class::Zero) => f.zero(sign),
                _ => {
                    let p = ua.sig as u128 * ub.sig as u128;
                    let lz = p.leading_zeros();
                    let p = p << lz;
                    round_pack(f, sign, ua.exp + ub.exp + 1 - lz as i32, narrow(p), ctx)
                }
            }
        }
        Op::Div => {
            let sign = ua.sign ^ ub.sign;
            match (ua.class, ub.class) {
                (Class::Inf, Class::Inf) | (Class::Zero, Class::Zero) => invalid(f, ctx),
                (Class::Inf, _) => f.inf(sign),
                (_, Class::Zero) => div_by_zero(f, sign, ctx),
                (Class::Zero, _) | (_, Class::Inf) => f.zero(sign),
                _ => {
                    let n = (ua.sig as u128) << 64;
                    let d = ub.sig as u128;
                    let (q, r) = (n / d, n % d);
                    // a.sig / b.sig lies in (1/2, 2): q has 64 or 65 bits.
                    let (sig, exp) = if q >> 64 != 0 {
                        let sticky = (q & 1 != 0) || r != 0;
                        (((q >> 1) as u64) | sticky as u64, ua.exp - ub.exp)
                    } else {
                        ((q as u64) | (r != 0) as u64, ua.exp - ub.exp - 1)
                    };
                    round_pack(f, sign, exp, sig, ctx)
                }
            }
        }
    }
}

fn add(f: Fmt, a: super::soft::Unpacked, b: super::soft::Unpacked, ctx: &mut Ctx) -> u64 {
    match (a.class, b.class) {
        (Class::Inf, Class::Inf) => {
            if a.sign == b.sign {
                f.inf(a.sign)
            } else {
                invalid(f, ctx)
            }
        }
        (Class::Inf, _) => f.inf(a.sign),
        (_, Class::Inf) => f.inf(b.sign),
        (Class::Zero, Class::Zero) => {
            if a.sign == b.sign {
                f.zero(a.sign)
            } else {
                f.zero(ctx.rm == Round::Down)
            }
        }
        // A lone zero leaves the other operand, which still goes through
        // rounding so a denormal honours flush-to-zero.
        (Class::Zero, _) => round_pack(f, b.sign, b.exp, b.sig, ctx),
        (_, Class::Zero) => round_pack(f, a.sign, a.exp, a.sig, ctx),
        _ => {
            let (big, small) = if (a.exp, a.sig) >= (b.exp, b.sig) {
                (a, b)
            } else {
                (b, a)
            };
            // Significands at bits 125..62 leave two bits of headroom.
            let mb = (big.sig as u128) << 62;
            let ms = shr_jam128((small.sig as u128) << 62, (big.exp - small.exp) as u32);
            let (m, sign) = if big.sign == small.sign {
                (mb + ms, big.sign)
            } else {
                (mb - ms, big.sign)
            };
            if m == 0 {
                return f.zero(ctx.rm == Round::Down);
            }
            let lz = m.leading_zeros();
            round_pack(f, sign, big.exp + 2 - lz as i32, narrow(m << lz), ctx)
        }
    }
}

/// Square root in format T.
pub(crate) fn sqrt_t(a: u64, ctx: &mut Ctx) -> u64 {
    if ctx.rm == Round::NearestEven && a >> 63 == 0 && t_fast_ok(a) {
        let x = f64::from_bits(a);
        let r = x.sqrt();
        if (-r).mul_add(r, x) != 0.0 {
            ctx.flags |= INE;
        }
        return r.to_bits();
    }
    soft_sqrt(T, a, ctx)
}

/// Square root in format S (32-bit memory layout).
pub(crate) fn sqrt_s(a: u32, ctx: &mut Ctx) -> u32 {
    if ctx.rm == Round::NearestEven && a >> 31 == 0 && s_normal(a) {
        let x = f32::from_bits(a) as f64;
        let r = x.sqrt() as f32;
        let back = r as f64;
        if back * back != x {
            ctx.flags |= INE;
        }
        return r.to_bits();
    }
    soft_sqrt(S, a as u64, ctx) as u32
}

/// Integer square root of a 128-bit value: the largest `s` with `s*s <= n`.
fn isqrt128(n: u128) -> u64 {
    if n == 0 {
        return 0;
    }
    // A 53-bit estimate, one Newton step, then exact correction.
    let square_above = |s: u128| s.checked_mul(s).is_none_or(|sq| sq > n);
    let est = (n as f64).sqrt() as u128;
    let mut s = est.max(1);
    s = (s + n / s) / 2;
    while square_above(s) {
        s -= 1;
    }
    while !square_above(s + 1) {
        s += 1;
    }
    s as u64
}

/// Correctly rounded square root in format `f`.
pub(crate) fn soft_sqrt(f: Fmt, a: u64, ctx: &mut Ctx) -> u64 {
    let u = unpack(f, a, ctx);
    match u.class {
        Class::QNaN | Class::SNaN => return_nan(f, &u, ctx),
        Class::Zero => f.zero(u.sign),
        _ if u.sign => invalid(f, ctx),
        Class::Inf => f.inf(false),
        Class::Normal => {
            // value = sig * 2^k with k = exp - 63; make the scale even.
            let k = u.exp - 63;
            let (n, scale) = if k & 1 != 0 {
                ((u.sig as u128) << 63, k - 63)
            } else {
                ((u.sig as u128) << 64, k - 64)
            };
            let s = isqrt128(n);
            let rem = n - (s as u128) * (s as u128);
            round_pack(f, false, scale / 2 + 63, s | (rem != 0) as u64, ctx)
        }
    }
}

/// Compares `a` and `b` (format T); `None` when unordered. Signaling NaNs
/// raise invalid; with `signaling`, quiet NaNs do too.
pub(crate) fn compare_t(a: u64, b: u64, signaling: bool, ctx: &mut Ctx) -> Option<Ordering> {
    let ua = unpack(T, a, ctx);
    let ub = unpack(T, b, ctx);
    if ua.is_nan() || ub.is_nan() {
        if signaling || ua.class == Class::SNaN || ub.class == Class::SNaN {
            ctx.flags |= super::fpcr::INV;
        }
        return None;
    }
    // Map each value to a totally ordered integer key.
    let key = |u: &super::soft::Unpacked| -> i128 {
        let mag: i128 = match u.class {
            Class::Zero => 0,
            Class::Inf => i128::MAX,
            _ => (((u.exp + 2000) as i128) << 64) | u.sig as i128,
        };
        if u.sign {
            -mag
        } else {
            mag
        }
    };
    Some(key(&ua).cmp(&key(&ub)))
}
