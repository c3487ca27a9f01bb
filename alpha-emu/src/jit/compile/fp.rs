//! FP-operate instructions in compiled code: inline SSE where the result
//! (and the absence of any other effect) is certain, the `fp` module
//! through a helper call otherwise.

use super::regs::freg;
use super::Cx;
use crate::decode::{Kind, Op};
use crate::interp::STATE_FPCR;
use crate::jit::helpers;
use crate::jit::x86::*;

/// The T exponent-field range of `fp::arith`'s fast paths (operands and
/// result): far from zero, denormals, overflow and infinities, so IEEE
/// flags other than inexact cannot arise.
const T_FAST_LO: u64 = 128;
const T_FAST_HI: u64 = 1920;

/// For `addt`/`subt`/`mult`/`divt` with software completion (`/S`), no
/// `/I`, and round-to-nearest (`/N`, or dynamic — then checked at run
/// time): the SSE opcode and whether the FPCR must be checked. With `/S`
/// and without `/I` an inexact result records nothing and cannot trap, so
/// in the fast range the host's result is the whole effect.
fn fast_t(op: &Op) -> Option<(u8, bool)> {
    if op.kind != Kind::FpOp || op.imm >> 16 != 0x16 {
        return None;
    }
    let func = op.imm & 0x7ff;
    if func & 0x400 == 0 || func & 0x200 != 0 {
        return None;
    }
    let dynamic = match func & 0x0c0 {
        0x080 => false,
        0x0c0 => true,
        _ => return None,
    };
    let sse = match func & 0x3f {
        0x20 => 0x58,
        0x21 => 0x5c,
        0x22 => 0x59,
        0x23 => 0x5e,
        _ => return None,
    };
    Some((sse, dynamic))
}
impl Cx<'_, '_> {
    /// An FP-operate instruction: inline when it is T add / sub / mul / div
    /// whose result the host computes exactly as `fp` would (see
    /// [`fast_t`]), through the helper otherwise.
    pub(super) fn fp_operate(&mut self, op: &Op, k: u32) {
        let func = op.imm & 0x7ff;
        // cpys / cpysn / cpyse: bit copies, no flags.
        if op.kind == Kind::FpOp && op.imm >> 16 == 0x17 && (0x020..=0x022).contains(&func) {
            const SIGN: u64 = 1 << 63;
            let keep_a = if func == 0x022 { 0xfff << 52 } else { SIGN };
            self.a.load64(RAX, freg(op.a));
            if func == 0x021 {
                self.a.not(RAX);
            }
            self.a.mov_imm(RDX, keep_a);
            self.a.alu(Alu::And, RAX, RDX);
            self.a.load64(RCX, freg(op.b));
            self.a.not(RDX);
            self.a.alu(Alu::And, RCX, RDX);
            self.a.alu(Alu::Or, RAX, RCX);
            self.a.store64(freg(op.c), RAX);
            return;
        }
        let mut slow = Vec::new();
        // cvtqt, any qualifier: exact (no flags at all) for |v| < 2^53.
        if op.kind == Kind::FpOp && op.imm >> 16 == 0x16 && func & 0x3f == 0x3e {
            self.a.load64(RAX, freg(op.b));
            self.a.mov_imm(RDX, 1 << 53);
            self.a.alu(Alu::Add, RDX, RAX);
            self.a.mov_imm(RCX, 1 << 54);
            self.a.alu(Alu::Cmp, RDX, RCX);
            slow.push(self.a.jcc(Cc::Ae));
            self.a.cvtsi2sd(X(0), RAX);
            self.a.movq_from_x(RAX, X(0));
            self.a.store64(freg(op.c), RAX);
            let done = self.a.jmp();
            self.fp_slow(op, k, slow, Some(done));
            return;
        }
        // cvttq/sc, cvttq/svc: truncation; with /S and no /I inexactness
        // is not recorded; |x| < 2^63 cannot overflow.
        if op.kind == Kind::FpOp
            && op.imm >> 16 == 0x16
            && func & 0x3f == 0x2f
            && func & 0x4c0 == 0x400
            && func & 0x200 == 0
        {
            self.a.load64(RAX, freg(op.b));
            self.a.mov(RDX, RAX);
            self.a.shift_imm(Shift::Shr, RDX, 52);
            self.a.alu32_imm(Alu::And, RDX, 0x7ff);
            self.a.alu32_imm(Alu::Cmp, RDX, 1023 + 62);
            slow.push(self.a.jcc(Cc::A));
            self.a.movq_to_x(X(0), RAX);
            self.a.cvttsd2si(RAX, X(0));
            self.a.store64(freg(op.c), RAX);
            let done = self.a.jmp();
            self.fp_slow(op, k, slow, Some(done));
            return;
        }
        let fast = fast_t(op);
        if let Some((sse, dynamic)) = fast {
            if dynamic {
                // The FPCR's dynamic rounding mode must be round-to-nearest.
                self.a.load64(RAX, mem(RBX, STATE_FPCR));
                self.a.shift_imm(Shift::Shr, RAX, 58);
                self.a.alu32_imm(Alu::And, RAX, 3);
                self.a.alu32_imm(Alu::Cmp, RAX, 2);
                slow.push(self.a.jcc(Cc::Ne));
            }
            self.a.load64(RAX, freg(op.a));
            self.safe_exponent(RAX, &mut slow);
            self.a.load64(RCX, freg(op.b));
            self.safe_exponent(RCX, &mut slow);
            self.a.movq_to_x(X(0), RAX);
            self.a.movq_to_x(X(1), RCX);
            self.a.sd(sse, X(0), X(1));
            self.a.movq_from_x(RAX, X(0));
            self.safe_exponent(RAX, &mut slow);
            self.a.store64(freg(op.c), RAX);
        }
        let done = fast.map(|_| self.a.jmp());
        self.fp_slow(op, k, slow, done);
    }

    /// The general FP path (the helper), reached from the `slow` jumps of a
    /// fast path (or straight); the fast path's `done` jump lands after it.
    pub(super) fn fp_slow(&mut self, op: &Op, k: u32, slow: Vec<usize>, done: Option<usize>) {
        let at = self.a.pos();
        for f in slow {
            self.a.bind(f, at);
        }
        if op.kind == Kind::Itof {
            self.write_back(op.a);
        }
        self.call_helper(self.out.fp_helper, None, helpers::pack_fp(op));
        self.a.test(RAX, RAX);
        self.leave_for_interp(Some(Cc::Ne), k);
        if let Some(f) = done {
            let at = self.a.pos();
            self.a.bind(f, at);
        }
    }

    /// Goes to one of `slow` unless the T exponent field of `r` lies in
    /// the fast paths' range (clobbers rdx).
    pub(super) fn safe_exponent(&mut self, r: R, slow: &mut Vec<usize>) {
        self.a.mov(RDX, r);
        self.a.shift_imm(Shift::Shr, RDX, 52);
        self.a.alu32_imm(Alu::And, RDX, 0x7ff);
        self.a.alu32_imm(Alu::Sub, RDX, T_FAST_LO as i32);
        self.a
            .alu32_imm(Alu::Cmp, RDX, (T_FAST_HI - T_FAST_LO) as i32);
        slow.push(self.a.jcc(Cc::A));
    }
}
