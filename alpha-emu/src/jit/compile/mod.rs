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
//! `fp` module through [`super::helpers`]; a call that would trap changes nothing
//! and leaves for the interpreter too. Compiled code itself never traps.

mod fp;
mod ops;
mod regs;
mod term;

use regs::{greg, Slot, Val, FREE, POOL};

use super::x86::*;
use super::{Env, EXIT_BUDGET, EXIT_INTERP, EXIT_LOOKUP};
use crate::block::Block;
use crate::decode::{Kind, Op};
use crate::mmu::{PAGE_MASK, PAGE_SHIFT, TLB_ADDEND, TLB_ENTRY_SHIFT, TLB_SIZE};

const ENV_PC: i32 = std::mem::offset_of!(Env, exit_pc) as i32;
const ENV_PATCH: i32 = std::mem::offset_of!(Env, patch) as i32;
pub(super) const ENV_ITAB: i32 = std::mem::offset_of!(Env, itab) as i32;

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
