//! Block → x86-64 machine code.
//!
//! Register plan while compiled code runs:
//!
//! | host | holds |
//! |---|---|
//! | rbx | `&State` (guest `r[i]` at `8 i`, `f[i]` at `STATE_F + 8 i`) |
//! | rbp | `&Env` (budget, exit pc, patch site) |
//! | r12 | the indirect-jump table |
//! | r13, r14 | the read and write TLBs |
//! | r15 | instructions left in this entry's budget |
//!
//! Guest registers live in `State` (no caching across instructions), so
//! every instruction boundary is a precise state. A block starts by taking
//! its whole length off r15 (leaving for the dispatcher when that would go
//! below zero); whatever compiled code cannot finish on its own — a TLB
//! miss, a store into code, an overflow trap, a system call, an FP or other
//! rare instruction — leaves for the dispatcher *before* the instruction,
//! giving back the instructions not run, and the interpreter executes that
//! one instruction. Compiled code never calls out and never traps.

use super::x86::*;
use super::{Env, EXIT_BUDGET, EXIT_INTERP, EXIT_LOOKUP, ITAB_BITS};
use crate::block::Block;
use crate::decode::{Kind, Op, SINK};
use crate::interp::alu::{msk_high, msk_low, zap, zapnot, BYTE_MASKS};
use crate::interp::{AMASK_IMPLEMENTED, IMPLVER, STATE_F, STATE_INTR, STATE_UNIQUE};
use crate::mmu::{PAGE_MASK, PAGE_SHIFT, TLB_ADDEND, TLB_ENTRY_SHIFT, TLB_SIZE};

const ENV_PC: i32 = std::mem::offset_of!(Env, exit_pc) as i32;
const ENV_PATCH: i32 = std::mem::offset_of!(Env, patch) as i32;

/// What the compiler needs to know about its surroundings.
pub(crate) struct Outside<'a> {
    /// Address of the shared exit sequence (expects the exit code in eax).
    pub exit: usize,
    /// Address of the indirect-jump miss sequence (expects the target in rdx).
    pub miss: usize,
    /// Other CPUs exist: stores must snoop reservations (left to the interpreter).
    pub multi: bool,
    /// The host has `popcnt`, `lzcnt` and `tzcnt`.
    pub bitcount: bool,
    /// Entry address of the compiled block at a guest address, if any.
    pub resolve: &'a dyn Fn(u64) -> Option<usize>,
}

/// Where the compiled block's pieces are, as offsets in the assembler buffer.
pub(crate) struct Compiled {
    /// The stub that leaves for the dispatcher to look the block up afresh
    /// (a killed block's entry is patched to jump here).
    pub dead_stub: usize,
}

fn greg(r: u8) -> Mem {
    mem(RBX, r as i32 * 8)
}

fn freg(r: u8) -> Mem {
    mem(RBX, STATE_F + r as i32 * 8)
}

/// The second operand of an operate instruction.
#[derive(Clone, Copy)]
enum Src {
    Imm(u64),
    Reg(u8),
}

fn src_b(op: &Op) -> Src {
    if op.b == 31 {
        Src::Imm(op.imm as u64)
    } else {
        Src::Reg(op.b)
    }
}

struct Cx<'a, 'b> {
    a: &'a mut Asm,
    blk: &'a Block,
    out: &'a Outside<'b>,
    /// (rel32 field, instruction index) of jumps to the interpreter exit.
    interp: Vec<(usize, u32)>,
    /// (rel32 field, guest target) of links to other blocks.
    links: Vec<(usize, u64)>,
}

impl Cx<'_, '_> {
    fn load(&mut self, dst: R, r: u8) {
        if r == 31 {
            self.a.mov_imm(dst, 0);
        } else {
            self.a.load64(dst, greg(r));
        }
    }

    fn load_src(&mut self, dst: R, s: Src) {
        match s {
            Src::Imm(v) => self.a.mov_imm(dst, v),
            Src::Reg(r) => self.load(dst, r),
        }
    }

    fn store(&mut self, c: u8, src: R) {
        if c != SINK {
            self.a.store64(greg(c), src);
        }
    }

    fn store_const(&mut self, c: u8, v: u64) {
        if c == SINK {
            return;
        }
        if v as i64 == v as i32 as i64 {
            self.a.store_imm(greg(c), v as i32);
        } else {
            self.a.mov_imm(RAX, v);
            self.a.store64(greg(c), RAX);
        }
    }

    /// `dst &= k` with the shortest sequence (`scratch` may be clobbered).
    fn and_const(&mut self, dst: R, k: u64, scratch: R) {
        match k {
            u64::MAX => {}
            0xff => self.a.movzx8(dst, dst),
            0xffff => self.a.movzx16(dst, dst),
            0xffff_ffff => self.a.mov32(dst, dst),
            _ if k as i64 == k as i32 as i64 => self.a.alu_imm(Alu::And, dst, k as i32),
            _ => {
                self.a.mov_imm(scratch, k);
                self.a.alu(Alu::And, dst, scratch);
            }
        }
    }

    /// `rax op= b`.
    fn alu_src(&mut self, op: Alu, s: Src) {
        match s {
            Src::Imm(v) => self.a.alu_imm(op, RAX, v as i32),
            Src::Reg(31) => self.a.alu_imm(op, RAX, 0),
            Src::Reg(r) => self.a.alu_m(op, RAX, greg(r)),
        }
    }

    /// A jump to the interpreter exit for instruction `k`.
    fn leave_for_interp(&mut self, cc: Option<Cc>, k: u32) {
        let f = match cc {
            Some(cc) => self.a.jcc(cc),
            None => self.a.jmp(),
        };
        self.interp.push((f, k));
    }

    /// A link (jump) to the block at `target`.
    fn link(&mut self, cc: Option<Cc>, target: u64) {
        let f = match cc {
            Some(cc) => self.a.jcc(cc),
            None => self.a.jmp(),
        };
        if target == self.blk.va {
            self.a.bind(f, 0);
        } else if let Some(addr) = (self.out.resolve)(target) {
            self.a.bind_abs(f, addr);
        } else {
            self.links.push((f, target));
        }
    }

    /// rsi = effective address of memory op `op`.
    fn ea(&mut self, op: &Op, align8: bool) {
        self.load(RSI, op.b);
        let d = op.simm() as i64;
        if d != 0 {
            self.a.alu_imm(Alu::Add, RSI, d as i32);
        }
        if align8 {
            self.a.alu_imm(Alu::And, RSI, -8);
        }
    }

    /// Looks rsi up in the TLB at `tlb` for a `w`-byte access; on a hit rax
    /// holds the addend (host = rax + rsi), on a miss control goes to the
    /// interpreter for instruction `k`.
    fn tlb(&mut self, tlb: R, w: u64, k: u32) {
        self.a.mov32(RAX, RSI);
        self.a.shift_imm(Shift::Shr, RAX, PAGE_SHIFT as u8);
        self.a.alu32_imm(Alu::And, RAX, TLB_SIZE as i32 - 1);
        self.a.shift_imm(Shift::Shl, RAX, TLB_ENTRY_SHIFT as u8);
        self.a.mov(RDX, RSI);
        self.a
            .alu_imm(Alu::And, RDX, (!PAGE_MASK | (w - 1)) as i64 as i32);
        self.a.alu_m(Alu::Cmp, RDX, mem_idx(tlb, RAX, 0, 0));
        self.leave_for_interp(Some(Cc::Ne), k);
        self.a.load64(RAX, mem_idx(tlb, RAX, 0, TLB_ADDEND));
    }

    fn host() -> Mem {
        mem_idx(RAX, RSI, 0, 0)
    }

    /// rax = a; rcx = b.
    fn ab(&mut self, op: &Op) {
        self.load(RAX, op.a);
        self.load_src(RCX, src_b(op));
    }

    /// Integer body op; `false` when compiled code cannot do it.
    fn body_op(&mut self, op: &Op, k: u32) -> bool {
        use Kind::*;
        let c = op.c;
        let b = src_b(op);
        match op.kind {
            Nop | Trapb | Excb | Fetch | FetchM | Ecb | Wh64 | Wh64en => {}
            Lda | Ldah => {
                if c == SINK {
                } else if op.b == 31 {
                    self.store_const(c, op.simm());
                } else {
                    self.a.load64(RAX, greg(op.b));
                    if op.imm != 0 {
                        self.a.alu_imm(Alu::Add, RAX, op.imm as i32);
                    }
                    self.store(c, RAX);
                }
            }
            Ldbu | Ldwu | Ldl | Ldq | LdqU | Ldt => {
                let w = match op.kind {
                    Ldbu => 1,
                    Ldwu => 2,
                    Ldl => 4,
                    _ => 8,
                };
                self.ea(op, op.kind == LdqU);
                self.tlb(R13, w, k);
                match w {
                    1 => self.a.load8_zx(RDX, Self::host()),
                    2 => self.a.load16_zx(RDX, Self::host()),
                    4 => self.a.load32_sx(RDX, Self::host()),
                    _ => self.a.load64(RDX, Self::host()),
                }
                if op.kind == Ldt {
                    self.a.store64(freg(c), RDX);
                } else {
                    self.store(c, RDX);
                }
            }
            Stb | Stw | Stl | Stq | StqU | Stt => {
                if self.out.multi {
                    return false;
                }
                let w = match op.kind {
                    Stb => 1,
                    Stw => 2,
                    Stl => 4,
                    _ => 8,
                };
                self.ea(op, op.kind == StqU);
                self.tlb(R14, w, k);
                if op.kind == Stt {
                    self.a.load64(RCX, freg(op.a));
                } else {
                    self.load(RCX, op.a);
                }
                match w {
                    1 => self.a.store8(Self::host(), RCX),
                    2 => self.a.store16(Self::host(), RCX),
                    4 => self.a.store32(Self::host(), RCX),
                    _ => self.a.store64(Self::host(), RCX),
                }
            }

            Addq | Subq | And | Bis | Xor | Addl | Subl => {
                if c == SINK {
                    return true;
                }
                let alu = match op.kind {
                    Addq | Addl => Alu::Add,
                    Subq | Subl => Alu::Sub,
                    And => Alu::And,
                    Bis => Alu::Or,
                    _ => Alu::Xor,
                };
                if op.kind == Bis && op.a == 31 {
                    // mov / clr
                    match b {
                        Src::Imm(v) => self.store_const(c, v),
                        Src::Reg(r) => {
                            self.load(RAX, r);
                            self.store(c, RAX);
                        }
                    }
                    return true;
                }
                self.load(RAX, op.a);
                self.alu_src(alu, b);
                if matches!(op.kind, Addl | Subl) {
                    self.a.movsxd(RAX, RAX);
                }
                self.store(c, RAX);
            }
            S4addq | S8addq | S4subq | S8subq | S4addl | S8addl | S4subl | S8subl => {
                if c == SINK {
                    return true;
                }
                self.load(RAX, op.a);
                let sh = if matches!(op.kind, S4addq | S4subq | S4addl | S4subl) {
                    2
                } else {
                    3
                };
                self.a.shift_imm(Shift::Shl, RAX, sh);
                let sub = matches!(op.kind, S4subq | S8subq | S4subl | S8subl);
                self.alu_src(if sub { Alu::Sub } else { Alu::Add }, b);
                if matches!(op.kind, S4addl | S8addl | S4subl | S8subl) {
                    self.a.movsxd(RAX, RAX);
                }
                self.store(c, RAX);
            }
            Bic | Ornot | Eqv => {
                if c == SINK {
                    return true;
                }
                self.load(RAX, op.a);
                self.load_src(RCX, b);
                self.a.not(RCX);
                let alu = match op.kind {
                    Bic => Alu::And,
                    Ornot => Alu::Or,
                    _ => Alu::Xor,
                };
                self.a.alu(alu, RAX, RCX);
                self.store(c, RAX);
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
                self.store(c, RAX);
            }
            Cmpeq | Cmplt | Cmple | Cmpult | Cmpule => {
                if c == SINK {
                    return true;
                }
                self.load(RAX, op.a);
                self.a.mov_imm(RDX, 0);
                self.alu_src(Alu::Cmp, b);
                let cc = match op.kind {
                    Cmpeq => Cc::E,
                    Cmplt => Cc::L,
                    Cmple => Cc::Le,
                    Cmpult => Cc::B,
                    _ => Cc::Be,
                };
                self.a.setcc(cc, RDX);
                self.store(c, RDX);
            }
            Cmpbge => {
                if c == SINK {
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
                self.store(c, RAX);
            }
            Mulq | Mull => {
                if c == SINK {
                    return true;
                }
                self.ab(op);
                self.a.imul(RAX, RCX);
                if op.kind == Mull {
                    self.a.movsxd(RAX, RAX);
                }
                self.store(c, RAX);
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
                self.store(c, RAX);
            }
            Umulh => {
                if c == SINK {
                    return true;
                }
                self.ab(op);
                self.a.mul(RCX);
                self.store(c, RDX);
            }
            Cmoveq | Cmovne | Cmovlt | Cmovge | Cmovle | Cmovgt | Cmovlbs | Cmovlbc => {
                if c == SINK {
                    return true;
                }
                self.load(RAX, op.a);
                // Skip the move when the condition is false.
                let skip = match op.kind {
                    Cmovlbs | Cmovlbc => {
                        self.a.test32_imm(RAX, 1);
                        if op.kind == Cmovlbs {
                            Cc::E
                        } else {
                            Cc::Ne
                        }
                    }
                    _ => {
                        self.a.test(RAX, RAX);
                        match op.kind {
                            Cmoveq => Cc::Ne,
                            Cmovne => Cc::E,
                            Cmovlt => Cc::Ns,
                            Cmovge => Cc::S,
                            Cmovle => Cc::G,
                            _ => Cc::Le,
                        }
                    }
                };
                let f = self.a.jcc(skip);
                self.load_src(RCX, b);
                self.store(c, RCX);
                let here = self.a.pos();
                self.a.bind(f, here);
            }
            Sll | Srl | Sra => {
                if c == SINK {
                    return true;
                }
                let sh = match op.kind {
                    Sll => Shift::Shl,
                    Srl => Shift::Shr,
                    _ => Shift::Sar,
                };
                self.load(RAX, op.a);
                match b {
                    Src::Imm(v) => {
                        if v & 63 != 0 {
                            self.a.shift_imm(sh, RAX, (v & 63) as u8)
                        }
                    }
                    Src::Reg(r) => {
                        self.load(RCX, r);
                        self.a.shift_cl(sh, RAX);
                    }
                }
                self.store(c, RAX);
            }
            Zapnot | Zap => {
                if c == SINK {
                    return true;
                }
                self.load(RAX, op.a);
                match b {
                    Src::Imm(v) => {
                        let k = if op.kind == Zapnot {
                            zapnot(u64::MAX, v)
                        } else {
                            zap(u64::MAX, v)
                        };
                        self.and_const(RAX, k, RDI);
                    }
                    Src::Reg(r) => {
                        if r == 31 {
                            self.a.mov_imm(RCX, 0);
                        } else {
                            self.a.load8_zx(RCX, greg(r));
                        }
                        if op.kind == Zap {
                            self.a.alu32_imm(Alu::Xor, RCX, 0xff);
                        }
                        self.a.mov_imm(RDX, BYTE_MASKS.as_ptr() as u64);
                        self.a.alu_m(Alu::And, RAX, mem_idx(RDX, RCX, 3, 0));
                    }
                }
                self.store(c, RAX);
            }
            Extbl | Extwl | Extll | Extql | Extwh | Extlh | Extqh | Insbl | Inswl | Insll
            | Insql | Inswh | Inslh | Insqh | Mskbl | Mskwl | Mskll | Mskql | Mskwh | Msklh
            | Mskqh => {
                if c == SINK {
                    return true;
                }
                self.byte_op(op, b);
            }
            Sextb | Sextw => {
                if c == SINK {
                    return true;
                }
                match b {
                    Src::Imm(v) => {
                        let x = if op.kind == Sextb {
                            v as i8 as i64 as u64
                        } else {
                            v as i16 as i64 as u64
                        };
                        self.store_const(c, x);
                    }
                    Src::Reg(r) => {
                        self.load(RAX, r);
                        if op.kind == Sextb {
                            self.a.movsx8(RAX, RAX);
                        } else {
                            self.a.movsx16(RAX, RAX);
                        }
                        self.store(c, RAX);
                    }
                }
            }
            Ctpop | Ctlz | Cttz if self.out.bitcount => {
                if c == SINK {
                    return true;
                }
                self.load_src(RCX, b);
                let opc = match op.kind {
                    Ctpop => 0xb8,
                    Ctlz => 0xbd,
                    _ => 0xbc,
                };
                self.a.bitcount(opc, RAX, RCX);
                self.store(c, RAX);
            }
            Amask => match b {
                Src::Imm(v) => self.store_const(c, v & !AMASK_IMPLEMENTED),
                Src::Reg(r) => {
                    self.load(RAX, r);
                    self.a.alu_imm(Alu::And, RAX, !AMASK_IMPLEMENTED as i32);
                    self.store(c, RAX);
                }
            },
            Implver => self.store_const(c, IMPLVER),
            Ftoit => {
                if c == SINK {
                    return true;
                }
                self.a.load64(RAX, freg(op.a));
                self.store(c, RAX);
            }
            Mb | Wmb => self.a.mfence(),
            Rc | Rs => {
                self.a.load64(RAX, mem(RBX, STATE_INTR));
                self.store(c, RAX);
                self.a
                    .store_imm(mem(RBX, STATE_INTR), (op.kind == Rs) as i32);
            }
            CallPal if op.imm == 0x9e => {
                self.a.load64(RAX, mem(RBX, STATE_UNIQUE));
                self.a.store64(greg(0), RAX);
            }
            CallPal if op.imm == 0x9f => {
                self.a.load64(RAX, greg(16));
                self.a.store64(mem(RBX, STATE_UNIQUE), RAX);
            }
            _ => return false,
        }
        true
    }

    /// EXT / INS / MSK: rax = a, result stored to c.
    fn byte_op(&mut self, op: &Op, b: Src) {
        use Kind::*;
        let width = match op.kind {
            Extbl | Insbl | Mskbl => 0x01u64,
            Extwl | Extwh | Inswl | Inswh | Mskwl | Mskwh => 0x03,
            Extll | Extlh | Insll | Inslh | Mskll | Msklh => 0x0f,
            _ => 0xff,
        };
        let m = BYTE_MASKS[width as usize];
        let c = op.c;
        self.load(RAX, op.a);
        match b {
            Src::Imm(v) => {
                let byte = (v & 7) as u8;
                match op.kind {
                    Extbl | Extwl | Extll | Extql => {
                        if byte != 0 {
                            self.a.shift_imm(Shift::Shr, RAX, byte * 8);
                        }
                        self.and_const(RAX, m, RDI);
                    }
                    Extwh | Extlh | Extqh => {
                        let sh = (64 - byte * 8) & 63;
                        if sh != 0 {
                            self.a.shift_imm(Shift::Shl, RAX, sh);
                        }
                        self.and_const(RAX, m, RDI);
                    }
                    Insbl | Inswl | Insll | Insql => {
                        self.and_const(RAX, m, RDI);
                        if byte != 0 {
                            self.a.shift_imm(Shift::Shl, RAX, byte * 8);
                        }
                    }
                    Inswh | Inslh | Insqh => {
                        if byte == 0 {
                            self.store_const(c, 0);
                            return;
                        }
                        self.and_const(RAX, m, RDI);
                        self.a.shift_imm(Shift::Shr, RAX, 64 - byte * 8);
                    }
                    Mskwh | Msklh | Mskqh => {
                        self.and_const(RAX, msk_high(u64::MAX, v, width), RDI);
                    }
                    _ => self.and_const(RAX, msk_low(u64::MAX, v, width), RDI),
                }
            }
            Src::Reg(r) => {
                // ecx = 8 * (b & 7)
                self.load(RCX, r);
                self.a.alu32_imm(Alu::And, RCX, 7);
                self.a.shift_imm(Shift::Shl, RCX, 3);
                match op.kind {
                    Extbl | Extwl | Extll | Extql => {
                        self.a.shift_cl(Shift::Shr, RAX);
                        self.and_const(RAX, m, RDI);
                    }
                    Extwh | Extlh | Extqh => {
                        self.a.neg32(RCX);
                        self.a.shift_cl(Shift::Shl, RAX);
                        self.and_const(RAX, m, RDI);
                    }
                    Insbl | Inswl | Insll | Insql => {
                        self.and_const(RAX, m, RDI);
                        self.a.shift_cl(Shift::Shl, RAX);
                    }
                    Inswh | Inslh | Insqh => {
                        self.a.neg32(RCX);
                        self.and_const(RAX, m, RDI);
                        self.a.shift_cl(Shift::Shr, RAX);
                        self.a.mov_imm(RDX, 0);
                        self.a.test(RCX, RCX);
                        self.a.cmov(Cc::E, RAX, RDX);
                    }
                    Mskwh | Msklh | Mskqh => {
                        self.a.neg32(RCX);
                        self.a.mov_imm(RDX, m);
                        self.a.shift_cl(Shift::Shr, RDX);
                        self.a.mov_imm(RSI, 0);
                        self.a.test(RCX, RCX);
                        self.a.cmov(Cc::E, RDX, RSI);
                        self.a.not(RDX);
                        self.a.alu(Alu::And, RAX, RDX);
                    }
                    _ => {
                        self.a.mov_imm(RDX, m);
                        self.a.shift_cl(Shift::Shl, RDX);
                        self.a.not(RDX);
                        self.a.alu(Alu::And, RAX, RDX);
                    }
                }
            }
        }
        self.store(c, RAX);
    }

    /// The terminator.
    fn term(&mut self) {
        use Kind::*;
        let blk = self.blk;
        let t = blk.term;
        let k = blk.insns - 1;
        let int_cond = |kind: Kind| -> Option<Cc> {
            Some(match kind {
                Beq => Cc::E,
                Bne => Cc::Ne,
                Blt => Cc::S,
                Bge => Cc::Ns,
                Ble => Cc::Le,
                Bgt => Cc::G,
                _ => return None,
            })
        };
        match t.kind {
            PageEnd => self.link(None, blk.next),
            Beq | Bne | Blt | Bge | Ble | Bgt | Blbc | Blbs => {
                self.load(RAX, t.a);
                let cc = match int_cond(t.kind) {
                    Some(cc) => {
                        self.a.test(RAX, RAX);
                        cc
                    }
                    None => {
                        self.a.test32_imm(RAX, 1);
                        if t.kind == Blbs {
                            Cc::Ne
                        } else {
                            Cc::E
                        }
                    }
                };
                self.link(Some(cc), blk.taken);
                self.link(None, blk.next);
            }
            Fbeq | Fbne | Fblt | Fbge | Fble | Fbgt => {
                self.a.load64(RAX, freg(t.a));
                let cc = match t.kind {
                    Fbeq | Fbne => {
                        // ZF from f << 1: ±0 compare equal to zero.
                        self.a.alu(Alu::Add, RAX, RAX);
                        if t.kind == Fbeq {
                            Cc::E
                        } else {
                            Cc::Ne
                        }
                    }
                    Fblt | Fbge => {
                        // f < 0 and not -0: f > 0x8000_0000_0000_0000 unsigned.
                        self.a.mov_imm(RCX, 1 << 63);
                        self.a.alu(Alu::Cmp, RAX, RCX);
                        if t.kind == Fblt {
                            Cc::A
                        } else {
                            Cc::Be
                        }
                    }
                    _ => {
                        // f > 0: 1 <= f <= 0x7fff_ffff_ffff_ffff, i.e. f - 1 < 2^63 - 1.
                        self.a.alu_imm(Alu::Sub, RAX, 1);
                        self.a.mov_imm(RCX, (1 << 63) - 1);
                        self.a.alu(Alu::Cmp, RAX, RCX);
                        if t.kind == Fbgt {
                            Cc::B
                        } else {
                            Cc::Ae
                        }
                    }
                };
                self.link(Some(cc), blk.taken);
                self.link(None, blk.next);
            }
            Br | Bsr => {
                if t.c != SINK {
                    self.a.mov_imm(RAX, blk.next);
                    self.a.store64(greg(t.c), RAX);
                }
                self.link(None, blk.taken);
            }
            Jmp | Jsr | Ret | JsrCoroutine => {
                self.load(RDX, t.b);
                self.a.alu_imm(Alu::And, RDX, -4);
                if t.c != SINK {
                    self.a.mov_imm(RAX, blk.next);
                    self.a.store64(greg(t.c), RAX);
                }
                self.a.mov(RCX, RDX);
                self.a.shift_imm(Shift::Shr, RCX, 2);
                self.a.alu32_imm(Alu::And, RCX, (1 << ITAB_BITS) - 1);
                self.a.shift_imm(Shift::Shl, RCX, 4);
                self.a.alu_m(Alu::Cmp, RDX, mem_idx(R12, RCX, 0, 0));
                let f = self.a.jcc(Cc::Ne);
                self.a.bind_abs(f, self.out.miss);
                self.a.jmp_m(mem_idx(R12, RCX, 0, 8));
            }
            // System calls, rpcc, illegal encodings, ...: the interpreter.
            _ => self.leave_for_interp(None, k),
        }
    }
}

/// Compiles `blk` (with body `body`, instruction positions `pos`) into `a`,
/// whose offset 0 becomes the block's entry.
pub(crate) fn compile(
    a: &mut Asm,
    blk: &Block,
    body: &[Op],
    pos: &[u16],
    out: &Outside<'_>,
) -> Compiled {
    let n = blk.insns as i32;
    let mut cx = Cx {
        a,
        blk,
        out,
        interp: Vec::new(),
        links: Vec::new(),
    };
    // Entry: take the block's length off the budget.
    cx.a.alu_imm(Alu::Sub, R15, n);
    let budget = cx.a.jcc(Cc::B);
    let mut whole = true;
    for (op, &k) in body.iter().zip(pos) {
        if !cx.body_op(op, k as u32) {
            cx.leave_for_interp(None, k as u32);
            whole = false;
            break;
        }
    }
    if whole {
        cx.term();
    }
    // Stubs.
    let interp = std::mem::take(&mut cx.interp);
    let links = std::mem::take(&mut cx.links);
    let a = cx.a;
    let mut done: Vec<(u32, usize)> = Vec::new();
    for (f, k) in interp {
        if let Some(&(_, at)) = done.iter().find(|(kk, _)| *kk == k) {
            a.bind(f, at);
            continue;
        }
        let at = a.pos();
        a.bind(f, at);
        done.push((k, at));
        let refund = n - k as i32;
        a.alu_imm(Alu::Add, R15, refund);
        a.mov_imm(RCX, blk.va + 4 * k as u64);
        a.store64(mem(RBP, ENV_PC), RCX);
        a.mov_imm(RAX, EXIT_INTERP as u64);
        let j = a.jmp();
        a.bind_abs(j, out.exit);
    }
    for (f, target) in links {
        let at = a.pos();
        a.bind(f, at);
        a.mov_imm(RCX, target);
        a.store64(mem(RBP, ENV_PC), RCX);
        let site = a.addr_of(f) as u64;
        a.mov_imm(RCX, site);
        a.store64(mem(RBP, ENV_PATCH), RCX);
        a.mov_imm(RAX, EXIT_LOOKUP as u64);
        let j = a.jmp();
        a.bind_abs(j, out.exit);
    }
    // Not enough budget: give it back and leave before the block.
    let at = a.pos();
    a.bind(budget, at);
    a.alu_imm(Alu::Add, R15, n);
    a.mov_imm(RAX, EXIT_BUDGET as u64);
    let common = a.jmp();
    // A killed block's entry jumps here: look the address up afresh.
    let dead_stub = a.pos();
    a.mov_imm(RAX, EXIT_LOOKUP as u64);
    let at = a.pos();
    a.bind(common, at);
    a.mov_imm(RCX, blk.va);
    a.store64(mem(RBP, ENV_PC), RCX);
    a.store_imm(mem(RBP, ENV_PATCH), 0);
    let j = a.jmp();
    a.bind_abs(j, out.exit);
    Compiled { dead_stub }
}
