//! The predecoded code cache.
//!
//! Guest code is predecoded per physical page: each 8 KiB page gets 2048
//! instruction slots (plus an end-of-page sentinel) holding [`Op`]s. Slots are
//! decoded lazily the first time they execute, so a page costs nothing until
//! it runs. A store into a page that holds code resets the overwritten slots
//! (self-modifying code needs no `imb` on the same CPU); `imb`, or another
//! CPU's `imb`, empties the whole cache.
//!
//! Pages are keyed by physical address; the execute TLB maps a virtual page
//! to a cache index. The CPU empties the cache whenever the address space or
//! its generation changes (a frame may have been reused for other code).
//! Writes the kernel makes to a mapped code page without changing any mapping
//! are not seen by CPUs that already decoded it (as on hardware without `imb`).

use std::cell::Cell;
use std::collections::HashMap;

use crate::decode::{Kind, Op};
use crate::mmu::{HostPage, PAGE_MASK, PAGE_SIZE};

/// Instructions per page.
pub const PAGE_INSNS: usize = (PAGE_SIZE / 4) as usize;
/// Most pages the cache holds before it is emptied (≈ 16 MiB of guest code).
const MAX_PAGES: usize = 2048;

/// The sentinel in the slot after the last instruction of a page.
pub(crate) const PAGE_END: Op = Op {
    kind: Kind::PageEnd,
    a: 31,
    b: 31,
    c: 32,
    imm: 0,
};

/// One page of predecoded slots.
pub(crate) struct CodePage {
    /// Where the page's bytes live.
    pub host: HostPage,
    /// `PAGE_INSNS` slots plus the end sentinel.
    pub ops: Box<[Cell<Op>]>,
}

/// The per-CPU cache of predecoded pages.
#[derive(Default)]
pub(crate) struct CodeCache {
    pages: Vec<CodePage>,
    index: HashMap<u64, u32>,
    flushed: bool,
    /// How many times the cache was emptied (imb, overflow).
    pub flushes: u64,
}

impl CodeCache {
    /// Whether physical page `pa` (page aligned) holds predecoded code.
    pub fn contains(&self, pa: u64) -> bool {
        self.index.contains_key(&(pa & !PAGE_MASK))
    }

    /// The index of `pa`'s page, creating it if needed; `true` when new.
    pub fn page_for(&mut self, pa: u64, host: HostPage) -> (usize, bool) {
        if let Some(&i) = self.index.get(&pa) {
            return (i as usize, false);
        }
        if self.pages.len() >= MAX_PAGES {
            self.clear();
        }
        let mut ops = Vec::with_capacity(PAGE_INSNS + 1);
        ops.resize(PAGE_INSNS, Cell::new(Op::DECODE));
        ops.push(Cell::new(PAGE_END));
        let i = self.pages.len();
        self.pages.push(CodePage {
            host,
            ops: ops.into_boxed_slice(),
        });
        self.index.insert(pa, i as u32);
        (i, true)
    }

    /// The page at `i`.
    #[inline(always)]
    pub fn page(&self, i: usize) -> Option<&CodePage> {
        self.pages.get(i)
    }

    /// Forgets predecoded slots covering `[pa, pa + len)` (a store hit code).
    pub fn invalidate(&self, pa: u64, len: u64) {
        let Some(&i) = self.index.get(&(pa & !PAGE_MASK)) else {
            return;
        };
        let page = &self.pages[i as usize];
        let first = ((pa & PAGE_MASK) / 4) as usize;
        let last = (((pa & PAGE_MASK) + len - 1) / 4) as usize;
        for slot in page.ops[first..=last.min(PAGE_INSNS - 1)].iter() {
            slot.set(Op::DECODE);
        }
    }

    /// Empties the cache (imb).
    pub fn clear(&mut self) {
        self.pages.clear();
        self.index.clear();
        self.flushed = true;
        self.flushes += 1;
    }

    /// Whether the cache was emptied since the last call (resets the flag).
    pub fn take_flushed(&mut self) -> bool {
        std::mem::take(&mut self.flushed)
    }

    /// Number of predecoded pages held.
    pub fn len(&self) -> usize {
        self.pages.len()
    }
}
