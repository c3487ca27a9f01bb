//! Block → x86-64 machine code.
//!
//! Register plan while compiled code runs:
//!
//! | host | holds |
//! |---|---|
//! | rbx | `&State` (guest `r[i]` at `8 i`, `f[i]` at `STATE_F + 8 i`) |
//! | rbp | `&Env` (budget, exit pc, patch site, indirect-jump table) |
//! | r13 | the read TLB, with the write TLB at `WRITE_TLB_OFFSET` |
//! | r15 | instructions left in this entry's budget |
//! | rsi, rdi, r8–r12, r14 | guest integer registers cached within the block |
//! | rax, rcx, rdx | scratch (rcx: effective addresses, shift counts) |
//!
//! Within a block, guest integer registers are loaded into host registers
//! on first use and written back before control leaves the block (each exit
//! writes back exactly the registers dirty at that point), so every exit
//! sees a precise `State`. A block that branches back to itself, when all
//! the registers it touches fit, preloads them and keeps them across the
//! back edge (charging the budget again on the edge).
//!
//! A block starts by taking its whole length off r15 (leaving for the
//! dispatcher when that would go below zero). Whatever compiled code cannot
//! finish on its own — a TLB miss, a store into code or with another CPU
//! holding a reservation, an overflow trap, a system call, a rare
//! instruction — leaves for the dispatcher *before* the instruction, giving
//! back the instructions not run, and the interpreter executes that one
//! instruction. FP operates run inline with SSE when the result and its
//! (absent) side effects are certain (T arithmetic on operands well inside
//! the normal range, exact conversions, sign copies) and otherwise call the
//! `fp` module through [`helpers`]; a call that would trap changes nothing
//! and leaves for the interpreter too. Compiled code itself never traps.

use super::x86::*;
use super::{helpers, Env, EXIT_BUDGET, EXIT_INTERP, EXIT_LOOKUP, ITAB_BITS};
use crate::block::Block;
use crate::decode::{Kind, Op, SINK};
use crate::interp::alu::{msk_high, msk_low, zap, zapnot, BYTE_MASKS};
use crate::interp::{AMASK_IMPLEMENTED, IMPLVER, STATE_F, STATE_FPCR, STATE_INTR, STATE_UNIQUE};
use crate::mmu::{PAGE_MASK, PAGE_SHIFT, TLB_ADDEND, TLB_ENTRY_SHIFT, TLB_SIZE, WRITE_TLB_OFFSET};

const ENV_PC: i32 = std::mem::offset_of!(Env, exit_pc) as i32;
const ENV_PATCH: i32 = std::mem::offset_of!(Env, patch) as i32;
const ENV_ITAB: i32 = std::mem::offset_of!(Env, itab) as i32;

/// Host registers that cache guest registers.
const POOL: [R; 8] = [RSI, RDI, R8, R9, R10, R11, R12, R14];
/// Pool registers a call clobbers.
const CALL_CLOBBERED: [R; 6] = [RSI, RDI, R8, R9, R10, R11];

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
const FREE: u8 = 0xff;

/// What the compiler needs to know about its surroundings.
pub(crate) struct Outside<'a> {
    /// Address of the shared exit sequence (expects the exit code in eax).
    pub exit: usize,
    /// Address of the indirect-jump miss sequence (expects the target in rdx).
    pub miss: usize,
    /// Other CPUs exist: a store leaves for the interpreter (which snoops)
    /// when another CPU may hold a reservation.
    pub multi: bool,
    /// Address of the machine's reservation bitmask (`Shared::held`).
    pub held: usize,
    /// The bits of the other CPUs in that mask.
    pub others: u64,
    /// The host has `popcnt`, `lzcnt` and `tzcnt`.
    pub bitcount: bool,
    /// Entry address of the compiled block at a guest address, if any.
    pub resolve: &'a dyn Fn(u64) -> Option<usize>,
    /// Address of `helpers::fp`.
    pub fp_helper: usize,
    /// Address of `helpers::lds`.
    pub lds_helper: usize,
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

/// The guest integer registers `op` may read or write (31 = none). FP
/// register numbers may appear too: that only costs a needless preload.
fn touched(op: &Op) -> [u8; 4] {
    let extra = match (op.kind, op.imm) {
        (Kind::CallPal, 0x9e) => 0,
        (Kind::CallPal, 0x9f) => 16,
        _ => 31,
    };
    [op.a, op.b, op.c, extra]
}

/// The guest integer registers `op` may write (a superset).
fn written(op: &Op) -> impl Iterator<Item = u8> {
    let extra = if op.kind == Kind::CallPal && op.imm == 0x9e {
        0
    } else {
        31
    };
    [op.c, extra].into_iter().filter(|&r| r < 31)
}

/// An operand: a host register or a constant.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Val {
    Reg(R),
    Imm(u64),
}

fn fits_i32(v: u64) -> bool {
    v as i64 == v as i32 as i64
}

/// One pool register's contents.
#[derive(Clone, Copy)]
struct Slot {
    guest: u8,
    dirty: bool,
    stamp: u32,
}

/// A jump to the interpreter exit for instruction `k`, and the guest
/// registers that must be written back on the way (guest, host).
struct InterpExit {
    field: usize,
    k: u32,
    dirty: Vec<(u8, R)>,
}

struct Cx<'a, 'b> {
    a: &'a mut Asm,
    blk: &'a Block,
    out: &'a Outside<'b>,
    slots: [Slot; POOL.len()],
    clock: u32,
    /// Guest registers each op touches (body ops, then the terminator).
    uses: Vec<[u8; 4]>,
    /// Index (in `uses`) of the op being compiled.
    cur: usize,
    /// For a block that loops to itself with every register it touches
    /// preloaded: where the loop body starts (after the preload).
    loop_head: Option<usize>,
    /// Jumps to the "not enough budget" stub.
    budget_jumps: Vec<usize>,
    /// Set by a compare that was the last op: the host flags say guest
    /// register `.0` is nonzero exactly when condition `.1` holds.
    flags: Option<(u8, Cc)>,
    interp: Vec<InterpExit>,
    /// (rel32 field, guest target) of links to other blocks.
    links: Vec<(usize, u64)>,
}

impl Cx<'_, '_> {
    // ---- the register cache ----

    fn find(&self, r: u8) -> Option<usize> {
        self.slots.iter().position(|s| s.guest == r)
    }

    fn touch(&mut self, i: usize) -> R {
        self.clock += 1;
        self.slots[i].stamp = self.clock;
        POOL[i]
    }

    /// How many ops ahead guest register `r` is next touched (from the
    /// current op on; `usize::MAX` if never).
    fn next_use(&self, r: u8) -> usize {
        self.uses[self.cur.min(self.uses.len())..]
            .iter()
            .position(|u| u.contains(&r))
            .unwrap_or(usize::MAX)
    }

    /// A pool slot for a new guest register. When all are taken, the one
    /// needed furthest ahead goes (a clean one on a tie), written back if dirty.
    fn alloc(&mut self) -> usize {
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
    fn get(&mut self, r: u8) -> R {
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
    fn val(&mut self, r: u8) -> Val {
        if r == 31 {
            Val::Imm(0)
        } else {
            Val::Reg(self.get(r))
        }
    }

    /// The operate format's second operand: Rb or the literal.
    fn val_b(&mut self, op: &Op) -> Val {
        if op.b == 31 {
            Val::Imm(op.imm as u64)
        } else {
            Val::Reg(self.get(op.b))
        }
    }

    /// The host register that will hold guest register `c`'s new value
    /// (marked dirty); `None` for the sink.
    fn def(&mut self, c: u8) -> Option<R> {
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
    fn upd(&mut self, c: u8) -> Option<R> {
        if c == SINK || c == 31 {
            return None;
        }
        let h = self.get(c);
        let i = self.find(c).expect("just loaded");
        self.slots[i].dirty = true;
        Some(h)
    }

    fn set(&mut self, c: u8, src: R) {
        if let Some(h) = self.def(c) {
            self.a.mov(h, src);
        }
    }

    fn set_const(&mut self, c: u8, v: u64) {
        if let Some(h) = self.def(c) {
            self.a.mov_imm(h, v);
        }
    }

    /// Dirty cached registers as (guest, host) pairs.
    fn dirty(&self) -> Vec<(u8, R)> {
        self.slots
            .iter()
            .zip(POOL)
            .filter(|(s, _)| s.guest != FREE && s.dirty)
            .map(|(s, h)| (s.guest, h))
            .collect()
    }

    /// Writes every dirty cached register back (they stay cached, clean).
    fn flush(&mut self) {
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
    fn call_helper(&mut self, addr: usize, arg0: Option<R>, arg1: u64) {
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
    fn write_back(&mut self, r: u8) {
        if let Some(i) = self.find(r) {
            if self.slots[i].dirty {
                self.a.store64(greg(r), POOL[i]);
            }
        }
    }

    /// An FP-operate instruction: inline when it is T add / sub / mul / div
    /// whose result the host computes exactly as `fp` would (see
    /// [`fast_t`]), through the helper otherwise.
    fn fp_operate(&mut self, op: &Op, k: u32) {
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
    fn fp_slow(&mut self, op: &Op, k: u32, slow: Vec<usize>, done: Option<usize>) {
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
    fn safe_exponent(&mut self, r: R, slow: &mut Vec<usize>) {
        self.a.mov(RDX, r);
        self.a.shift_imm(Shift::Shr, RDX, 52);
        self.a.alu32_imm(Alu::And, RDX, 0x7ff);
        self.a.alu32_imm(Alu::Sub, RDX, T_FAST_LO as i32);
        self.a
            .alu32_imm(Alu::Cmp, RDX, (T_FAST_HI - T_FAST_LO) as i32);
        slow.push(self.a.jcc(Cc::A));
    }

    // ---- emission helpers ----

    fn mov_val(&mut self, dst: R, v: Val) {
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
    fn alu_val(&mut self, op: Alu, dst: R, v: Val) {
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
    fn and_const(&mut self, dst: R, k: u64, scratch: R) {
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

    /// A jump to the interpreter exit for instruction `k`.
    fn leave_for_interp(&mut self, cc: Option<Cc>, k: u32) {
        let field = match cc {
            Some(cc) => self.a.jcc(cc),
            None => self.a.jmp(),
        };
        let dirty = self.dirty();
        self.interp.push(InterpExit { field, k, dirty });
    }

    /// A link (jump) to the block at `target`; the cache must be flushed.
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

    /// rcx = effective address of memory op `op`.
    fn ea(&mut self, op: &Op, align8: bool) {
        match self.val(op.b) {
            Val::Reg(r) => self.a.lea(RCX, mem(r, op.imm as i32)),
            Val::Imm(_) => self.a.mov_imm(RCX, op.simm()),
        }
        if align8 {
            self.a.alu_imm(Alu::And, RCX, -8);
        }
    }

    /// Looks rcx up in the data TLB (`off` selects read or write) for a
    /// `w`-byte access; on a hit rax holds the addend (host = rax + rcx),
    /// on a miss control goes to the interpreter for instruction `k`.
    fn tlb(&mut self, off: i32, w: u64, k: u32) {
        // rax = ((va >> PAGE_SHIFT) & (TLB_SIZE - 1)) << TLB_ENTRY_SHIFT
        self.a.mov32(RAX, RCX);
        self.a
            .shift_imm(Shift::Shr, RAX, (PAGE_SHIFT - TLB_ENTRY_SHIFT) as u8);
        self.a
            .alu32_imm(Alu::And, RAX, ((TLB_SIZE as i32) - 1) << TLB_ENTRY_SHIFT);
        self.a.mov(RDX, RCX);
        self.a
            .alu_imm(Alu::And, RDX, (!PAGE_MASK | (w - 1)) as i64 as i32);
        self.a.alu_m(Alu::Cmp, RDX, mem_idx(R13, RAX, 0, off));
        self.leave_for_interp(Some(Cc::Ne), k);
        self.a.load64(RAX, mem_idx(R13, RAX, 0, off + TLB_ADDEND));
    }

    fn host() -> Mem {
        mem_idx(RAX, RCX, 0, 0)
    }

    /// rax = a, rcx = b (for ops that need both in scratch registers).
    fn ab(&mut self, op: &Op) {
        let a = self.val(op.a);
        let b = self.val_b(op);
        self.mov_val(RAX, a);
        self.mov_val(RCX, b);
    }

    /// Integer body op; `false` when compiled code cannot do it.
    fn body_op(&mut self, op: &Op, k: u32) -> bool {
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
    fn byte_op(&mut self, op: &Op) {
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

    /// With the flags set by a conditional branch's test: on to the taken
    /// target if `cc`, else to the fall-through (stores keep the flags).
    fn branch(&mut self, cc: Cc) {
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
    fn back_edge(&mut self, head: usize, dirty: &[(u8, R)]) {
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
    fn term(&mut self) {
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
    let mut uses: Vec<[u8; 4]> = body.iter().map(touched).collect();
    uses.push(touched(&blk.term));
    let mut cx = Cx {
        a,
        blk,
        out,
        slots: [Slot {
            guest: FREE,
            dirty: false,
            stamp: 0,
        }; POOL.len()],
        clock: 0,
        uses,
        cur: 0,
        loop_head: None,
        budget_jumps: Vec::new(),
        flags: None,
        interp: Vec::new(),
        links: Vec::new(),
    };
    // Entry: take the block's length off the budget.
    cx.a.alu_imm(Alu::Sub, R15, n);
    let budget = cx.a.jcc(Cc::B);
    cx.budget_jumps.push(budget);
    // A block that loops to itself keeps its registers across the back
    // edge when they all fit: preload every one it touches (those it writes
    // count as dirty from the start, so any exit writes them back).
    let self_loop = blk.taken == blk.va
        && matches!(
            blk.term.kind,
            Kind::Br
                | Kind::Bsr
                | Kind::Beq
                | Kind::Bne
                | Kind::Blt
                | Kind::Bge
                | Kind::Ble
                | Kind::Bgt
                | Kind::Blbc
                | Kind::Blbs
                | Kind::Fbeq
                | Kind::Fbne
                | Kind::Fblt
                | Kind::Fbge
                | Kind::Fble
                | Kind::Fbgt
        );
    if self_loop {
        let mut used: Vec<u8> = cx
            .uses
            .iter()
            .flatten()
            .copied()
            .filter(|&r| r < 31)
            .collect();
        used.sort_unstable();
        used.dedup();
        if used.len() <= POOL.len() {
            let written: Vec<u8> = body
                .iter()
                .chain(std::iter::once(&blk.term))
                .flat_map(written)
                .collect();
            for r in used {
                let h = cx.get(r);
                let i = cx.find(r).expect("just loaded");
                cx.slots[i].dirty = written.contains(&r);
                let _ = h;
            }
            cx.loop_head = Some(cx.a.pos());
        }
    }
    let mut whole = true;
    for (j, (op, &k)) in body.iter().zip(pos).enumerate() {
        cx.cur = j;
        cx.flags = None;
        if !cx.body_op(op, k as u32) {
            cx.leave_for_interp(None, k as u32);
            whole = false;
            break;
        }
    }
    if whole {
        cx.cur = body.len();
        cx.term();
    }
    // Stubs.
    let interp = std::mem::take(&mut cx.interp);
    let links = std::mem::take(&mut cx.links);
    let budget_jumps = std::mem::take(&mut cx.budget_jumps);
    let a = cx.a;
    for x in interp {
        let at = a.pos();
        a.bind(x.field, at);
        for (g, h) in x.dirty {
            a.store64(greg(g), h);
        }
        a.alu_imm(Alu::Add, R15, n - x.k as i32);
        a.mov_imm(RCX, blk.va + 4 * x.k as u64);
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
    for j in budget_jumps {
        a.bind(j, at);
    }
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
