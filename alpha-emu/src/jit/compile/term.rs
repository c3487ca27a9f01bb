//! Block terminators: branches (with self-loops kept in registers),
//! jumps through the indirect-jump table, and everything else via the
//! interpreter.

use super::regs::{freg, greg, Val};
use super::{Cx, ENV_ITAB, ENV_PC};
use crate::decode::Kind;
use crate::jit::x86::*;
use crate::jit::{EXIT_SYSCALL, ITAB_BITS};

impl Cx<'_, '_> {
    /// With the flags set by a conditional branch's test: on to the taken
    /// target if `cc`, else to the fall-through (stores keep the flags).
    pub(super) fn branch(&mut self, cc: Cc) {
        let blk = self.blk;
        match self.loop_head {
            Some(head) if blk.taken == blk.va => {
                let dirty = self.dirty();
                let back = self.a.jcc(cc);
                self.flush();
                self.link(None, blk.next);
                let at = self.a.pos();
                self.a.bind(back, at);
                self.back_edge(head, &dirty);
            }
            _ => {
                self.flush();
                self.link(Some(cc), blk.taken);
                self.link(None, blk.next);
            }
        }
    }

    /// The jump back to the top of a self-loop, registers kept: charge the
    /// block's length again, or write `dirty` back and leave for the
    /// dispatcher at the block's start when the budget is short.
    pub(super) fn back_edge(&mut self, head: usize, dirty: &[(u8, R)]) {
        self.a.alu_imm(Alu::Sub, R15, self.blk.insns as i32);
        let f = self.a.jcc(Cc::Ae);
        self.a.bind(f, head);
        for &(g, h) in dirty {
            self.a.store64(greg(g), h);
        }
        let j = self.a.jmp();
        self.budget_jumps.push(j);
    }

    /// The terminator.
    pub(super) fn term(&mut self) {
        use Kind::*;
        let blk = self.blk;
        let t = blk.term;
        let k = blk.insns - 1;
        match t.kind {
            PageEnd => {
                self.flush();
                self.link(None, blk.next);
            }
            Beq | Bne | Blbc | Blbs if self.flags.is_some_and(|(g, _)| g == t.a) => {
                // The value is a compare's 0 / 1, whose flags are still live.
                let (_, cc) = self.flags.expect("checked");
                let taken = if matches!(t.kind, Bne | Blbs) {
                    cc
                } else {
                    cc.not()
                };
                self.branch(taken);
            }
            Beq | Bne | Blt | Bge | Ble | Bgt | Blbc | Blbs => {
                let ra = match self.val(t.a) {
                    Val::Reg(r) => r,
                    Val::Imm(_) => {
                        self.a.mov_imm(RAX, 0);
                        RAX
                    }
                };
                let cc = match t.kind {
                    Blbc | Blbs => {
                        self.a.test32_imm(ra, 1);
                        if t.kind == Blbs {
                            Cc::Ne
                        } else {
                            Cc::E
                        }
                    }
                    _ => {
                        self.a.test(ra, ra);
                        match t.kind {
                            Beq => Cc::E,
                            Bne => Cc::Ne,
                            Blt => Cc::S,
                            Bge => Cc::Ns,
                            Ble => Cc::Le,
                            _ => Cc::G,
                        }
                    }
                };
                self.branch(cc);
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
                        // f > 0: 1 <= f <= 2^63 - 1, i.e. f - 1 < 2^63 - 1.
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
                self.branch(cc);
            }
            Br | Bsr => {
                self.set_const(t.c, blk.next);
                match self.loop_head {
                    Some(head) if blk.taken == blk.va => {
                        let dirty = self.dirty();
                        self.back_edge(head, &dirty);
                    }
                    _ => {
                        self.flush();
                        self.link(None, blk.taken);
                    }
                }
            }
            Jmp | Jsr | Ret | JsrCoroutine => {
                let b = self.val(t.b);
                self.mov_val(RDX, b);
                self.a.alu_imm(Alu::And, RDX, -4);
                self.set_const(t.c, blk.next);
                self.flush();
                self.a.mov(RCX, RDX);
                self.a.shift_imm(Shift::Shr, RCX, 2);
                self.a.alu32_imm(Alu::And, RCX, (1 << ITAB_BITS) - 1);
                self.a.shift_imm(Shift::Shl, RCX, 4);
                self.a.load64(RAX, mem(RBP, ENV_ITAB));
                self.a.alu_m(Alu::Cmp, RDX, mem_idx(RAX, RCX, 0, 0));
                let f = self.a.jcc(Cc::Ne);
                self.a.bind_abs(f, self.out.miss);
                self.a.jmp_m(mem_idx(RAX, RCX, 0, 8));
            }
            // `callsys`: it retires, and the guest traps after it (as the
            // interpreter's `trap_after`), straight from compiled code.
            CallPal if t.imm == 0x83 => {
                self.flush();
                self.a.mov_imm(RCX, blk.next);
                self.a.store64(mem(RBP, ENV_PC), RCX);
                self.a.mov_imm(RAX, EXIT_SYSCALL as u64);
                let j = self.a.jmp();
                self.a.bind_abs(j, self.out.exit);
            }
            // Other PAL calls, rpcc, illegal encodings, ...: the interpreter.
            _ => self.leave_for_interp(None, k),
        }
    }
}
