//! Alpha AXP floating-point unit: the IEEE S/T operate instructions
//! (opcodes 0x14, 0x16, 0x17) with every rounding, trap and
//! software-completion qualifier, bit-compatible with qemu-alpha 7.2's
//! linux-user emulation, which is this crate's oracle.
//!
//! * [`fp_operate`] executes one FP-operate instruction on raw register
//!   values and the FPCR state word (see [`fpcr`] for its layout).
//! * [`s_mem_to_reg`] / [`s_reg_to_mem`] convert S values between the 32-bit
//!   memory layout and the 64-bit register layout (`lds`, `sts`, `itofs`,
//!   `ftois`).
//!
//! VAX formats are not supported: opcode 0x15 and the VAX members of 0x14
//! (`itoff`, `sqrtf`, `sqrtg`) are illegal.
//!
//! Differences from the architecture manual that follow qemu-alpha on
//! purpose: non-`/S` instructions trap on any NaN, infinity (except in
//! compares) or denormal operand; results of instructions without `/U` that
//! would be tiny become zero silently; `/S` instructions raise only the
//! exceptions their qualifiers enable and trap only if the FPCR (and the
//! Linux SWCR for integer overflow) enables them; the FPCR summary bit is
//! never computed.

mod arith;
mod convert;
pub mod fpcr;
mod soft;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use convert::{s_mem_to_reg, s_reg_to_mem};

use arith::Op;
use fpcr::{Round, INE, INV, IOV, UNF};
use soft::Ctx;

/// The instruction is not a legal FP operate instruction here (unknown
/// function code or a VAX-format operation): the caller raises SIGILL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpIllegal;

/// What an FP operate instruction does to its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpOutcome {
    /// Write this value to the destination register. For `mf_fpcr` the
    /// destination is Fa (qemu writes Fa); for every other instruction Fc.
    Write(u64),
    /// Leave the destination unchanged (`mt_fpcr`, false `fcmov`).
    NoWrite,
    /// An arithmetic trap (SIGFPE for a user process).
    Trap {
        /// Alpha EXC_SUM bits: SWC=bit0, INV=1, DZE=2, OVF=3, UNF=4, INE=5,
        /// IOV=6.
        exc_sum: u64,
        /// The value written to Fc before the trap is taken, if any
        /// (operand traps happen before any write).
        write: Option<u64>,
    },
}

/// EXC_SUM software-completion bit.
pub const EXC_SWC: u64 = 1;
/// EXC_SUM invalid-operation bit.
pub const EXC_INV: u64 = 1 << 1;

/// Qualifier bits of the function field.
const QUAL_RM_MASK: u32 = 0x0c0;
const QUAL_RM_C: u32 = 0x000;
const QUAL_RM_M: u32 = 0x040;
const QUAL_RM_N: u32 = 0x080;
/// `/U` for FP results, `/V` for integer results.
const QUAL_U: u32 = 0x100;
const QUAL_I: u32 = 0x200;
const QUAL_S: u32 = 0x400;

/// Value a true compare writes: 2.0.
const CMP_TRUE: u64 = 0x4000_0000_0000_0000;

/// Executes one FP-operate instruction.
///
/// `func` is the 11-bit function field (instruction bits 15..5); `a`/`b` the
/// raw operand values (for `itofs`/`itoft`, `a` is the integer register);
/// `c_old` the destination's current value; `fpcr` the FPCR state word (see
/// [`fpcr`]), updated in place. For single-operand instructions the operand
/// is `b`; `mt_fpcr` reads `a`.
pub fn fp_operate(
    opcode: u32,
    func: u32,
    a: u64,
    b: u64,
    c_old: u64,
    fpcr: &mut u64,
) -> Result<FpOutcome, FpIllegal> {
    let _ = c_old;
    match opcode {
        0x14 => itfp(func, a, b, fpcr),
        0x16 => ieee(func, a, b, fpcr),
        0x17 => fltl(func, a, b, fpcr),
        _ => Err(FpIllegal),
    }
}

/// Rounding mode selected by the qualifier bits.
fn qual_round(func: u32, fpcr: u64) -> Round {
    match func & QUAL_RM_MASK {
        QUAL_RM_C => Round::ToZero,
        QUAL_RM_M => Round::Down,
        QUAL_RM_N => Round::NearestEven,
        _ => fpcr::dynamic_round(fpcr),
    }
}

/// The arithmetic context for an FP-result instruction: without `/U`
/// tiny results are always flushed to zero.
fn arith_ctx(func: u32, fpcr: u64) -> Ctx {
    let ftz = func & QUAL_U == 0 || fpcr::underflow_to_zero(fpcr);
    Ctx::new(qual_round(func, fpcr), ftz, fpcr::denormals_are_zero(fpcr))
}

/// Operand check of instructions without `/S`: denormals trap (INV in
/// EXC_SUM, FPCR untouched); NaNs, and infinities unless `allow_inf`, trap
/// and set FPCR.INV.
fn check_input(func: u32, v: u64, allow_inf: bool, fpcr: &mut u64) -> Result<(), FpOutcome> {
    if func & QUAL_S != 0 {
        return Ok(());
    }
    let exp = (v >> 52) & 0x7ff;
    let frac = v & 0xf_ffff_ffff_ffff;
    let trap = if exp == 0 {
        frac != 0
    } else if exp == 0x7ff && (frac != 0 || !allow_inf) {
        *fpcr |= INV;
        true
    } else {
        false
    };
    if trap {
        Err(FpOutcome::Trap {
            exc_sum: EXC_INV,
            write: None,
        })
    } else {
        Ok(())
    }
}

/// Maps FPCR status bits to EXC_SUM bits (INV..IOV → bits 1..6).
fn exc_sum_bits(status: u64) -> u64 {
    (status >> 51) & 0x7e
}

/// Merges the raised `flags` into the FPCR and decides whether the
/// instruction traps, per its `/U` (`/V`), `/I` and `/S` qualifiers.
fn raise(func: u32, flags: u64, result: u64, fpcr: &mut u64) -> FpOutcome {
    let mut ignore = 0;
    if func & QUAL_U == 0 {
        ignore |= UNF | IOV;
    }
    if func & QUAL_I == 0 {
        ignore |= INE;
    }
    let trap_bits = if func & QUAL_S == 0 {
        // Without software completion every raised flag is recorded and
        // every non-ignored one traps.
        *fpcr |= flags;
        let exc = flags & !ignore;
        (exc != 0).then_some(exc_sum_bits(exc))
    } else {
        // With software completion only non-ignored flags are recorded,
        // and the (Linux) trap enables filter the trap.
        let exc = flags & !ignore;
        *fpcr |= exc;
        let enabled = exc & fpcr::trap_enables(*fpcr);
        (enabled != 0).then_some(exc_sum_bits(enabled) | EXC_SWC)
    };
    match trap_bits {
        Some(exc_sum) => FpOutcome::Trap {
            exc_sum,
            write: Some(result),
        },
        None => FpOutcome::Write(result),
    }
}

fn itfp(func: u32, a: u64, b: u64, fpcr: &mut u64) -> Result<FpOutcome, FpIllegal> {
    Ok(match func & 0x3f {
        0x04 => FpOutcome::Write(s_mem_to_reg(a as u32)),
        0x24 => FpOutcome::Write(a),
        0x0b => unary(func, b, fpcr, |v, ctx| {
            s_mem_to_reg(arith::sqrt_s(s_reg_to_mem(v), ctx))
        }),
        0x2b => unary(func, b, fpcr, arith::sqrt_t),
        // itoff, sqrtf, sqrtg (VAX) and everything else.
        _ => return Err(FpIllegal),
    })
}

/// A single-operand instruction with an FP result (sqrt, cvtts, cvtst).
fn unary(func: u32, b: u64, fpcr: &mut u64, op: impl FnOnce(u64, &mut Ctx) -> u64) -> FpOutcome {
    if let Err(trap) = check_input(func, b, false, fpcr) {
        return trap;
    }
    let mut ctx = arith_ctx(func, *fpcr);
    let r = op(b, &mut ctx);
    raise(func, ctx.flags, r, fpcr)
}

fn binary(func: u32, op: Op, single: bool, a: u64, b: u64, fpcr: &mut u64) -> FpOutcome {
    if let Err(trap) = check_input(func, a, false, fpcr) {
        return trap;
    }
    if let Err(trap) = check_input(func, b, false, fpcr) {
        return trap;
    }
    let mut ctx = arith_ctx(func, *fpcr);
    let r = if single {
        let r = arith::arith_s(op, s_reg_to_mem(a), s_reg_to_mem(b), &mut ctx);
        s_mem_to_reg(r)
    } else {
        arith::arith_t(op, a, b, &mut ctx)
    };
    raise(func, ctx.flags, r, fpcr)
}

fn compare(func: u32, a: u64, b: u64, fpcr: &mut u64) -> FpOutcome {
    use core::cmp::Ordering::{Equal, Less};
    if let Err(trap) = check_input(func, a, true, fpcr) {
        return trap;
    }
    if let Err(trap) = check_input(func, b, true, fpcr) {
        return trap;
    }
    // Compares only read operands: rounding and flush-to-zero are moot.
    let mut ctx = Ctx::new(Round::NearestEven, false, fpcr::denormals_are_zero(*fpcr));
    let kind = func & 0x3f;
    let order = arith::compare_t(a, b, kind == 0x26 || kind == 0x27, &mut ctx);
    let truth = match kind {
        0x24 => order.is_none(),
        0x25 => order == Some(Equal),
        0x26 => order == Some(Less),
        _ => matches!(order, Some(Less | Equal)),
    };
    raise(func, ctx.flags, if truth { CMP_TRUE } else { 0 }, fpcr)
}

fn ieee(func: u32, a: u64, b: u64, fpcr: &mut u64) -> Result<FpOutcome, FpIllegal> {
    Ok(match func & 0x3f {
        0x00 => binary(func, Op::Add, true, a, b, fpcr),
        0x01 => binary(func, Op::Sub, true, a, b, fpcr),
        0x02 => binary(func, Op::Mul, true, a, b, fpcr),
        0x03 => binary(func, Op::Div, true, a, b, fpcr),
        0x20 => binary(func, Op::Add, false, a, b, fpcr),
        0x21 => binary(func, Op::Sub, false, a, b, fpcr),
        0x22 => binary(func, Op::Mul, false, a, b, fpcr),
        0x23 => binary(func, Op::Div, false, a, b, fpcr),
        0x24..=0x27 => compare(func, a, b, fpcr),
        0x2c if func == 0x2ac || func == 0x6ac => unary(func, b, fpcr, convert::cvtst),
        0x2c => unary(func, b, fpcr, convert::cvtts),
        0x2f => {
            if let Err(trap) = check_input(func, b, false, fpcr) {
                return Ok(trap);
            }
            let (r, flags) =
                convert::cvttq(b, qual_round(func, *fpcr), fpcr::denormals_are_zero(*fpcr));
            raise(func, flags, r, fpcr)
        }
        0x3c | 0x3e => {
            // No operand check; the only possible exception is inexact,
            // which is recorded (and may trap) only with /I.
            let mut ctx = Ctx::new(qual_round(func, *fpcr), false, false);
            let r = if func & 0x3f == 0x3c {
                convert::cvtqs(b, &mut ctx)
            } else {
                convert::cvtqt(b, &mut ctx)
            };
            if func & QUAL_I != 0 {
                raise(func, ctx.flags, r, fpcr)
            } else {
                FpOutcome::Write(r)
            }
        }
        _ => return Err(FpIllegal),
    })
}

/// Folds -0.0 for the fcmov conditions and compares as a signed integer.
fn fcmov_true(func: u32, a: u64) -> bool {
    const MZERO: u64 = 1 << 63;
    match func {
        0x02a => a & !MZERO == 0,
        0x02b => a & !MZERO != 0,
        0x02c => a != MZERO && (a as i64) < 0,
        0x02d => a == MZERO || (a as i64) >= 0,
        0x02e => (a as i64) <= 0,
        _ => (a as i64) > 0,
    }
}

fn fltl(func: u32, a: u64, b: u64, fpcr: &mut u64) -> Result<FpOutcome, FpIllegal> {
    const SIGN: u64 = 1 << 63;
    const SIGN_EXP: u64 = 0xfff0_0000_0000_0000;
    Ok(match func {
        0x010 => FpOutcome::Write(convert::cvtlq(b)),
        0x020 => FpOutcome::Write((a & SIGN) | (b & !SIGN)),
        0x021 => FpOutcome::Write((!a & SIGN) | (b & !SIGN)),
        0x022 => FpOutcome::Write((a & SIGN_EXP) | (b & !SIGN_EXP)),
        0x024 => {
            fpcr::write_architectural(fpcr, a);
            FpOutcome::NoWrite
        }
        0x025 => FpOutcome::Write(fpcr::architectural(*fpcr)),
        0x02a..=0x02f => {
            if fcmov_true(func, a) {
                FpOutcome::Write(b)
            } else {
                FpOutcome::NoWrite
            }
        }
        0x030 | 0x130 | 0x530 => {
            let (r, flags) = convert::cvtql(b);
            raise(func, flags, r, fpcr)
        }
        _ => return Err(FpIllegal),
    })
}
