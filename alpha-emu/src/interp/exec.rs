//! The hot loop: executes predecoded slots of one code page until control
//! leaves the page, the chunk's instruction limit runs out, or a trap.

use spin_kernel::machine::Trap;
use spin_kernel::mem::PageTable;

use super::alu::*;
use super::{Shared, State, AMASK_IMPLEMENTED, EXC_IOV, IMPLVER};
use crate::block::{CodeCache, CodePage};
use crate::decode::{decode, Kind};
use crate::fp::{self, FpOutcome};
use crate::mmu::{Mmu, PAGE_MASK, PAGE_SIZE};

/// Why [`run_page`] returned.
pub(crate) enum Exit {
    /// Keep going from `State::pc` (control left the page or the limit ran out).
    Continue,
    /// The guest trapped.
    Trap(Trap),
    /// `imb`: empty the code cache, then continue from `State::pc`.
    Imb,
}

/// Everything one run of the loop may touch.
pub(crate) struct Ctx<'a> {
    pub st: &'a mut State,
    pub mmu: &'a mut Mmu,
    pub code: &'a CodeCache,
    pub space: &'a dyn PageTable,
    pub shared: &'a Shared,
    /// This CPU's index in the machine.
    pub me: usize,
    /// Whether other CPUs exist (stores must snoop reservations).
    pub multi: bool,
    /// Instructions retired before this chunk (for `rpcc`).
    pub retired: u64,
}

#[inline(always)]
fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

#[inline(always)]
fn fp_zero(f: u64) -> bool {
    f << 1 == 0
}

/// Runs slots of `page` starting at `pc` for at most `*lim` instructions,
/// decrementing `*lim` per retired instruction.
pub(crate) fn run_page(cx: &mut Ctx<'_>, page: &CodePage, pc: u64, lim: &mut u64) -> Exit {
    let base = pc & !PAGE_MASK;
    let ops = &page.ops[..];
    let host = page.host;
    let space = cx.space;
    let st = &mut *cx.st;
    let mut idx = ((pc & PAGE_MASK) >> 2) as usize;
    let mut left = *lim;

    macro_rules! cur_pc {
        () => {
            base + (idx as u64) * 4
        };
    }
    macro_rules! leave {
        ($e:expr) => {{
            *lim = left;
            return $e;
        }};
    }
    // Trap with PC left at the instruction (not retired).
    macro_rules! trap_at {
        ($t:expr) => {{
            st.pc = cur_pc!();
            leave!(Exit::Trap($t))
        }};
    }
    macro_rules! illegal {
        () => {
            trap_at!(Trap::IllegalInstruction {
                pc: cur_pc!(),
                insn: host.load::<4>((idx * 4) as u64)
            })
        };
    }
    macro_rules! fault {
        ($f:expr) => {{
            let f = $f;
            trap_at!(Trap::PageFault {
                va: f.va,
                access: f.access,
                pc: cur_pc!()
            })
        }};
    }
    // Trap with PC advanced past the instruction (retired).
    macro_rules! trap_after {
        ($t:expr) => {{
            st.pc = cur_pc!() + 4;
            left -= 1;
            leave!(Exit::Trap($t))
        }};
    }
    macro_rules! goto {
        ($t:expr) => {{
            let t: u64 = $t;
            left -= 1;
            if t & !PAGE_MASK == base {
                idx = ((t & PAGE_MASK) >> 2) as usize;
                continue;
            }
            st.pc = t;
            leave!(Exit::Continue)
        }};
    }
    macro_rules! branch_if {
        ($cond:expr, $op:expr) => {{
            if $cond {
                goto!(cur_pc!().wrapping_add(4).wrapping_add($op.simm()))
            }
        }};
    }
    macro_rules! load {
        ($w:literal, $va:expr) => {
            match cx.mmu.load::<$w>(space, $va) {
                Ok(v) => v,
                Err(f) => fault!(f),
            }
        };
    }
    macro_rules! store {
        ($w:literal, $va:expr, $v:expr) => {
            match cx.mmu.store::<$w>(space, cx.code, $va, $v) {
                Ok(pa) => {
                    if cx.multi {
                        cx.shared.snoop(pa, cx.me);
                    }
                }
                Err(f) => fault!(f),
            }
        };
    }
    macro_rules! overflow {
        () => {
            trap_at!(Trap::Arithmetic {
                pc: cur_pc!(),
                summary: EXC_IOV
            })
        };
    }

    loop {
        if left == 0 {
            st.pc = cur_pc!();
            leave!(Exit::Continue);
        }
        let op = ops[idx].get();
        let (a, b, c) = (op.a as usize, op.b as usize, op.c as usize);
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
        match op.kind {
            Kind::Decode => {
                let w = host.load::<4>((idx * 4) as u64) as u32;
                ops[idx].set(decode(w));
                continue;
            }
            Kind::PageEnd => {
                st.pc = base + PAGE_SIZE;
                leave!(Exit::Continue)
            }
            Kind::Nop => {}
            Kind::Illegal => illegal!(),

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
            Kind::Ldf | Kind::Ldg | Kind::Stf | Kind::Stg => illegal!(),
            Kind::LdlL | Kind::LdqL => {
                let w: u64 = if op.kind == Kind::LdlL { 4 } else { 8 };
                if ea!() & (w - 1) != 0 {
                    trap_at!(Trap::Unaligned {
                        va: ea!(),
                        pc: cur_pc!()
                    })
                }
                let (h, pa) = match cx.mmu.read_entry(space, ea!()) {
                    Ok(x) => x,
                    Err(f) => fault!(f),
                };
                let pa = pa | (ea!() & PAGE_MASK);
                let v = if w == 4 {
                    h.load::<4>(ea!())
                } else {
                    h.load::<8>(ea!())
                };
                st.lock_valid = true;
                st.lock_pa = pa;
                st.lock_value = v;
                cx.shared.reserve(cx.me, pa);
                st.r[c] = if w == 4 { sext32(v) } else { v };
            }
            Kind::StlC | Kind::StqC => {
                let w: u64 = if op.kind == Kind::StlC { 4 } else { 8 };
                if ea!() & (w - 1) != 0 {
                    trap_at!(Trap::Unaligned {
                        va: ea!(),
                        pc: cur_pc!()
                    })
                }
                let mut ok = false;
                if st.lock_valid {
                    let (h, pa, is_code) = match cx.mmu.write_entry(space, cx.code, ea!()) {
                        Ok(x) => x,
                        Err(f) => fault!(f),
                    };
                    let pa = pa | (ea!() & PAGE_MASK);
                    let v = st.r[a];
                    ok = pa == st.lock_pa
                        && cx.shared.holds(cx.me, pa)
                        && if w == 4 {
                            h.compare_exchange::<4>(ea!(), st.lock_value, v)
                        } else {
                            h.compare_exchange::<8>(ea!(), st.lock_value, v)
                        };
                    if ok {
                        if is_code {
                            cx.code.invalidate(pa, w);
                        }
                        if cx.multi {
                            cx.shared.snoop(pa, cx.me);
                        }
                    }
                }
                st.lock_valid = false;
                cx.shared.release(cx.me);
                st.r[c] = ok as u64;
            }

            // ---- branches ----
            Kind::Br | Kind::Bsr => {
                let next = cur_pc!() + 4;
                st.r[c] = next;
                goto!(next.wrapping_add(op.simm()))
            }
            Kind::Beq => branch_if!(st.r[a] == 0, op),
            Kind::Bne => branch_if!(st.r[a] != 0, op),
            Kind::Blt => branch_if!((st.r[a] as i64) < 0, op),
            Kind::Ble => branch_if!((st.r[a] as i64) <= 0, op),
            Kind::Bgt => branch_if!((st.r[a] as i64) > 0, op),
            Kind::Bge => branch_if!((st.r[a] as i64) >= 0, op),
            Kind::Blbc => branch_if!(st.r[a] & 1 == 0, op),
            Kind::Blbs => branch_if!(st.r[a] & 1 != 0, op),
            Kind::Fbeq => branch_if!(fp_zero(st.f[a]), op),
            Kind::Fbne => branch_if!(!fp_zero(st.f[a]), op),
            Kind::Fblt => branch_if!((st.f[a] as i64) < 0 && !fp_zero(st.f[a]), op),
            Kind::Fble => branch_if!((st.f[a] as i64) < 0 || fp_zero(st.f[a]), op),
            Kind::Fbgt => branch_if!((st.f[a] as i64) >= 0 && !fp_zero(st.f[a]), op),
            Kind::Fbge => branch_if!((st.f[a] as i64) >= 0 || fp_zero(st.f[a]), op),
            Kind::Jmp | Kind::Jsr | Kind::Ret | Kind::JsrCoroutine => {
                let target = st.r[b] & !3;
                st.r[c] = cur_pc!() + 4;
                goto!(target)
            }

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
                        trap_at!(Trap::Arithmetic {
                            pc: cur_pc!(),
                            summary: exc_sum
                        })
                    }
                    Err(_) => illegal!(),
                }
            }

            // ---- misc ----
            Kind::Mb | Kind::Wmb => std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst),
            Kind::Rpcc => st.r[c] = cx.retired + (*lim - left),
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

            // ---- PAL ----
            Kind::CallPal => match op.imm {
                0x9e => st.r[0] = st.unique,
                0x9f => st.unique = st.r[16],
                0x83 => trap_after!(Trap::Syscall),
                0x86 => {
                    st.pc = cur_pc!() + 4;
                    left -= 1;
                    leave!(Exit::Imb)
                }
                0x00 => trap_after!(Trap::Halt { pc: cur_pc!() }),
                0x80 => trap_after!(Trap::Breakpoint { pc: cur_pc!() }),
                code @ 0x81..=0xbf => trap_after!(Trap::PalCall {
                    pc: cur_pc!(),
                    code
                }),
                _ => illegal!(),
            },
        }
        idx += 1;
        left -= 1;
    }
}
