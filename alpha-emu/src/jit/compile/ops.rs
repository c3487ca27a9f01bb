//! Body instructions: integer operate, loads and stores, PAL register moves.

use super::regs::{freg, Val};
use super::Cx;
use crate::decode::{Kind, Op, SINK};
use crate::interp::alu::{msk_high, msk_low, zap, zapnot, BYTE_MASKS};
use crate::interp::{AMASK_IMPLEMENTED, IMPLVER, STATE_INTR, STATE_UNIQUE};
use crate::jit::x86::*;
use crate::mmu::WRITE_TLB_OFFSET;

impl Cx<'_, '_> {
    /// Integer body op; `false` when compiled code cannot do it.
    pub(super) fn body_op(&mut self, op: &Op, k: u32) -> bool {
        use Kind::*;
        let c = op.c;
        let dead = c == SINK;
        match op.kind {
            Nop | Trapb | Excb | Fetch | FetchM | Ecb | Wh64 | Wh64en => {}
            Lda | Ldah => {
                if dead {
                } else if op.b == 31 {
                    self.set_const(c, op.simm());
                } else {
                    let b = self.get(op.b);
                    if let Some(h) = self.def(c) {
                        self.a.lea(h, mem(b, op.imm as i32));
                    }
                }
            }
            Lds => {
                self.ea(op, false);
                self.tlb(0, 4, k);
                self.a.load32_sx(RDX, Self::host());
                self.call_helper(self.out.lds_helper, Some(RDX), 0);
                self.a.store64(freg(c), RAX);
            }
            Itof | FpOp => self.fp_operate(op, k),
            Ldbu | Ldwu | Ldl | Ldq | LdqU | Ldt => {
                let w = match op.kind {
                    Ldbu => 1,
                    Ldwu => 2,
                    Ldl => 4,
                    _ => 8,
                };
                self.ea(op, op.kind == LdqU);
                self.tlb(0, w, k);
                let dst = if op.kind == Ldt {
                    RDX
                } else {
                    self.def(c).expect("loads to r31 are no-ops")
                };
                match w {
                    1 => self.a.load8_zx(dst, Self::host()),
                    2 => self.a.load16_zx(dst, Self::host()),
                    4 => self.a.load32_sx(dst, Self::host()),
                    _ => self.a.load64(dst, Self::host()),
                }
                if op.kind == Ldt {
                    self.a.store64(freg(c), RDX);
                }
            }
            Stb | Stw | Stl | Stq | StqU | Stt => {
                if self.out.multi {
                    self.a.mov_imm(RDX, self.out.held as u64);
                    self.a.load64(RDX, mem(RDX, 0));
                    self.a.mov_imm(RAX, self.out.others);
                    self.a.test(RDX, RAX);
                    self.leave_for_interp(Some(Cc::Ne), k);
                }
                let w = match op.kind {
                    Stb => 1,
                    Stw => 2,
                    Stl => 4,
                    _ => 8,
                };
                let v = if op.kind == Stt {
                    None
                } else {
                    Some(self.val(op.a))
                };
                self.ea(op, op.kind == StqU);
                self.tlb(WRITE_TLB_OFFSET, w, k);
                let src = match v {
                    None => {
                        self.a.load64(RDX, freg(op.a));
                        RDX
                    }
                    Some(Val::Reg(r)) => r,
                    Some(Val::Imm(x)) => {
                        self.a.mov_imm(RDX, x);
                        RDX
                    }
                };
                match w {
                    1 => self.a.store8(Self::host(), src),
                    2 => self.a.store16(Self::host(), src),
                    4 => self.a.store32(Self::host(), src),
                    _ => self.a.store64(Self::host(), src),
                }
            }

            Addq | Subq | And | Bis | Xor | Addl | Subl | S4addq | S8addq | S4subq | S8subq
            | S4addl | S8addl | S4subl | S8subl => {
                if dead {
                    return true;
                }
                let a = self.val(op.a);
                let b = self.val_b(op);
                if op.kind == Bis && a == Val::Imm(0) {
                    // mov / clr
                    match b {
                        Val::Imm(x) => self.set_const(c, x),
                        Val::Reg(r) => self.set(c, r),
                    }
                    return true;
                }
                let (alu, sh) = match op.kind {
                    Addq | Addl => (Alu::Add, 0),
                    Subq | Subl => (Alu::Sub, 0),
                    And => (Alu::And, 0),
                    Bis => (Alu::Or, 0),
                    Xor => (Alu::Xor, 0),
                    S4addq | S4addl => (Alu::Add, 2),
                    S8addq | S8addl => (Alu::Add, 3),
                    S4subq | S4subl => (Alu::Sub, 2),
                    _ => (Alu::Sub, 3),
                };
                let sext = matches!(op.kind, Addl | Subl | S4addl | S8addl | S4subl | S8subl);
                let Some(ch) = self.def(c) else {
                    return true;
                };
                // Additions into another register are one `lea`.
                if alu == Alu::Add && (sh != 0 || a != Val::Reg(ch)) {
                    let m = match (a, b) {
                        (Val::Reg(ra), Val::Reg(rb)) => Some(mem_idx(rb, ra, sh, 0)),
                        (Val::Reg(ra), Val::Imm(v)) if sh == 0 => Some(mem(ra, v as i32)),
                        _ => None,
                    };
                    if let Some(m) = m {
                        self.a.lea(ch, m);
                        if sext {
                            self.a.movsxd(ch, ch);
                        }
                        return true;
                    }
                }
                // Compute in c's register when that does not clobber b first.
                let dst = if sh == 0 && (a == Val::Reg(ch) || b != Val::Reg(ch)) {
                    ch
                } else {
                    RAX
                };
                self.mov_val(dst, a);
                if sh != 0 {
                    self.a.shift_imm(Shift::Shl, dst, sh);
                }
                self.alu_val(alu, dst, b);
                if sext {
                    self.a.movsxd(dst, dst);
                }
                if dst != ch {
                    self.a.mov(ch, dst);
                }
            }
            Bic | Ornot | Eqv => {
                if dead {
                    return true;
                }
                let a = self.val(op.a);
                let b = self.val_b(op);
                self.mov_val(RAX, a);
                self.mov_val(RCX, b);
                self.a.not(RCX);
                let alu = match op.kind {
                    Bic => Alu::And,
                    Ornot => Alu::Or,
                    _ => Alu::Xor,
                };
                self.a.alu(alu, RAX, RCX);
                self.set(c, RAX);
            }
            AddlV | SublV | AddqV | SubqV => {
                self.ab(op);
                let alu = if matches!(op.kind, AddlV | AddqV) {
                    Alu::Add
                } else {
                    Alu::Sub
                };
                if matches!(op.kind, AddlV | SublV) {
                    self.a.alu32(alu, RAX, RCX);
                    self.leave_for_interp(Some(Cc::O), k);
                    self.a.movsxd(RAX, RAX);
                } else {
                    self.a.alu(alu, RAX, RCX);
                    self.leave_for_interp(Some(Cc::O), k);
                }
                self.set(c, RAX);
            }
            Cmpeq | Cmplt | Cmple | Cmpult | Cmpule => {
                if dead {
                    return true;
                }
                let a = self.val(op.a);
                let b = self.val_b(op);
                let ra = match a {
                    Val::Reg(r) => r,
                    Val::Imm(_) => {
                        self.a.mov_imm(RAX, 0);
                        RAX
                    }
                };
                self.a.mov_imm(RDX, 0);
                self.alu_val(Alu::Cmp, ra, b);
                let cc = match op.kind {
                    Cmpeq => Cc::E,
                    Cmplt => Cc::L,
                    Cmple => Cc::Le,
                    Cmpult => Cc::B,
                    _ => Cc::Be,
                };
                self.a.setcc(cc, RDX);
                self.set(c, RDX);
                // The flags still say c != 0 under `cc` (moves keep them).
                self.flags = Some((c, cc));
            }
            Cmpbge => {
                if dead {
                    return true;
                }
                self.ab(op);
                self.a.movq_to_x(X(0), RAX);
                self.a.movq_to_x(X(1), RCX);
                self.a.movdqa(X(2), X(0));
                self.a.pmaxub(X(2), X(1));
                self.a.pcmpeqb(X(2), X(0));
                self.a.pmovmskb(RAX, X(2));
                self.a.movzx8(RAX, RAX);
                self.set(c, RAX);
            }
            Mulq | Mull => {
                if dead {
                    return true;
                }
                let a = self.val(op.a);
                let b = self.val_b(op);
                let Some(ch) = self.def(c) else {
                    return true;
                };
                let rb = match b {
                    Val::Reg(r) if r != ch || a == Val::Reg(ch) => r,
                    _ => {
                        self.mov_val(RCX, b);
                        RCX
                    }
                };
                self.mov_val(ch, a);
                self.a.imul(ch, rb);
                if op.kind == Mull {
                    self.a.movsxd(ch, ch);
                }
            }
            MulqV | MullV => {
                self.ab(op);
                if op.kind == MullV {
                    self.a.imul32(RAX, RCX);
                    self.leave_for_interp(Some(Cc::O), k);
                    self.a.movsxd(RAX, RAX);
                } else {
                    self.a.imul(RAX, RCX);
                    self.leave_for_interp(Some(Cc::O), k);
                }
                self.set(c, RAX);
            }
            Umulh => {
                if dead {
                    return true;
                }
                self.ab(op);
                self.a.mul(RCX);
                self.set(c, RDX);
            }
            Cmoveq | Cmovne | Cmovlt | Cmovge | Cmovle | Cmovgt | Cmovlbs | Cmovlbc => {
                if dead {
                    return true;
                }
                let a = self.val(op.a);
                let b = self.val_b(op);
                let Some(dst) = self.upd(c) else {
                    return true;
                };
                self.mov_val(RAX, a);
                self.mov_val(RCX, b);
                let cc = match op.kind {
                    Cmovlbs | Cmovlbc => {
                        self.a.test32_imm(RAX, 1);
                        if op.kind == Cmovlbs {
                            Cc::Ne
                        } else {
                            Cc::E
                        }
                    }
                    _ => {
                        self.a.test(RAX, RAX);
                        match op.kind {
                            Cmoveq => Cc::E,
                            Cmovne => Cc::Ne,
                            Cmovlt => Cc::S,
                            Cmovge => Cc::Ns,
                            Cmovle => Cc::Le,
                            _ => Cc::G,
                        }
                    }
                };
                self.a.cmov(cc, dst, RCX);
            }
            Sll | Srl | Sra => {
                if dead {
                    return true;
                }
                let sh = match op.kind {
                    Sll => Shift::Shl,
                    Srl => Shift::Shr,
                    _ => Shift::Sar,
                };
                let a = self.val(op.a);
                let b = self.val_b(op);
                if let Val::Reg(r) = b {
                    self.a.mov(RCX, r);
                }
                let Some(ch) = self.def(c) else {
                    return true;
                };
                self.mov_val(ch, a);
                match b {
                    Val::Imm(v) => {
                        if v & 63 != 0 {
                            self.a.shift_imm(sh, ch, (v & 63) as u8)
                        }
                    }
                    Val::Reg(_) => self.a.shift_cl(sh, ch),
                }
            }
            Zapnot | Zap => {
                if dead {
                    return true;
                }
                let a = self.val(op.a);
                let b = self.val_b(op);
                if let Val::Reg(r) = b {
                    self.a.movzx8(RCX, r);
                    if op.kind == Zap {
                        self.a.alu32_imm(Alu::Xor, RCX, 0xff);
                    }
                }
                let Some(w) = self.def(c) else {
                    return true;
                };
                self.mov_val(w, a);
                match b {
                    Val::Imm(v) => {
                        let k = if op.kind == Zapnot {
                            zapnot(u64::MAX, v)
                        } else {
                            zap(u64::MAX, v)
                        };
                        self.and_const(w, k, RDX);
                    }
                    Val::Reg(_) => {
                        self.a.mov_imm(RDX, BYTE_MASKS.as_ptr() as u64);
                        self.a.alu_m(Alu::And, w, mem_idx(RDX, RCX, 3, 0));
                    }
                }
            }
            Extbl | Extwl | Extll | Extql | Extwh | Extlh | Extqh | Insbl | Inswl | Insll
            | Insql | Inswh | Inslh | Insqh | Mskbl | Mskwl | Mskll | Mskql | Mskwh | Msklh
            | Mskqh => {
                if dead {
                    return true;
                }
                self.byte_op(op);
            }
            Sextb | Sextw => {
                if dead {
                    return true;
                }
                match self.val_b(op) {
                    Val::Imm(v) => {
                        let x = if op.kind == Sextb {
                            v as i8 as i64 as u64
                        } else {
                            v as i16 as i64 as u64
                        };
                        self.set_const(c, x);
                    }
                    Val::Reg(r) => {
                        if op.kind == Sextb {
                            self.a.movsx8(RAX, r);
                        } else {
                            self.a.movsx16(RAX, r);
                        }
                        self.set(c, RAX);
                    }
                }
            }
            Ctpop | Ctlz | Cttz if self.out.bitcount => {
                if dead {
                    return true;
                }
                let b = self.val_b(op);
                self.mov_val(RCX, b);
                let opc = match op.kind {
                    Ctpop => 0xb8,
                    Ctlz => 0xbd,
                    _ => 0xbc,
                };
                self.a.bitcount(opc, RAX, RCX);
                self.set(c, RAX);
            }
            Amask => match self.val_b(op) {
                Val::Imm(v) => self.set_const(c, v & !AMASK_IMPLEMENTED),
                Val::Reg(r) => {
                    self.a.mov(RAX, r);
                    self.a.alu_imm(Alu::And, RAX, !AMASK_IMPLEMENTED as i32);
                    self.set(c, RAX);
                }
            },
            Implver => self.set_const(c, IMPLVER),
            Ftoit => {
                if dead {
                    return true;
                }
                self.a.load64(RAX, freg(op.a));
                self.set(c, RAX);
            }
            Mb | Wmb => self.a.mfence(),
            Rc | Rs => {
                self.a.load64(RAX, mem(RBX, STATE_INTR));
                self.a
                    .store_imm(mem(RBX, STATE_INTR), (op.kind == Rs) as i32);
                self.set(c, RAX);
            }
            CallPal if op.imm == 0x9e => {
                self.a.load64(RAX, mem(RBX, STATE_UNIQUE));
                self.set(0, RAX);
            }
            CallPal if op.imm == 0x9f => {
                let v = self.val(16);
                self.mov_val(RAX, v);
                self.a.store64(mem(RBX, STATE_UNIQUE), RAX);
            }
            _ => return false,
        }
        true
    }

    /// EXT / INS / MSK.
    pub(super) fn byte_op(&mut self, op: &Op) {
        use Kind::*;
        let width = match op.kind {
            Extbl | Insbl | Mskbl => 0x01u64,
            Extwl | Extwh | Inswl | Inswh | Mskwl | Mskwh => 0x03,
            Extll | Extlh | Insll | Inslh | Mskll | Msklh => 0x0f,
            _ => 0xff,
        };
        let m = BYTE_MASKS[width as usize];
        let c = op.c;
        let a = self.val(op.a);
        let b = self.val_b(op);
        if let Val::Reg(r) = b {
            // ecx = 8 * (b & 7), before c's register may be overwritten.
            self.a.mov32(RCX, r);
            self.a.alu32_imm(Alu::And, RCX, 7);
            self.a.shift_imm(Shift::Shl, RCX, 3);
        }
        let Some(w) = self.def(c) else {
            return;
        };
        self.mov_val(w, a);
        match b {
            Val::Imm(v) => {
                let byte = (v & 7) as u8;
                match op.kind {
                    Extbl | Extwl | Extll | Extql => {
                        if byte != 0 {
                            self.a.shift_imm(Shift::Shr, w, byte * 8);
                        }
                        self.and_const(w, m, RDX);
                    }
                    Extwh | Extlh | Extqh => {
                        let sh = (64 - byte * 8) & 63;
                        if sh != 0 {
                            self.a.shift_imm(Shift::Shl, w, sh);
                        }
                        self.and_const(w, m, RDX);
                    }
                    Insbl | Inswl | Insll | Insql => {
                        self.and_const(w, m, RDX);
                        if byte != 0 {
                            self.a.shift_imm(Shift::Shl, w, byte * 8);
                        }
                    }
                    Inswh | Inslh | Insqh => {
                        if byte == 0 {
                            self.a.mov_imm(w, 0);
                            return;
                        }
                        self.and_const(w, m, RDX);
                        self.a.shift_imm(Shift::Shr, w, 64 - byte * 8);
                    }
                    Mskwh | Msklh | Mskqh => {
                        self.and_const(w, msk_high(u64::MAX, v, width), RDX);
                    }
                    _ => self.and_const(w, msk_low(u64::MAX, v, width), RDX),
                }
            }
            Val::Reg(_) => match op.kind {
                Extbl | Extwl | Extll | Extql => {
                    self.a.shift_cl(Shift::Shr, w);
                    self.and_const(w, m, RDX);
                }
                Extwh | Extlh | Extqh => {
                    self.a.neg32(RCX);
                    self.a.shift_cl(Shift::Shl, w);
                    self.and_const(w, m, RDX);
                }
                Insbl | Inswl | Insll | Insql => {
                    self.and_const(w, m, RDX);
                    self.a.shift_cl(Shift::Shl, w);
                }
                Inswh | Inslh | Insqh => {
                    self.a.neg32(RCX);
                    self.and_const(w, m, RDX);
                    self.a.shift_cl(Shift::Shr, w);
                    self.a.mov_imm(RDX, 0);
                    self.a.test(RCX, RCX);
                    self.a.cmov(Cc::E, w, RDX);
                }
                Mskwh | Msklh | Mskqh => {
                    self.a.neg32(RCX);
                    self.a.mov_imm(RDX, m);
                    self.a.shift_cl(Shift::Shr, RDX);
                    self.a.mov_imm(RAX, 0);
                    self.a.test(RCX, RCX);
                    self.a.cmov(Cc::E, RDX, RAX);
                    self.a.not(RDX);
                    self.a.alu(Alu::And, w, RDX);
                }
                _ => {
                    self.a.mov_imm(RDX, m);
                    self.a.shift_cl(Shift::Shl, RDX);
                    self.a.not(RDX);
                    self.a.alu(Alu::And, w, RDX);
                }
            },
        }
    }
}
