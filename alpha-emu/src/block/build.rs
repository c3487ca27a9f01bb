//! Building a block: decode from the entry address to the first
//! instruction that may leave straight-line flow.

use super::{
    words_hash, Block, CodeCache, FALLTHROUGH, MAX_BLOCKS, MAX_BLOCK_INSNS, MAX_OPS, NO_BLOCK,
};
use crate::decode::{decode, Kind, Op};
use crate::mmu::{HostPage, PAGE_MASK, PAGE_SIZE};

/// Whether `op` ends a block: it may transfer control, always traps, or
/// needs its exact position (`rpcc` reads the retired count).
pub(crate) fn ends_block(op: &Op) -> bool {
    use Kind::*;
    match op.kind {
        Br | Bsr | Fbeq | Fblt | Fble | Fbne | Fbge | Fbgt | Blbc | Beq | Blt | Ble | Blbs
        | Bne | Bge | Bgt | Jmp | Jsr | Ret | JsrCoroutine => true,
        // rduniq / wruniq are register moves; every other PAL call traps.
        CallPal => !matches!(op.imm, 0x9e | 0x9f),
        Illegal | Decode | PageEnd | Ldf | Ldg | Stf | Stg | Rpcc => true,
        _ => false,
    }
}

/// The target of a direct branch at `pc` (meaningless for other ops).
#[inline]
pub(crate) fn branch_target(pc: u64, op: &Op) -> u64 {
    pc.wrapping_add(4).wrapping_add(op.simm())
}

/// A one-instruction block for `op` at `pc` (exact stepping): the op is the
/// terminator or the single body op, which the caller passes as the body.
pub(crate) fn single(pc: u64, host: HostPage, op: Op) -> (Block, bool) {
    let term = ends_block(&op);
    let blk = Block {
        va: pc,
        host,
        start: 0,
        len: if term { 0 } else { 1 },
        insns: 1,
        term: if term { op } else { FALLTHROUGH },
        taken: branch_target(pc, &op),
        next: pc.wrapping_add(4),
        succ: [NO_BLOCK; 2],
    };
    (blk, !term)
}

/// What [`CodeCache::build`] did.
pub(crate) struct Built {
    /// The new block.
    pub id: u32,
    /// The block's physical page held no code before (stores to it must now be checked).
    pub new_page: bool,
    /// The cache was emptied to make room (every older id is gone).
    pub cleared: bool,
}

impl CodeCache {
    /// Decodes the block entered at `va` (physical address `pa`, bytes in
    /// `host`) and adds it to the cache.
    pub fn build(&mut self, va: u64, host: HostPage, pa: u64) -> Built {
        let mut cleared = false;
        if self.arena.blocks.len() >= MAX_BLOCKS
            || self.arena.ops.len() + MAX_BLOCK_INSNS as usize > MAX_OPS
        {
            self.clear();
            cleared = true;
        }
        let start = self.arena.ops.len();
        let page_end = (va & !PAGE_MASK) + PAGE_SIZE;
        let mut pc = va;
        let mut insns = 0u32;
        let mut term = FALLTHROUGH;
        let mut taken = 0;
        while pc < page_end && insns < MAX_BLOCK_INSNS {
            let op = decode(host.load::<4>(pc) as u32);
            let at = insns;
            insns += 1;
            pc += 4;
            if ends_block(&op) {
                term = op;
                taken = branch_target(pc - 4, &op);
                break;
            }
            if op.kind == Kind::Nop {
                continue;
            }
            self.arena.ops.push(op);
            self.arena.pos.push(at as u16);
        }
        let len = (self.arena.ops.len() - start) as u32;
        let id = self.arena.blocks.len() as u32;
        self.arena.blocks.push(Block {
            va,
            host,
            start: start as u32,
            len,
            insns,
            term,
            taken,
            next: pc,
            succ: [NO_BLOCK; 2],
        });
        let lo = ((va & PAGE_MASK) / 4) as u16;
        let hi = lo + insns as u16 - 1;
        let hash = words_hash((0..insns as u64).map(|i| host.load::<4>(va + 4 * i) as u32));
        let new_page = self.index.add(id, va, pa & !PAGE_MASK, lo, hi, hash);
        Built {
            id,
            new_page,
            cleared,
        }
    }
}
