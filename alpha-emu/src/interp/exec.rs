//! The hot loop: runs predecoded blocks, chaining from one to the next by
//! their cached successor links, until the instruction budget runs out, a
//! trap, or `imb`.
//!
//! The budget is checked once per block: a block runs whole only when at
//! least its length remains; otherwise the tail of the budget is spent
//! stepping single instructions, so a budget always expires at the same
//! instruction however the code happens to be split into blocks.

use spin_kernel::machine::{Access, Trap};
use spin_kernel::mem::PageTable;

use super::alu::*;
use super::{Shared, State, AMASK_IMPLEMENTED, EXC_IOV, IMPLVER};
use crate::block::build::single;
use crate::block::{Block, CodeCache, CodeIndex, NO_BLOCK};
use crate::decode::{decode, Kind, Op};
use crate::fp::{self, FpOutcome};
use crate::mmu::{MemFault, Mmu, PAGE_MASK};

/// Why [`run`] returned.
pub(crate) enum Exit {
    /// The soft chunk limit passed: check for outside events, then call again.
    Continue,
    /// The budget is spent exactly.
    Budget,
    /// The guest trapped (`State::pc` is set as the trap requires).
    Trap(Trap),
    /// `imb`: empty the code cache, then continue from `State::pc`.
    Imb,
}

/// Everything one run of the loop may touch.
pub(crate) struct Ctx<'a> {
    pub st: &'a mut State,
    pub mmu: &'a mut Mmu,
    pub code: &'a mut CodeCache,
    pub space: &'a dyn PageTable,
    pub shared: &'a Shared,
    /// This CPU's index in the machine.
    pub me: usize,
    /// Whether other CPUs exist (stores must snoop reservations).
    pub multi: bool,
    /// Instructions retired before this call (for `rpcc`).
    pub retired: u64,
}

/// What a block did, after its instructions were counted off the budget.
enum Flow {
    /// Control goes to `pc`; `slot` says which successor link to follow
    /// (0 = taken / indirect prediction, 1 = fall-through, 2 = none).
    Next { pc: u64, slot: u8 },
    /// The guest trapped; `State::pc` is set.
    Trap(Trap),
    /// `imb` retired; `State::pc` is set.
    Imb,
}

/// How a block body stopped early.
enum Early {
    /// Op `j` trapped without retiring.
    Trap(usize, Trap),
    /// Op `j` (a store) overwrote predecoded code: leave after it.
    CodeHit(usize),
}

/// The memory side of the machine, for the body loop.
struct Mem<'a, 'b> {
    mmu: &'a mut Mmu,
    index: &'a mut CodeIndex,
    space: &'b dyn PageTable,
    shared: &'b Shared,
    me: usize,
    multi: bool,
}

#[inline(always)]
fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

#[inline(always)]
fn fp_zero(f: u64) -> bool {
    f << 1 == 0
}

fn fault_trap(f: MemFault, pc: u64) -> Trap {
    Trap::PageFault {
        va: f.va,
        access: f.access,
        pc,
    }
}

/// Runs the body ops of one block. Returns `None` when all ran.
#[inline(always)]
fn run_body(st: &mut State, m: &mut Mem<'_, '_>, body: &[Op]) -> Option<Early> {
    let mut j = 0;
    while j < body.len() {
        let op = body[j];
        let (a, b, c) = (op.a as usize, op.b as usize, op.c as usize);
        macro_rules! trap {
            ($t:expr) => {
                return Some(Early::Trap(j, $t))
            };
        }
        macro_rules! fault {
            ($f:expr) => {
                // The pc is filled in by the caller.
                trap!(fault_trap($f, 0))
            };
        }
        // Operate-format second operand: Rb, or the literal (then b = 31, which reads 0).
        macro_rules! bv {
            () => {
                (st.r[b] | op.imm as u64)
            };
        }
        // Memory-format effective address.
        macro_rules! ea {
            () => {
                st.r[b].wrapping_add(op.simm())
            };
        }
        macro_rules! load {
            ($w:literal, $va:expr) => {
                match m.mmu.load::<$w>(m.space, $va) {
                    Ok(v) => v,
                    Err(f) => fault!(f),
                }
            };
        }
        macro_rules! store {
            ($w:literal, $va:expr, $v:expr) => {
                match m.mmu.store::<$w>(m.space, m.index, $va, $v) {
                    Ok(s) => {
                        if m.multi {
                            m.shared.snoop(s.pa, m.me);
                        }
                        if s.killed_code {
                            return Some(Early::CodeHit(j));
                        }
                    }
                    Err(f) => fault!(f),
                }
            };
        }
        macro_rules! overflow {
            () => {
                trap!(Trap::Arithmetic {
                    pc: 0,
                    summary: EXC_IOV
                })
            };
        }
        match op.kind {
            Kind::Nop => {}

            // ---- memory ----
            Kind::Lda | Kind::Ldah => st.r[c] = ea!(),
            Kind::Ldbu => st.r[c] = load!(1, ea!()),
            Kind::Ldwu => st.r[c] = load!(2, ea!()),
            Kind::Ldl => st.r[c] = sext32(load!(4, ea!())),
            Kind::Ldq => st.r[c] = load!(8, ea!()),
            Kind::LdqU => st.r[c] = load!(8, ea!() & !7),
            Kind::Stb => store!(1, ea!(), st.r[a]),
            Kind::Stw => store!(2, ea!(), st.r[a]),
            Kind::Stl => store!(4, ea!(), st.r[a]),
            Kind::Stq => store!(8, ea!(), st.r[a]),
            Kind::StqU => store!(8, ea!() & !7, st.r[a]),
            Kind::Lds => st.f[c] = fp::s_mem_to_reg(load!(4, ea!()) as u32),
            Kind::Ldt => st.f[c] = load!(8, ea!()),
            Kind::Sts => store!(4, ea!(), fp::s_reg_to_mem(st.f[a]) as u64),
            Kind::Stt => store!(8, ea!(), st.f[a]),
            Kind::LdlL | Kind::LdqL => {
                if let Err(t) = load_locked(st, m, op) {
                    trap!(t)
                }
            }
            Kind::StlC | Kind::StqC => match store_conditional(st, m, op) {
                Ok(false) => {}
                Ok(true) => return Some(Early::CodeHit(j)),
                Err(t) => trap!(t),
            },

            // ---- integer arithmetic ----
            Kind::Addl => st.r[c] = sext32(st.r[a].wrapping_add(bv!())),
            Kind::S4addl => st.r[c] = sext32((st.r[a] << 2).wrapping_add(bv!())),
            Kind::S8addl => st.r[c] = sext32((st.r[a] << 3).wrapping_add(bv!())),
            Kind::Subl => st.r[c] = sext32(st.r[a].wrapping_sub(bv!())),
            Kind::S4subl => st.r[c] = sext32((st.r[a] << 2).wrapping_sub(bv!())),
            Kind::S8subl => st.r[c] = sext32((st.r[a] << 3).wrapping_sub(bv!())),
            Kind::Addq => st.r[c] = st.r[a].wrapping_add(bv!()),
            Kind::S4addq => st.r[c] = (st.r[a] << 2).wrapping_add(bv!()),
            Kind::S8addq => st.r[c] = (st.r[a] << 3).wrapping_add(bv!()),
            Kind::Subq => st.r[c] = st.r[a].wrapping_sub(bv!()),
            Kind::S4subq => st.r[c] = (st.r[a] << 2).wrapping_sub(bv!()),
            Kind::S8subq => st.r[c] = (st.r[a] << 3).wrapping_sub(bv!()),
            Kind::AddlV => match (st.r[a] as i32).checked_add(bv!() as i32) {
                Some(v) => st.r[c] = v as i64 as u64,
                None => overflow!(),
            },
            Kind::SublV => match (st.r[a] as i32).checked_sub(bv!() as i32) {
                Some(v) => st.r[c] = v as i64 as u64,
                None => overflow!(),
            },
            Kind::AddqV => match (st.r[a] as i64).checked_add(bv!() as i64) {
                Some(v) => st.r[c] = v as u64,
                None => overflow!(),
            },
            Kind::SubqV => match (st.r[a] as i64).checked_sub(bv!() as i64) {
                Some(v) => st.r[c] = v as u64,
                None => overflow!(),
            },
            Kind::Cmpeq => st.r[c] = (st.r[a] == bv!()) as u64,
            Kind::Cmplt => st.r[c] = ((st.r[a] as i64) < bv!() as i64) as u64,
            Kind::Cmple => st.r[c] = ((st.r[a] as i64) <= bv!() as i64) as u64,
            Kind::Cmpult => st.r[c] = (st.r[a] < bv!()) as u64,
            Kind::Cmpule => st.r[c] = (st.r[a] <= bv!()) as u64,
            Kind::Cmpbge => st.r[c] = cmpbge(st.r[a], bv!()),
            Kind::Mull => st.r[c] = sext32(st.r[a].wrapping_mul(bv!())),
            Kind::Mulq => st.r[c] = st.r[a].wrapping_mul(bv!()),
            Kind::Umulh => st.r[c] = ((st.r[a] as u128 * bv!() as u128) >> 64) as u64,
            Kind::MullV => match (st.r[a] as i32).checked_mul(bv!() as i32) {
                Some(v) => st.r[c] = v as i64 as u64,
                None => overflow!(),
            },
            Kind::MulqV => match (st.r[a] as i64).checked_mul(bv!() as i64) {
                Some(v) => st.r[c] = v as u64,
                None => overflow!(),
            },

            // ---- logical, conditional move ----
            Kind::And => st.r[c] = st.r[a] & bv!(),
            Kind::Bic => st.r[c] = st.r[a] & !bv!(),
            Kind::Bis => st.r[c] = st.r[a] | bv!(),
            Kind::Ornot => st.r[c] = st.r[a] | !bv!(),
            Kind::Xor => st.r[c] = st.r[a] ^ bv!(),
            Kind::Eqv => st.r[c] = st.r[a] ^ !bv!(),
            Kind::Cmoveq => {
                if st.r[a] == 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovne => {
                if st.r[a] != 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovlt => {
                if (st.r[a] as i64) < 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovge => {
                if (st.r[a] as i64) >= 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovle => {
                if (st.r[a] as i64) <= 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovgt => {
                if (st.r[a] as i64) > 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovlbs => {
                if st.r[a] & 1 != 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Cmovlbc => {
                if st.r[a] & 1 == 0 {
                    st.r[c] = bv!()
                }
            }
            Kind::Amask => st.r[c] = bv!() & !AMASK_IMPLEMENTED,
            Kind::Implver => st.r[c] = IMPLVER,

            // ---- shifts and byte manipulation ----
            Kind::Sll => st.r[c] = st.r[a] << (bv!() & 63),
            Kind::Srl => st.r[c] = st.r[a] >> (bv!() & 63),
            Kind::Sra => st.r[c] = ((st.r[a] as i64) >> (bv!() & 63)) as u64,
            Kind::Zap => st.r[c] = zap(st.r[a], bv!()),
            Kind::Zapnot => st.r[c] = zapnot(st.r[a], bv!()),
            Kind::Extbl => st.r[c] = ext_low(st.r[a], bv!(), 0x01),
            Kind::Extwl => st.r[c] = ext_low(st.r[a], bv!(), 0x03),
            Kind::Extll => st.r[c] = ext_low(st.r[a], bv!(), 0x0f),
            Kind::Extql => st.r[c] = ext_low(st.r[a], bv!(), 0xff),
            Kind::Extwh => st.r[c] = ext_high(st.r[a], bv!(), 0x03),
            Kind::Extlh => st.r[c] = ext_high(st.r[a], bv!(), 0x0f),
            Kind::Extqh => st.r[c] = ext_high(st.r[a], bv!(), 0xff),
            Kind::Insbl => st.r[c] = ins_low(st.r[a], bv!(), 0x01),
            Kind::Inswl => st.r[c] = ins_low(st.r[a], bv!(), 0x03),
            Kind::Insll => st.r[c] = ins_low(st.r[a], bv!(), 0x0f),
            Kind::Insql => st.r[c] = ins_low(st.r[a], bv!(), 0xff),
            Kind::Inswh => st.r[c] = ins_high(st.r[a], bv!(), 0x03),
            Kind::Inslh => st.r[c] = ins_high(st.r[a], bv!(), 0x0f),
            Kind::Insqh => st.r[c] = ins_high(st.r[a], bv!(), 0xff),
            Kind::Mskbl => st.r[c] = msk_low(st.r[a], bv!(), 0x01),
            Kind::Mskwl => st.r[c] = msk_low(st.r[a], bv!(), 0x03),
            Kind::Mskll => st.r[c] = msk_low(st.r[a], bv!(), 0x0f),
            Kind::Mskql => st.r[c] = msk_low(st.r[a], bv!(), 0xff),
            Kind::Mskwh => st.r[c] = msk_high(st.r[a], bv!(), 0x03),
            Kind::Msklh => st.r[c] = msk_high(st.r[a], bv!(), 0x0f),
            Kind::Mskqh => st.r[c] = msk_high(st.r[a], bv!(), 0xff),

            // ---- BWX / CIX / MVI / FIX integer side ----
            Kind::Sextb => st.r[c] = bv!() as i8 as i64 as u64,
            Kind::Sextw => st.r[c] = bv!() as i16 as i64 as u64,
            Kind::Ctpop => st.r[c] = bv!().count_ones() as u64,
            Kind::Ctlz => st.r[c] = bv!().leading_zeros() as u64,
            Kind::Cttz => st.r[c] = bv!().trailing_zeros() as u64,
            Kind::Perr => st.r[c] = perr(st.r[a], bv!()),
            Kind::Pklb => st.r[c] = pklb(bv!()),
            Kind::Pkwb => st.r[c] = pkwb(bv!()),
            Kind::Unpkbl => st.r[c] = unpkbl(bv!()),
            Kind::Unpkbw => st.r[c] = unpkbw(bv!()),
            Kind::Minub8 => st.r[c] = minmax(st.r[a], bv!(), 8, false, false),
            Kind::Minsb8 => st.r[c] = minmax(st.r[a], bv!(), 8, true, false),
            Kind::Minuw4 => st.r[c] = minmax(st.r[a], bv!(), 16, false, false),
            Kind::Minsw4 => st.r[c] = minmax(st.r[a], bv!(), 16, true, false),
            Kind::Maxub8 => st.r[c] = minmax(st.r[a], bv!(), 8, false, true),
            Kind::Maxsb8 => st.r[c] = minmax(st.r[a], bv!(), 8, true, true),
            Kind::Maxuw4 => st.r[c] = minmax(st.r[a], bv!(), 16, false, true),
            Kind::Maxsw4 => st.r[c] = minmax(st.r[a], bv!(), 16, true, true),
            Kind::Ftoit => st.r[c] = st.f[a],
            Kind::Ftois => st.r[c] = sext32(fp::s_reg_to_mem(st.f[a]) as u64),

            // ---- floating point (arithmetic in the fp module) ----
            Kind::Itof | Kind::FpOp => {
                if let Err(t) = fp_op(st, op) {
                    trap!(t)
                }
            }

            // ---- misc ----
            Kind::Mb | Kind::Wmb => std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst),
            Kind::Rc => {
                st.r[c] = st.intr_flag;
                st.intr_flag = 0;
            }
            Kind::Rs => {
                st.r[c] = st.intr_flag;
                st.intr_flag = 1;
            }
            Kind::Trapb
            | Kind::Excb
            | Kind::Fetch
            | Kind::FetchM
            | Kind::Ecb
            | Kind::Wh64
            | Kind::Wh64en => {}

            // ---- PAL calls that are register moves ----
            Kind::CallPal if op.imm == 0x9e => st.r[0] = st.unique,
            Kind::CallPal if op.imm == 0x9f => st.unique = st.r[16],

            // Terminators never reach a body (see `block::build::ends_block`).
            Kind::CallPal
            | Kind::Rpcc
            | Kind::Illegal
            | Kind::Decode
            | Kind::PageEnd
            | Kind::Ldf
            | Kind::Ldg
            | Kind::Stf
            | Kind::Stg
            | Kind::Br
            | Kind::Bsr
            | Kind::Fbeq
            | Kind::Fblt
            | Kind::Fble
            | Kind::Fbne
            | Kind::Fbge
            | Kind::Fbgt
            | Kind::Blbc
            | Kind::Beq
            | Kind::Blt
            | Kind::Ble
            | Kind::Blbs
            | Kind::Bne
            | Kind::Bge
            | Kind::Bgt
            | Kind::Jmp
            | Kind::Jsr
            | Kind::Ret
            | Kind::JsrCoroutine => {
                debug_assert!(false, "terminator {:?} in a block body", op.kind);
            }
        }
        j += 1;
    }
    None
}

/// `ldl_l` / `ldq_l`.
#[inline(never)]
fn load_locked(st: &mut State, m: &mut Mem<'_, '_>, op: Op) -> Result<(), Trap> {
    let va = st.r[op.b as usize].wrapping_add(op.simm());
    let w: u64 = if op.kind == Kind::LdlL { 4 } else { 8 };
    if va & (w - 1) != 0 {
        return Err(Trap::Unaligned { va, pc: 0 });
    }
    let (h, pa) = m
        .mmu
        .read_entry(m.space, va)
        .map_err(|f| fault_trap(f, 0))?;
    let pa = pa | (va & PAGE_MASK);
    m.shared.reserve(m.me, pa);
    let v = if w == 4 {
        h.load::<4>(va)
    } else {
        h.load::<8>(va)
    };
    st.lock_valid = true;
    st.lock_pa = pa;
    st.lock_value = v;
    st.r[op.c as usize] = if w == 4 { sext32(v) } else { v };
    Ok(())
}

/// `stl_c` / `stq_c`; `Ok(true)` when the store overwrote predecoded code.
#[inline(never)]
fn store_conditional(st: &mut State, m: &mut Mem<'_, '_>, op: Op) -> Result<bool, Trap> {
    let va = st.r[op.b as usize].wrapping_add(op.simm());
    let w: u64 = if op.kind == Kind::StlC { 4 } else { 8 };
    if va & (w - 1) != 0 {
        return Err(Trap::Unaligned { va, pc: 0 });
    }
    let mut ok = false;
    let mut killed = false;
    if st.lock_valid {
        let (h, pa, is_code) = m
            .mmu
            .write_entry(m.space, m.index, va)
            .map_err(|f| fault_trap(f, 0))?;
        let pa = pa | (va & PAGE_MASK);
        let v = st.r[op.a as usize];
        ok = pa == st.lock_pa
            && m.shared.holds(m.me, pa)
            && if w == 4 {
                h.compare_exchange::<4>(va, st.lock_value, v)
            } else {
                h.compare_exchange::<8>(va, st.lock_value, v)
            };
        if ok {
            if is_code {
                killed = m.index.invalidate(pa, w);
            }
            if m.multi {
                m.shared.snoop(pa, m.me);
            }
        }
    }
    st.lock_valid = false;
    m.shared.release(m.me);
    st.r[op.c as usize] = ok as u64;
    Ok(killed)
}

/// Any FP-operate instruction (changes at most `st.fpcr` and `st.f[op.c]`).
#[inline(never)]
pub(crate) fn fp_op(st: &mut State, op: Op) -> Result<(), Trap> {
    let (a, b, c) = (op.a as usize, op.b as usize, op.c as usize);
    let src = if op.kind == Kind::Itof {
        st.r[a]
    } else {
        st.f[a]
    };
    match fp::fp_operate(
        op.imm >> 16,
        op.imm & 0x7ff,
        src,
        st.f[b],
        st.f[c],
        &mut st.fpcr,
    ) {
        Ok(FpOutcome::Write(v)) => st.f[c] = v,
        Ok(FpOutcome::NoWrite) => {}
        Ok(FpOutcome::Trap { exc_sum, write }) => {
            if let Some(v) = write {
                st.f[c] = v;
            }
            return Err(Trap::Arithmetic {
                pc: 0,
                summary: exc_sum,
            });
        }
        Err(_) => {
            return Err(Trap::IllegalInstruction { pc: 0, insn: 0 });
        }
    }
    Ok(())
}

/// Fills in the pc (and for illegal instructions the word) of a trap raised
/// by a body op at `pc`.
#[cold]
fn place_trap(t: Trap, pc: u64, blk: &Block) -> Trap {
    match t {
        Trap::PageFault { va, access, .. } => Trap::PageFault { va, access, pc },
        Trap::Arithmetic { summary, .. } => Trap::Arithmetic { pc, summary },
        Trap::Unaligned { va, .. } => Trap::Unaligned { va, pc },
        Trap::IllegalInstruction { .. } => Trap::IllegalInstruction {
            pc,
            insn: blk.host.load::<4>(pc),
        },
        t => t,
    }
}

/// Runs one block whose length fits in `*left`, counting its retired
/// instructions off `*left`. `pos` maps body ops to instruction indices.
#[inline(always)]
fn exec_block(
    st: &mut State,
    m: &mut Mem<'_, '_>,
    blk: &Block,
    body: &[Op],
    pos: &[u16],
    left: &mut u64,
    rpcc_base: u64,
) -> Flow {
    if let Some(early) = run_body(st, m, body) {
        return early_exit(st, blk, pos, left, early);
    }
    let t = blk.term;
    let term_pc = blk.next.wrapping_sub(4);
    macro_rules! retire_all {
        () => {
            *left -= blk.insns as u64
        };
    }
    macro_rules! cond {
        ($c:expr) => {{
            retire_all!();
            if $c {
                Flow::Next {
                    pc: blk.taken,
                    slot: 0,
                }
            } else {
                Flow::Next {
                    pc: blk.next,
                    slot: 1,
                }
            }
        }};
    }
    // Traps at the terminator, which does not retire.
    macro_rules! trap_at {
        ($t:expr) => {{
            *left -= blk.insns as u64 - 1;
            st.pc = term_pc;
            Flow::Trap($t)
        }};
    }
    // Traps after the terminator, which retires.
    macro_rules! trap_after {
        ($t:expr) => {{
            retire_all!();
            st.pc = blk.next;
            Flow::Trap($t)
        }};
    }
    let (a, b, c) = (t.a as usize, t.b as usize, t.c as usize);
    match t.kind {
        Kind::PageEnd => {
            retire_all!();
            Flow::Next {
                pc: blk.next,
                slot: 1,
            }
        }
        Kind::Beq => cond!(st.r[a] == 0),
        Kind::Bne => cond!(st.r[a] != 0),
        Kind::Blt => cond!((st.r[a] as i64) < 0),
        Kind::Ble => cond!((st.r[a] as i64) <= 0),
        Kind::Bgt => cond!((st.r[a] as i64) > 0),
        Kind::Bge => cond!((st.r[a] as i64) >= 0),
        Kind::Blbc => cond!(st.r[a] & 1 == 0),
        Kind::Blbs => cond!(st.r[a] & 1 != 0),
        Kind::Fbeq => cond!(fp_zero(st.f[a])),
        Kind::Fbne => cond!(!fp_zero(st.f[a])),
        Kind::Fblt => cond!((st.f[a] as i64) < 0 && !fp_zero(st.f[a])),
        Kind::Fble => cond!((st.f[a] as i64) < 0 || fp_zero(st.f[a])),
        Kind::Fbgt => cond!((st.f[a] as i64) >= 0 && !fp_zero(st.f[a])),
        Kind::Fbge => cond!((st.f[a] as i64) >= 0 || fp_zero(st.f[a])),
        Kind::Br | Kind::Bsr => {
            retire_all!();
            st.r[c] = blk.next;
            Flow::Next {
                pc: blk.taken,
                slot: 0,
            }
        }
        Kind::Jmp | Kind::Jsr | Kind::Ret | Kind::JsrCoroutine => {
            retire_all!();
            let target = st.r[b] & !3;
            st.r[c] = blk.next;
            Flow::Next {
                pc: target,
                slot: 0,
            }
        }
        Kind::Rpcc => {
            st.r[c] = rpcc_base + blk.insns as u64 - 1;
            retire_all!();
            Flow::Next {
                pc: blk.next,
                slot: 1,
            }
        }
        Kind::CallPal => match t.imm {
            0x9e => {
                st.r[0] = st.unique;
                retire_all!();
                Flow::Next {
                    pc: blk.next,
                    slot: 1,
                }
            }
            0x9f => {
                st.unique = st.r[16];
                retire_all!();
                Flow::Next {
                    pc: blk.next,
                    slot: 1,
                }
            }
            0x83 => trap_after!(Trap::Syscall),
            0x86 => {
                retire_all!();
                st.pc = blk.next;
                Flow::Imb
            }
            0x00 => trap_after!(Trap::Halt { pc: term_pc }),
            0x80 => trap_after!(Trap::Breakpoint { pc: term_pc }),
            code @ 0x81..=0xbf => trap_after!(Trap::PalCall { pc: term_pc, code }),
            _ => trap_at!(Trap::IllegalInstruction {
                pc: term_pc,
                insn: blk.host.load::<4>(term_pc)
            }),
        },
        // Illegal encodings and VAX-format memory ops.
        _ => trap_at!(Trap::IllegalInstruction {
            pc: term_pc,
            insn: blk.host.load::<4>(term_pc)
        }),
    }
}

/// A body op stopped the block early: place the trap or leave after the store.
#[cold]
#[inline(never)]
fn early_exit(st: &mut State, blk: &Block, pos: &[u16], left: &mut u64, early: Early) -> Flow {
    match early {
        Early::Trap(j, t) => {
            let k = pos[j] as u64;
            let pc = blk.va + 4 * k;
            *left -= k;
            st.pc = pc;
            Flow::Trap(place_trap(t, pc, blk))
        }
        Early::CodeHit(j) => {
            let k = pos[j] as u64 + 1;
            *left -= k;
            Flow::Next {
                pc: blk.va + 4 * k,
                slot: 2,
            }
        }
    }
}

/// Finds (or builds) the block entered at `pc`.
#[inline]
pub(crate) fn find_block(
    mmu: &mut Mmu,
    code: &mut CodeCache,
    space: &dyn PageTable,
    pc: u64,
) -> Result<u32, MemFault> {
    if let Some(id) = code.index.lookup(pc) {
        return Ok(id);
    }
    build_block(mmu, code, space, pc)
}

#[inline(never)]
fn build_block(
    mmu: &mut Mmu,
    code: &mut CodeCache,
    space: &dyn PageTable,
    pc: u64,
) -> Result<u32, MemFault> {
    let (host, pa) = mmu.exec_entry(space, pc)?;
    let built = code.build(pc, host, pa | (pc & PAGE_MASK));
    if built.cleared {
        mmu.clear_code_marks();
    }
    if built.new_page || built.cleared {
        mmu.mark_code(pa);
    }
    Ok(built.id)
}

/// Runs from `State::pc` for at most `*left` instructions (decrementing
/// it), returning at a block boundary once about `soft` have run.
pub(crate) fn run(cx: &mut Ctx<'_>, left: &mut u64, soft: u64) -> Exit {
    let budget = *left;
    let space = cx.space;
    let st = &mut *cx.st;
    let mut pc = st.pc & !3;
    let mut id = match find_block(cx.mmu, cx.code, space, pc) {
        Ok(id) => id,
        Err(f) => {
            st.pc = pc;
            return Exit::Trap(fault_trap(f, pc));
        }
    };
    loop {
        let code = &mut *cx.code;
        let mut m = Mem {
            mmu: &mut *cx.mmu,
            index: &mut code.index,
            space,
            shared: cx.shared,
            me: cx.me,
            multi: cx.multi,
        };
        let blk = &code.arena.blocks[id as usize];
        if blk.insns as u64 > *left {
            st.pc = pc;
            let base = cx.retired + (budget - *left);
            return step(cx, left, base);
        }
        let range = blk.start as usize..(blk.start + blk.len) as usize;
        let body = &code.arena.ops[range.clone()];
        let pos = &code.arena.pos[range];
        let rpcc_base = cx.retired + (budget - *left);
        let (next_pc, slot) = match exec_block(st, &mut m, blk, body, pos, left, rpcc_base) {
            Flow::Next { pc, slot } => (pc, slot),
            Flow::Trap(t) => return Exit::Trap(t),
            Flow::Imb => return Exit::Imb,
        };
        pc = next_pc;
        if budget - *left >= soft {
            st.pc = pc;
            return Exit::Continue;
        }
        // Follow the cached successor link when it still names a live
        // block at this address.
        if slot < 2 {
            let s = blk.succ[slot as usize];
            if s != NO_BLOCK && code.arena.blocks[s as usize].va == pc && code.index.is_live(s) {
                id = s;
                continue;
            }
        }
        let epoch = code.epoch;
        let prev = id;
        id = match find_block(cx.mmu, cx.code, space, pc) {
            Ok(id) => id,
            Err(f) => {
                st.pc = pc;
                return Exit::Trap(fault_trap(f, pc));
            }
        };
        if slot < 2 && cx.code.epoch == epoch {
            cx.code.arena.blocks[prev as usize].succ[slot as usize] = id;
        }
    }
}

/// Spends the tail of the budget one instruction at a time (fewer than one
/// block's worth remain), decoding each afresh.
#[inline(never)]
fn step(cx: &mut Ctx<'_>, left: &mut u64, retired: u64) -> Exit {
    let budget = *left;
    while *left > 0 {
        if let Some(exit) = step_one(cx, left, retired + (budget - *left)) {
            return exit;
        }
    }
    Exit::Budget
}

/// Executes the one instruction at `State::pc` (decoded afresh), counting
/// it off `*left` (which must be at least 1) if it retires. `retired` is the
/// number of instructions retired before it (for `rpcc`). Returns `None`
/// when execution goes on at the new `State::pc`.
pub(crate) fn step_one(cx: &mut Ctx<'_>, left: &mut u64, retired: u64) -> Option<Exit> {
    let pc = cx.st.pc & !3;
    let (host, _) = match cx.mmu.exec_entry(cx.space, pc) {
        Ok(x) => x,
        Err(f) => {
            cx.st.pc = pc;
            return Some(Exit::Trap(Trap::PageFault {
                va: f.va,
                access: Access::Execute,
                pc,
            }));
        }
    };
    let op = decode(host.load::<4>(pc) as u32);
    let (blk, has_body) = single(pc, host, op);
    let body: &[Op] = if has_body && op.kind != Kind::Nop {
        std::slice::from_ref(&op)
    } else {
        &[]
    };
    let mut m = Mem {
        mmu: &mut *cx.mmu,
        index: &mut cx.code.index,
        space: cx.space,
        shared: cx.shared,
        me: cx.me,
        multi: cx.multi,
    };
    match exec_block(cx.st, &mut m, &blk, body, &[0], left, retired) {
        Flow::Next { pc, .. } => {
            cx.st.pc = pc;
            None
        }
        Flow::Trap(t) => Some(Exit::Trap(t)),
        Flow::Imb => Some(Exit::Imb),
    }
}
