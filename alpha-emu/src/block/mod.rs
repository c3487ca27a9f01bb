//! The block cache: guest code predecoded into straight-line blocks.
//!
//! A [`Block`] is the run of instructions from an entry address up to and
//! including the first one that may leave straight-line flow (a branch, a
//! jump, a trapping PAL call, an illegal encoding, `rpcc`), or to the end of
//! its 8 KiB page, or [`MAX_BLOCK_INSNS`]. Its *body* is a slice of compact
//! [`Op`]s with pre-resolved operands (no-ops dropped, frequent pairs fused,
//! see [`build`]); its *terminator* is kept apart together with its
//! precomputed targets and two cached successor links, so a hot loop goes
//! from block to block without a lookup.
//!
//! Blocks are keyed by the virtual address of their entry, so a cache
//! belongs to one address space (a CPU keeps one per space it runs, see
//! `spaces`), and within it a virtual address always names the same bytes:
//! when the space's mappings change, the cache is revalidated
//! ([`CodeCache::revalidate`]) before it is used again. Each block also
//! remembers its physical page, and per physical page the cache keeps a
//! bitmap of the instruction slots some live block covers:
//!
//! - a guest store into a page that holds code (the write TLB marks such
//!   pages so their stores take the slow path) kills exactly the blocks that
//!   overlap the written bytes ([`CodeIndex::invalidate`]); a store into
//!   data that merely shares a page with code costs a bitmap test;
//! - `imb`, another CPU's `imb`, or running out of room empties the cache
//!   ([`CodeCache::clear`]);
//! - the kernel, which writes guest memory from the host side (loading a
//!   program, copy-on-write), flushes with
//!   [`crate::AlphaCpu::invalidate_code_va`] /
//!   [`crate::AlphaCpu::invalidate_code_pa`].
//!
//! Killed blocks stay in the arena (their ids are never reused before the
//! next [`CodeCache::clear`]), so a stale successor link is caught by one
//! liveness test and nothing on the hot path allocates or frees.

pub(crate) mod build;

use std::collections::HashMap;

use crate::decode::{Kind, Op};
use crate::mmu::{HostPage, PAGE_MASK, PAGE_SIZE};

/// Instructions per page.
pub const PAGE_INSNS: usize = (PAGE_SIZE / 4) as usize;
/// Most guest instructions in one block.
pub const MAX_BLOCK_INSNS: u32 = 128;
/// A block id that names no block.
pub(crate) const NO_BLOCK: u32 = u32::MAX;
/// Most blocks held before the cache is emptied.
const MAX_BLOCKS: usize = 1 << 16;
/// Most body ops held before the cache is emptied (8 MiB of ops).
const MAX_OPS: usize = 1 << 20;
/// Entries of the direct-mapped virtual-address → block cache.
const JCACHE: usize = 4096;

/// The pseudo-terminator of a block that simply runs into its successor
/// (page end or length limit); it is not an instruction.
pub(crate) const FALLTHROUGH: Op = Op {
    kind: Kind::PageEnd,
    a: 31,
    b: 31,
    c: crate::decode::SINK,
    imm: 0,
};

/// One predecoded straight-line block.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Virtual address of the first instruction.
    pub va: u64,
    /// The host page holding the block's instructions.
    pub host: HostPage,
    /// Index of the first body op in [`Arena::ops`].
    pub start: u32,
    /// Number of body ops.
    pub len: u32,
    /// Guest instructions in the block, the terminator included.
    pub insns: u32,
    /// The last instruction ([`FALLTHROUGH`] when the block just runs on).
    pub term: Op,
    /// Target of a direct branch terminator.
    pub taken: u64,
    /// Address after the block (fall-through, and the return address of `bsr`/`jsr`).
    pub next: u64,
    /// Cached successors: `[taken or last indirect target, fall-through]`.
    pub succ: [u32; 2],
}

/// Storage for blocks and their body ops (read by the executor while the
/// [`CodeIndex`] is being updated by stores).
#[derive(Default)]
pub(crate) struct Arena {
    /// Every block built since the last clear, by id.
    pub blocks: Vec<Block>,
    /// Body ops of all blocks, back to back.
    pub ops: Vec<Op>,
    /// For each op in `ops`: the index of its (first) instruction in its block.
    pub pos: Vec<u16>,
}

/// Per-physical-page bookkeeping for invalidation.
struct CodePage {
    /// Ids of the blocks whose instructions lie in this page (some may be dead).
    blocks: Vec<u32>,
    /// Bit `i` set: instruction slot `i` is covered by a live block.
    covered: [u64; PAGE_INSNS / 64],
}

#[derive(Clone, Copy)]
struct JEntry {
    va: u64,
    id: u32,
}

const JEMPTY: JEntry = JEntry {
    va: u64::MAX,
    id: NO_BLOCK,
};

/// What the index knows about one block.
#[derive(Clone, Copy)]
struct Meta {
    live: bool,
    va: u64,
    /// Physical page of the block.
    page: u64,
    /// First and last instruction slot the block covers in its page.
    lo: u16,
    hi: u16,
    /// Hash of the block's instruction words when it was decoded.
    hash: u64,
}

/// FNV-1a over instruction words: what a block was decoded from.
pub(crate) fn words_hash(words: impl Iterator<Item = u32>) -> u64 {
    words.fold(0xcbf2_9ce4_8422_2325, |h, w| {
        (h ^ w as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Which blocks exist and are live, found by virtual or physical address.
pub(crate) struct CodeIndex {
    meta: Vec<Meta>,
    by_va: HashMap<u64, u32>,
    jcache: Box<[JEntry; JCACHE]>,
    pages: HashMap<u64, CodePage>,
    /// Blocks killed since the compiled-code layer last looked (it unlinks them).
    pub killed: Vec<u32>,
    /// Physical pages holding code decoded for *other* address spaces (kept
    /// by the same CPU): stores to them are noted in `foreign_writes`.
    pub foreign: std::collections::HashSet<u64>,
    /// `(pa, len)` of stores into `foreign` pages since the set was made.
    pub foreign_writes: Vec<(u64, u64)>,
    /// Lowest and highest virtual page any block was decoded from since the
    /// index was emptied (`(u64::MAX, 0)`: none), so a change of pages
    /// outside it needs no look at the blocks.
    pub vspan: (u64, u64),
}

impl Default for CodeIndex {
    fn default() -> Self {
        CodeIndex {
            meta: Vec::new(),
            by_va: HashMap::new(),
            jcache: Box::new([JEMPTY; JCACHE]),
            pages: HashMap::new(),
            killed: Vec::new(),
            foreign: std::collections::HashSet::new(),
            foreign_writes: Vec::new(),
            vspan: (u64::MAX, 0),
        }
    }
}

#[inline(always)]
fn jslot(va: u64) -> usize {
    ((va >> 2) ^ (va >> 14)) as usize & (JCACHE - 1)
}

impl CodeIndex {
    /// Whether block `id` is live (false for [`NO_BLOCK`]).
    #[inline(always)]
    pub fn is_live(&self, id: u32) -> bool {
        match self.meta.get(id as usize) {
            Some(m) => m.live,
            None => false,
        }
    }

    /// The live block entered at `va`, if any.
    #[inline]
    pub fn lookup(&mut self, va: u64) -> Option<u32> {
        let j = jslot(va);
        let e = self.jcache[j];
        if e.va == va {
            return Some(e.id);
        }
        let id = *self.by_va.get(&va)?;
        self.jcache[j] = JEntry { va, id };
        Some(id)
    }

    /// The live block entered at `va`, if any, without touching the lookup cache.
    pub fn peek(&self, va: u64) -> Option<u32> {
        self.by_va.get(&va).copied()
    }

    /// Whether physical page `pa` (any address in it) holds predecoded code,
    /// for this address space or another one this CPU keeps code for.
    pub fn is_code(&self, pa: u64) -> bool {
        let p = pa & !PAGE_MASK;
        self.pages.contains_key(&p) || self.foreign.contains(&p)
    }

    /// Records block `id` at `va`, covering slots `lo..=hi` of physical page
    /// `page`; returns whether the page held no code before.
    fn add(&mut self, id: u32, va: u64, page: u64, lo: u16, hi: u16, hash: u64) -> bool {
        debug_assert_eq!(id as usize, self.meta.len());
        self.meta.push(Meta {
            live: true,
            va,
            page,
            lo,
            hi,
            hash,
        });
        self.by_va.insert(va, id);
        self.jcache[jslot(va)] = JEntry { va, id };
        let vp = va & !PAGE_MASK;
        self.vspan = (self.vspan.0.min(vp), self.vspan.1.max(vp));
        let mut fresh = false;
        let p = self.pages.entry(page).or_insert_with(|| {
            fresh = true;
            CodePage {
                blocks: Vec::new(),
                covered: [0; PAGE_INSNS / 64],
            }
        });
        p.blocks.push(id);
        for s in lo as usize..=hi as usize {
            p.covered[s / 64] |= 1 << (s % 64);
        }
        fresh
    }

    /// Kills every live block with an instruction in `[pa, pa + len)`;
    /// returns whether any died. Cheap when the bytes hold no code.
    pub fn invalidate(&mut self, pa: u64, len: u64) -> bool {
        if len == 0 {
            return false;
        }
        let page_pa = pa & !PAGE_MASK;
        if self.foreign.contains(&page_pa) {
            self.foreign_writes.push((pa, len));
        }
        let Some(page) = self.pages.get(&page_pa) else {
            return false;
        };
        let first = ((pa & PAGE_MASK) / 4) as usize;
        let last = (((pa & PAGE_MASK) + len - 1) / 4).min(PAGE_INSNS as u64 - 1) as usize;
        if !(first..=last).any(|s| page.covered[s / 64] & (1 << (s % 64)) != 0) {
            return false;
        }
        self.kill_overlapping(page_pa, first, last)
    }

    /// Kills the live blocks of `page_pa` that cover a slot in `first..=last`
    /// and recomputes the page's bitmap from the survivors.
    #[cold]
    fn kill_overlapping(&mut self, page_pa: u64, first: usize, last: usize) -> bool {
        let Some(page) = self.pages.get_mut(&page_pa) else {
            return false;
        };
        let mut killed = false;
        let mut covered = [0u64; PAGE_INSNS / 64];
        let meta = &mut self.meta;
        let dead = &mut self.killed;
        page.blocks.retain(|&id| {
            let m = &mut meta[id as usize];
            if !m.live {
                return false;
            }
            let (lo, hi) = (m.lo as usize, m.hi as usize);
            if lo <= last && first <= hi {
                m.live = false;
                killed = true;
                dead.push(id);
                return false;
            }
            for s in lo..=hi {
                covered[s / 64] |= 1 << (s % 64);
            }
            true
        });
        page.covered = covered;
        if killed {
            for (id, m) in meta.iter().enumerate() {
                if m.live || m.page != page_pa {
                    continue;
                }
                if self.by_va.get(&m.va) == Some(&(id as u32)) {
                    self.by_va.remove(&m.va);
                }
                let j = jslot(m.va);
                if self.jcache[j].id == id as u32 {
                    self.jcache[j] = JEMPTY;
                }
            }
        }
        killed
    }

    /// Kills the given live blocks.
    fn kill_ids(&mut self, ids: &[u32]) {
        let mut pages = Vec::new();
        for &id in ids {
            let Some(m) = self.meta.get_mut(id as usize) else {
                continue;
            };
            if !m.live {
                continue;
            }
            m.live = false;
            let m = *m;
            self.killed.push(id);
            if self.by_va.get(&m.va) == Some(&id) {
                self.by_va.remove(&m.va);
            }
            let j = jslot(m.va);
            if self.jcache[j].id == id {
                self.jcache[j] = JEMPTY;
            }
            if !pages.contains(&m.page) {
                pages.push(m.page);
            }
        }
        for p in pages {
            let Some(page) = self.pages.get_mut(&p) else {
                continue;
            };
            let meta = &self.meta;
            page.blocks.retain(|&id| meta[id as usize].live);
            let mut covered = [0u64; PAGE_INSNS / 64];
            for &id in &page.blocks {
                let m = &meta[id as usize];
                for s in m.lo as usize..=m.hi as usize {
                    covered[s / 64] |= 1 << (s % 64);
                }
            }
            page.covered = covered;
        }
    }

    /// Kills every block in the physical pages overlapping `[pa, pa + len)`.
    fn invalidate_pages(&mut self, pa: u64, len: u64) -> bool {
        let mut killed = false;
        let mut p = pa & !PAGE_MASK;
        let end = pa.saturating_add(len);
        while p < end {
            if self.pages.contains_key(&p) {
                killed |= self.kill_overlapping(p, 0, PAGE_INSNS - 1);
            }
            p = match p.checked_add(PAGE_SIZE) {
                Some(n) => n,
                None => break,
            };
        }
        killed
    }

    fn clear(&mut self) {
        self.killed.clear();
        self.foreign_writes.clear();
        self.meta.clear();
        self.by_va.clear();
        self.jcache.fill(JEMPTY);
        self.pages.clear();
        self.vspan = (u64::MAX, 0);
    }
}

/// The per-CPU block cache: the arena the executor reads and the index that
/// stores update.
#[derive(Default)]
pub(crate) struct CodeCache {
    /// Blocks and their ops.
    pub arena: Arena,
    /// Lookup and invalidation state.
    pub index: CodeIndex,
    /// Bumped by every [`CodeCache::clear`]: ids from an older epoch are stale.
    pub epoch: u64,
    /// How many times the cache was emptied (imb, remap, overflow).
    pub flushes: u64,
}

impl CodeCache {
    /// Empties the cache.
    pub fn clear(&mut self) {
        self.arena.blocks.clear();
        self.arena.ops.clear();
        self.arena.pos.clear();
        self.index.clear();
        self.epoch += 1;
        self.flushes += 1;
    }

    /// Number of physical pages holding predecoded code.
    pub fn pages(&self) -> usize {
        self.index.pages.len()
    }

    /// Number of live blocks.
    pub fn live_blocks(&self) -> usize {
        self.index.meta.iter().filter(|m| m.live).count()
    }

    /// Kills the blocks in the physical pages overlapping `[pa, pa + len)`.
    pub fn invalidate_pa(&mut self, pa: u64, len: u64) -> bool {
        self.index.invalidate_pages(pa, len)
    }

    /// Kills the blocks with an instruction in the virtual range
    /// `[va, va + len)`.
    pub fn invalidate_va(&mut self, va: u64, len: u64) -> bool {
        let end = va.saturating_add(len);
        let ids: Vec<u32> = (0..self.index.meta.len() as u32)
            .filter(|&id| {
                let m = &self.index.meta[id as usize];
                let last = m.va + 4 * (m.hi - m.lo) as u64;
                m.live && m.va < end && va <= last
            })
            .collect();
        self.index.kill_ids(&ids);
        !ids.is_empty()
    }

    /// After the address space changed (a new generation): kills every block
    /// whose virtual page no longer maps to the frame it was decoded from
    /// (`frame_of(va_page)` is the page's executable frame now, `None` if
    /// there is none) or whose instruction words changed (a frame reused at
    /// the same address). Returns how many blocks died.
    ///
    /// Only blocks whose virtual page passes `touched` (the pages a new
    /// generation changed) are looked at; the others stay.
    pub fn revalidate_where(
        &mut self,
        touched: impl Fn(u64) -> bool,
        mut frame_of: impl FnMut(u64) -> Option<u64>,
    ) -> usize {
        let mut pages: HashMap<u64, bool> = HashMap::new();
        let mut dead = Vec::new();
        for (id, m) in self.index.meta.iter().enumerate() {
            if !m.live {
                continue;
            }
            let vp = m.va & !PAGE_MASK;
            if !touched(vp) {
                continue;
            }
            let mapped = *pages
                .entry(vp)
                .or_insert_with(|| frame_of(vp) == Some(m.page));
            let blk = &self.arena.blocks[id];
            let same = mapped
                && words_hash(
                    (0..blk.insns as u64).map(|i| blk.host.load::<4>(blk.va + 4 * i) as u32),
                ) == m.hash;
            if !same {
                dead.push(id as u32);
            }
        }
        self.index.kill_ids(&dead);
        dead.len()
    }

    /// The physical pages holding this cache's code.
    pub fn code_pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.index.pages.keys().copied()
    }
}
