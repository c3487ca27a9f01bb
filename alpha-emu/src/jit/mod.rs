//! The block compiler: predecoded blocks → x86-64 machine code, chained
//! directly to each other.
//!
//! Each CPU keeps one executable code buffer per address space it keeps
//! code for (see `spaces`). A block is compiled the first
//! time the dispatcher enters it ([`compile`] describes the code and the
//! register plan). Direct branches start out as jumps to little stubs that
//! leave for the dispatcher with the target address and the address of the
//! jump; once the target is compiled the dispatcher patches the jump to go
//! straight there. Indirect jumps (`ret`, `jsr`, `jmp`) probe a small
//! direct-mapped table from guest address to compiled entry.
//!
//! Compiled code is a cache of the block cache: when a block is killed (a
//! store into its code) its entry is patched into a jump to its own
//! "look me up again" stub, so stale links stay harmless; when the block
//! cache is emptied, or the buffer fills up, the whole buffer is reset.
//!
//! The unsafe code here is the call into the buffer (and the cast that
//! makes the buffer's start a function), and in [`helpers`] the borrow of
//! the guest state compiled code passes to Rust. Writing the buffer goes
//! through `vm-memory`'s bounds-checked volatile accessors.

mod compile;
mod helpers;
mod x86;

use spin_kernel::machine::{Access, FastTraps, Trap};
use vm_memory::{MmapRegion, VolatileMemory};

use crate::block::{CodeCache, MAX_BLOCK_INSNS};
use crate::cpu::LiveFrame;
use crate::interp::{find_block, step_one, Ctx, Exit, State};
use x86::*;

/// Left because the next block needs more budget than remains.
pub(crate) const EXIT_BUDGET: u32 = 0;
/// Left to find (and maybe link) the block at `Env::exit_pc`.
pub(crate) const EXIT_LOOKUP: u32 = 1;
/// Left for the interpreter to run the instruction at `Env::exit_pc`.
pub(crate) const EXIT_INTERP: u32 = 2;
/// Left after a `callsys`, which retired: the guest traps for a system
/// call with `Env::exit_pc` after it.
pub(crate) const EXIT_SYSCALL: u32 = 3;
/// log2 of the indirect-jump table's entries.
pub(crate) const ITAB_BITS: i32 = 12;
/// Bytes of executable memory per CPU.
const CODE_SIZE: usize = 32 << 20;
/// Most bytes one block's code can take (128 instructions, each with a stub).
const MAX_BLOCK_CODE: usize = 64 << 10;
const NO_CODE: u32 = u32::MAX;

/// What compiled code reads and writes besides guest state (layout fixed).
#[repr(C)]
pub(crate) struct Env {
    /// Budget left (r15 while inside).
    pub left: u64,
    /// Where to go on, after an exit.
    pub exit_pc: u64,
    /// For `EXIT_LOOKUP`: address of the rel32 field to point at the target, or 0.
    pub patch: u64,
    /// Addresses (kept as integers: they are only handed to compiled code).
    state: usize,
    tlb: usize,
    pub(crate) itab: usize,
}

/// An indirect-jump table entry: a guest address and its compiled entry.
#[repr(C)]
#[derive(Clone, Copy)]
struct IEntry {
    va: u64,
    code: u64,
}

const IEMPTY: IEntry = IEntry {
    va: u64::MAX,
    code: 0,
};

/// Enters compiled code at `target` with `env`; returns the exit code.
type EnterFn = unsafe extern "sysv64" fn(*mut Env, usize) -> u32;

/// One CPU's compiled code.
pub(crate) struct Jit {
    region: MmapRegion<()>,
    base: usize,
    /// Bytes of the buffer in use.
    used: usize,
    /// Where block code starts (after the shared entry/exit code).
    start: usize,
    enter: EnterFn,
    exit: usize,
    miss: usize,
    /// Per block id: buffer offset of its entry, or `NO_CODE`.
    native: Vec<u32>,
    /// Per block id: buffer offset of its "look up again" stub.
    dead: Vec<u32>,
    /// The block cache epoch the code was compiled against.
    epoch: u64,
    /// Bumped by every reset: patch sites from older generations are gone.
    gen: u64,
    itab: Box<[IEntry; 1 << ITAB_BITS]>,
    env: Box<Env>,
    scratch: Vec<u8>,
    multi: bool,
    /// `Shared::held_addr()` and this CPU's complement bit (see `Outside`).
    held: usize,
    others: u64,
    bitcount: bool,
    /// Blocks compiled since creation.
    pub compiled: u64,
    /// Times the buffer was reset.
    pub resets: u64,
    /// Exits to the dispatcher, by exit code (budget, lookup, interpreter).
    pub exits: [u64; 3],
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit")
            .field("used", &self.used)
            .field("compiled", &self.compiled)
            .finish()
    }
}

/// Emits the shared entry, exit and indirect-miss sequences at offset 0.
fn emit_runtime(a: &mut Asm) -> (usize, usize) {
    const ENV_LEFT: i32 = std::mem::offset_of!(Env, left) as i32;
    const ENV_PC: i32 = std::mem::offset_of!(Env, exit_pc) as i32;
    const ENV_PATCH: i32 = std::mem::offset_of!(Env, patch) as i32;
    const ENV_STATE: i32 = std::mem::offset_of!(Env, state) as i32;
    const ENV_TLB: i32 = std::mem::offset_of!(Env, tlb) as i32;
    // enter(env = rdi, target = rsi)
    for r in [RBX, RBP, R12, R13, R14, R15] {
        a.push(r);
    }
    a.alu_imm(Alu::Sub, RSP, 8);
    a.mov(RBP, RDI);
    a.load64(RBX, mem(RBP, ENV_STATE));
    a.load64(R13, mem(RBP, ENV_TLB));
    a.load64(R15, mem(RBP, ENV_LEFT));
    a.jmp_r(RSI);
    // exit: eax = code
    let exit = a.pos();
    a.store64(mem(RBP, ENV_LEFT), R15);
    a.alu_imm(Alu::Add, RSP, 8);
    for r in [R15, R14, R13, R12, RBP, RBX] {
        a.pop(r);
    }
    a.ret();
    // indirect miss: rdx = target
    let miss = a.pos();
    a.store64(mem(RBP, ENV_PC), RDX);
    a.store_imm(mem(RBP, ENV_PATCH), 0);
    a.mov_imm(RAX, EXIT_LOOKUP as u64);
    let j = a.jmp();
    a.bind(j, exit);
    (exit, miss)
}

impl Jit {
    /// A compiler with an empty buffer, or `None` when executable memory
    /// cannot be had (the interpreter runs everything then).
    pub fn new() -> Option<Jit> {
        const PROT_RWX: i32 = 1 | 2 | 4;
        const MAP_PRIVATE_ANON_NORESERVE: i32 = 0x02 | 0x20 | 0x4000;
        let region =
            MmapRegion::<()>::build(None, CODE_SIZE, PROT_RWX, MAP_PRIVATE_ANON_NORESERVE).ok()?;
        let base = region.as_ptr() as usize;
        let mut a = Asm::new(base, Vec::with_capacity(MAX_BLOCK_CODE));
        let (exit, miss) = emit_runtime(&mut a);
        region.get_slice(0, a.buf.len()).ok()?.copy_from(&a.buf);
        let start = (a.buf.len() + 15) & !15;
        // SAFETY: offset 0 of the buffer now holds the entry sequence just
        // emitted, which follows the SysV calling convention for
        // `fn(*mut Env, usize) -> u32`: it saves every callee-saved register
        // it uses, keeps the stack aligned, and returns through `exit`. The
        // buffer is mapped executable and lives as long as `self` (the
        // function pointer is never used after `region` is dropped).
        let enter: EnterFn = unsafe { std::mem::transmute::<usize, EnterFn>(base) };
        let bitcount = std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("lzcnt")
            && std::arch::is_x86_feature_detected!("bmi1");
        Some(Jit {
            region,
            base,
            used: start,
            start,
            enter,
            exit: base + exit,
            miss: base + miss,
            native: Vec::new(),
            dead: Vec::new(),
            epoch: u64::MAX,
            gen: 0,
            itab: Box::new([IEMPTY; 1 << ITAB_BITS]),
            env: Box::new(Env {
                left: 0,
                exit_pc: 0,
                patch: 0,
                state: 0,
                tlb: 0,
                itab: 0,
            }),
            scratch: a.buf,
            multi: false,
            held: 0,
            others: 0,
            bitcount,
            compiled: 0,
            resets: 0,
            exits: [0; 3],
        })
    }

    /// Drops all compiled code.
    fn reset(&mut self) {
        self.used = self.start;
        self.native.clear();
        self.dead.clear();
        self.itab.fill(IEMPTY);
        self.gen += 1;
        self.resets += 1;
    }

    /// Writes `bytes` at buffer offset `off`; false if out of bounds.
    fn write(&self, off: usize, bytes: &[u8]) -> bool {
        match self.region.get_slice(off, bytes.len()) {
            Ok(s) => {
                s.copy_from(bytes);
                true
            }
            Err(_) => false,
        }
    }

    /// Points the rel32 field at absolute address `site` to buffer offset `target`.
    fn patch(&self, site: usize, target: usize) {
        if site < self.base + self.start || site + 4 > self.base + self.used {
            return;
        }
        let rel = rel32(site, self.base + target);
        self.write(site - self.base, &rel.to_le_bytes());
    }

    /// Catches up with the block cache: a new epoch drops all code, killed
    /// blocks get their entries unlinked.
    fn sync(&mut self, code: &mut CodeCache, multi: bool) {
        if code.epoch != self.epoch || multi != self.multi {
            self.reset();
            self.epoch = code.epoch;
            self.multi = multi;
            code.index.killed.clear();
        }
        while let Some(id) = code.index.killed.pop() {
            let id = id as usize;
            let Some(&entry) = self.native.get(id) else {
                continue;
            };
            if entry == NO_CODE {
                continue;
            }
            self.native[id] = NO_CODE;
            let stub = self.dead[id] as usize;
            let mut jmp = [0xe9, 0, 0, 0, 0];
            let rel = rel32(self.base + entry as usize + 1, self.base + stub);
            jmp[1..].copy_from_slice(&rel.to_le_bytes());
            self.write(entry as usize, &jmp);
        }
    }

    /// The buffer offset of block `id`'s compiled entry, compiling it now
    /// if needed; `None` if it cannot be compiled.
    fn entry(&mut self, code: &CodeCache, id: u32) -> Option<usize> {
        if let Some(&e) = self.native.get(id as usize) {
            if e != NO_CODE {
                return Some(e as usize);
            }
        }
        if self.used + MAX_BLOCK_CODE > CODE_SIZE {
            self.reset();
        }
        let blk = code.arena.blocks.get(id as usize)?;
        let range = blk.start as usize..(blk.start + blk.len) as usize;
        let body = &code.arena.ops[range.clone()];
        let pos = &code.arena.pos[range];
        let origin = self.base + self.used;
        let mut a = Asm::new(origin, std::mem::take(&mut self.scratch));
        let compiled = {
            let native = &self.native;
            let base = self.base;
            let resolve = |va: u64| -> Option<usize> {
                let id = code.index.peek(va)?;
                if !code.index.is_live(id) {
                    return None;
                }
                match native.get(id as usize) {
                    Some(&e) if e != NO_CODE => Some(base + e as usize),
                    _ => None,
                }
            };
            let out = compile::Outside {
                exit: self.exit,
                miss: self.miss,
                multi: self.multi,
                held: self.held,
                others: self.others,
                bitcount: self.bitcount,
                resolve: &resolve,
                fp_helper: helpers::fp as *const () as usize,
                lds_helper: helpers::lds as *const () as usize,
            };
            compile::compile(&mut a, blk, body, pos, &out)
        };
        let buf = a.buf;
        let ok = buf.len() <= MAX_BLOCK_CODE && self.write(self.used, &buf);
        let len = buf.len();
        self.scratch = buf;
        if !ok {
            return None;
        }
        let entry = self.used;
        let n = code.arena.blocks.len();
        if self.native.len() < n {
            self.native.resize(n, NO_CODE);
            self.dead.resize(n, NO_CODE);
        }
        self.native[id as usize] = entry as u32;
        self.dead[id as usize] = (entry + compiled.dead_stub) as u32;
        self.itab[(blk.va >> 2) as usize & ((1 << ITAB_BITS) - 1)] = IEntry {
            va: blk.va,
            code: (self.base + entry) as u64,
        };
        self.used = (entry + len + 15) & !15;
        self.compiled += 1;
        Some(entry)
    }

    /// Runs from `State::pc` for at most `*left` instructions (decrementing
    /// it), returning at a block boundary once about `soft` have run. Same
    /// contract as the interpreter's `run`.
    ///
    /// With `fast`, a system call is first offered to it (`ran`: what the
    /// CPU's `run_fast` retired before this call); one it answers goes on
    /// here, unless it changed the address space (then the CPU's loop
    /// resyncs its TLB first).
    pub fn run<'f>(
        &mut self,
        cx: &mut Ctx<'_>,
        left: &mut u64,
        soft: u64,
        mut fast: Option<&mut (dyn FastTraps + 'f)>,
        ran: u64,
    ) -> Exit {
        let budget = *left;
        let generation = cx.space.generation();
        let mut link: Option<(u64, usize)> = None;
        self.held = cx.shared.held_addr();
        self.others = !(1u64 << cx.me);
        loop {
            self.sync(cx.code, cx.multi);
            if budget - *left >= soft {
                return Exit::Continue;
            }
            let pc = cx.st.pc & !3;
            let id = match find_block(cx.mmu, cx.code, cx.space, pc) {
                Ok(id) => id,
                Err(f) => {
                    cx.st.pc = pc;
                    return Exit::Trap(Trap::PageFault {
                        va: f.va,
                        access: Access::Execute,
                        pc,
                    });
                }
            };
            // Building may have emptied the block cache.
            self.sync(cx.code, cx.multi);
            let insns = cx.code.arena.blocks[id as usize].insns as u64;
            if insns > *left {
                // Too little budget for the whole block: the interpreter
                // spends the rest one instruction at a time.
                while *left > 0 {
                    let retired = cx.retired + (budget - *left);
                    if let Some(exit) = step_one(cx, left, retired) {
                        return exit;
                    }
                }
                return Exit::Budget;
            }
            let Some(entry) = self.entry(cx.code, id) else {
                // No code for it: the interpreter steps one instruction.
                let retired = cx.retired + (budget - *left);
                if let Some(exit) = step_one(cx, left, retired) {
                    return exit;
                }
                if *left == 0 {
                    return Exit::Budget;
                }
                continue;
            };
            if let Some((gen, site)) = link.take() {
                if gen == self.gen {
                    self.patch(site, entry);
                }
            }
            let chunk = (*left).min(soft.max(MAX_BLOCK_INSNS as u64));
            let env = &mut *self.env;
            env.left = chunk;
            env.state = &mut *cx.st as *mut State as usize;
            env.tlb = cx.mmu.data_tlbs() as usize;
            env.itab = self.itab.as_ptr() as usize;
            // SAFETY: `enter` is the entry sequence at the start of our
            // buffer (see `new`) and `entry` the start of a block compiled
            // into it in the current generation. Compiled code only reads
            // and writes: the guest registers in `*env.state` (a live,
            // exclusively borrowed `State`), `*env`, the data TLBs and the
            // indirect table (live boxes owned by this CPU, only read), the
            // reservation mask of `cx.shared` (read), and guest RAM through
            // host addresses the TLB holds, which stay valid while the Mmu
            // keeps its `Arc<GuestRam>` — each access aligned and inside one
            // page, as the interpreter's atomics do. The only functions it
            // calls are `helpers::fp` (given that same `State`) and
            // `helpers::lds`, with the stack aligned as the ABI requires. It
            // returns through the exit sequence with all callee-saved
            // registers restored. No Rust reference to that memory is used
            // while it runs.
            let code = unsafe { (self.enter)(env, self.base + entry) };
            *left -= chunk - env.left;
            cx.st.pc = env.exit_pc;
            self.exits[(code as usize).min(2)] += 1;
            match code {
                EXIT_BUDGET => {}
                EXIT_SYSCALL => {
                    let Some(f) = fast.as_deref_mut() else {
                        return Exit::Trap(Trap::Syscall);
                    };
                    let ran = ran + (budget - *left);
                    if !f.syscall(&mut LiveFrame(&mut *cx.st), ran) {
                        return Exit::Trap(Trap::Syscall);
                    }
                    // Answered: the exception ends (an `ldx_l` reservation
                    // with it), and the guest goes on after the call.
                    if cx.st.lock_valid {
                        cx.st.lock_valid = false;
                        cx.shared.release(cx.me);
                    }
                    if *left == 0 {
                        return Exit::Budget;
                    }
                    if cx.space.generation() != generation {
                        return Exit::Continue;
                    }
                }
                EXIT_LOOKUP => {
                    if env.patch != 0 {
                        link = Some((self.gen, env.patch as usize));
                    }
                }
                _ => {
                    let retired = cx.retired + (budget - *left);
                    if let Some(exit) = step_one(cx, left, retired) {
                        return exit;
                    }
                    if *left == 0 {
                        return Exit::Budget;
                    }
                }
            }
        }
    }
}
