//! The register cache: guest integer registers held in host registers
//! within a block, loaded on first use, written back on the way out.

use super::Cx;
use crate::decode::{Op, SINK};
use crate::interp::STATE_F;
use crate::jit::x86::*;

/// Host registers that cache guest registers.
pub(super) const POOL: [R; 8] = [RSI, RDI, R8, R9, R10, R11, R12, R14];
/// Pool registers a call clobbers.
pub(super) const CALL_CLOBBERED: [R; 6] = [RSI, RDI, R8, R9, R10, R11];

/// A free pool slot's guest register.
pub(super) const FREE: u8 = 0xff;

/// Guest integer register `r` in `State`.
pub(super) fn greg(r: u8) -> Mem {
    mem(RBX, r as i32 * 8)
}

pub(super) fn freg(r: u8) -> Mem {
    mem(RBX, STATE_F + r as i32 * 8)
}

/// An operand: a host register or a constant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Val {
    Reg(R),
    Imm(u64),
}

pub(super) fn fits_i32(v: u64) -> bool {
    v as i64 == v as i32 as i64
}

/// One pool register's contents.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    pub(super) guest: u8,
    pub(super) dirty: bool,
    pub(super) stamp: u32,
}

impl Cx<'_, '_> {
    pub(super) fn find(&self, r: u8) -> Option<usize> {
        self.slots.iter().position(|s| s.guest == r)
    }

    pub(super) fn touch(&mut self, i: usize) -> R {
        self.clock += 1;
        self.slots[i].stamp = self.clock;
        POOL[i]
    }

    /// How many ops ahead guest register `r` is next touched (from the
    /// current op on; `usize::MAX` if never).
    pub(super) fn next_use(&self, r: u8) -> usize {
        self.uses[self.cur.min(self.uses.len())..]
            .iter()
            .position(|u| u.contains(&r))
            .unwrap_or(usize::MAX)
    }

    /// A pool slot for a new guest register. When all are taken, the one
    /// needed furthest ahead goes (a clean one on a tie), written back if dirty.
    pub(super) fn alloc(&mut self) -> usize {
        let i = match self.slots.iter().position(|s| s.guest == FREE) {
            Some(i) => i,
            None => {
                let (i, _) = self
                    .slots
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, s)| (self.next_use(s.guest), !s.dirty, u32::MAX - s.stamp))
                    .expect("the pool is not empty");
                let s = self.slots[i];
                if s.dirty {
                    self.a.store64(greg(s.guest), POOL[i]);
                }
                i
            }
        };
        self.slots[i] = Slot {
            guest: FREE,
            dirty: false,
            stamp: 0,
        };
        i
    }

    /// The host register holding guest register `r` (not 31), loading it.
    pub(super) fn get(&mut self, r: u8) -> R {
        debug_assert!(r != 31 && r != SINK);
        if let Some(i) = self.find(r) {
            return self.touch(i);
        }
        let i = self.alloc();
        self.slots[i].guest = r;
        let h = self.touch(i);
        self.a.load64(h, greg(r));
        h
    }

    /// Guest register `r` as an operand (r31 reads as 0).
    pub(super) fn val(&mut self, r: u8) -> Val {
        if r == 31 {
            Val::Imm(0)
        } else {
            Val::Reg(self.get(r))
        }
    }

    /// The operate format's second operand: Rb or the literal.
    pub(super) fn val_b(&mut self, op: &Op) -> Val {
        if op.b == 31 {
            Val::Imm(op.imm as u64)
        } else {
            Val::Reg(self.get(op.b))
        }
    }

    /// The host register that will hold guest register `c`'s new value
    /// (marked dirty); `None` for the sink.
    pub(super) fn def(&mut self, c: u8) -> Option<R> {
        if c == SINK || c == 31 {
            return None;
        }
        let i = match self.find(c) {
            Some(i) => i,
            None => {
                let i = self.alloc();
                self.slots[i].guest = c;
                i
            }
        };
        self.slots[i].dirty = true;
        Some(self.touch(i))
    }

    /// Like [`Cx::def`], but keeps (loads) the old value: for conditional moves.
    pub(super) fn upd(&mut self, c: u8) -> Option<R> {
        if c == SINK || c == 31 {
            return None;
        }
        let h = self.get(c);
        let i = self.find(c).expect("just loaded");
        self.slots[i].dirty = true;
        Some(h)
    }

    pub(super) fn set(&mut self, c: u8, src: R) {
        if let Some(h) = self.def(c) {
            self.a.mov(h, src);
        }
    }

    pub(super) fn set_const(&mut self, c: u8, v: u64) {
        if let Some(h) = self.def(c) {
            self.a.mov_imm(h, v);
        }
    }

    /// Dirty cached registers as (guest, host) pairs.
    pub(super) fn dirty(&self) -> Vec<(u8, R)> {
        self.slots
            .iter()
            .zip(POOL)
            .filter(|(s, _)| s.guest != FREE && s.dirty)
            .map(|(s, h)| (s.guest, h))
            .collect()
    }

    /// Writes every dirty cached register back (they stay cached, clean).
    pub(super) fn flush(&mut self) {
        for (s, h) in self.slots.iter_mut().zip(POOL) {
            if s.guest != FREE && s.dirty {
                self.a.store64(greg(s.guest), h);
                s.dirty = false;
            }
        }
    }

    /// Calls the helper at `addr` with rdi = `arg0` (or `State` when
    /// `None`) and rsi = `arg1`; the result is in rax, rcx and rdx are
    /// clobbered. Cached guest registers stay put: the call-clobbered pool
    /// registers are saved around the call (six pushes keep the stack
    /// 16-byte aligned), so the helper must not read guest integer
    /// registers from `State` unless the caller wrote them back.
    pub(super) fn call_helper(&mut self, addr: usize, arg0: Option<R>, arg1: u64) {
        for r in CALL_CLOBBERED {
            self.a.push(r);
        }
        match arg0 {
            Some(r) => self.a.mov(RDI, r),
            None => self.a.mov(RDI, RBX),
        }
        self.a.mov_imm(RSI, arg1);
        self.a.mov_imm(RAX, addr as u64);
        self.a.call_r(RAX);
        for r in CALL_CLOBBERED.iter().rev() {
            self.a.pop(*r);
        }
    }

    /// Writes guest register `r` back if it is cached and dirty (it stays cached).
    pub(super) fn write_back(&mut self, r: u8) {
        if let Some(i) = self.find(r) {
            if self.slots[i].dirty {
                self.a.store64(greg(r), POOL[i]);
            }
        }
    }

    pub(super) fn mov_val(&mut self, dst: R, v: Val) {
        match v {
            Val::Reg(r) => {
                if r != dst {
                    self.a.mov(dst, r)
                }
            }
            Val::Imm(x) => self.a.mov_imm(dst, x),
        }
    }

    /// `dst op= v`.
    pub(super) fn alu_val(&mut self, op: Alu, dst: R, v: Val) {
        match v {
            Val::Reg(r) => self.a.alu(op, dst, r),
            Val::Imm(x) if fits_i32(x) => self.a.alu_imm(op, dst, x as i32),
            Val::Imm(x) => {
                debug_assert!(dst != RCX);
                self.a.mov_imm(RCX, x);
                self.a.alu(op, dst, RCX);
            }
        }
    }

    /// `dst &= k` with the shortest sequence (`scratch` may be clobbered).
    pub(super) fn and_const(&mut self, dst: R, k: u64, scratch: R) {
        match k {
            u64::MAX => {}
            0xff => self.a.movzx8(dst, dst),
            0xffff => self.a.movzx16(dst, dst),
            0xffff_ffff => self.a.mov32(dst, dst),
            _ if fits_i32(k) => self.a.alu_imm(Alu::And, dst, k as i32),
            _ => {
                self.a.mov_imm(scratch, k);
                self.a.alu(Alu::And, dst, scratch);
            }
        }
    }
}
