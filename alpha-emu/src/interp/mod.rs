//! The interpreter: register state, the block execution loop and the
//! shared multiprocessor state (LL/SC reservations, `imb` broadcasts).

pub mod alu;
mod exec;
pub(crate) mod shared;

pub(crate) use exec::{find_block, fp_op, run, step_one, Ctx, Exit};
pub(crate) use shared::Shared;

use crate::regs::AlphaRegs;

/// Alpha EXC_SUM bit for integer overflow (IOV).
pub const EXC_IOV: u64 = 1 << 6;

/// `amask` bits this CPU implements (BWX, FIX, CIX, MVI, precise traps,
/// prefetch-with-modify): the bits `amask` clears, as qemu-alpha 7.2 (EV67) does.
pub const AMASK_IMPLEMENTED: u64 = 0x1307;

/// `implver` result: 2 = EV6 family (21264), as qemu-alpha reports.
pub const IMPLVER: u64 = 2;

/// The register file as the interpreter keeps it while running: 256 slots
/// per file so a `u8` register index never needs a bounds check; slot 31 is
/// always zero and slot 32 is the write sink for r31/f31. The layout is
/// fixed because compiled code addresses the fields (see `STATE_*`).
#[repr(C)]
pub(crate) struct State {
    pub r: [u64; 256],
    pub f: [u64; 256],
    pub pc: u64,
    pub fpcr: u64,
    pub unique: u64,
    pub lock_valid: bool,
    pub lock_pa: u64,
    pub lock_value: u64,
    /// The `rc`/`rs` interrupt flag.
    pub intr_flag: u64,
}

/// Byte offset of `State::f`.
pub(crate) const STATE_F: i32 = std::mem::offset_of!(State, f) as i32;
/// Byte offset of `State::fpcr`.
pub(crate) const STATE_FPCR: i32 = std::mem::offset_of!(State, fpcr) as i32;
/// Byte offset of `State::unique`.
pub(crate) const STATE_UNIQUE: i32 = std::mem::offset_of!(State, unique) as i32;
/// Byte offset of `State::intr_flag`.
pub(crate) const STATE_INTR: i32 = std::mem::offset_of!(State, intr_flag) as i32;

impl State {
    /// A zeroed state.
    pub fn new() -> Box<State> {
        Box::new(State {
            r: [0; 256],
            f: [0; 256],
            pc: 0,
            fpcr: 0,
            unique: 0,
            lock_valid: false,
            lock_pa: 0,
            lock_value: 0,
            intr_flag: 0,
        })
    }

    /// Copies `regs` in.
    pub fn load(&mut self, regs: &AlphaRegs) {
        self.r[..32].copy_from_slice(&regs.r);
        self.f[..32].copy_from_slice(&regs.f);
        self.r[31] = 0;
        self.f[31] = 0;
        self.pc = regs.pc;
        self.fpcr = regs.fpcr;
        self.unique = regs.unique;
        self.lock_valid = regs.lock_valid;
        self.lock_pa = regs.lock_pa;
        self.lock_value = regs.lock_value;
    }

    /// Copies the architectural state out to `regs`.
    pub fn save(&self, regs: &mut AlphaRegs) {
        regs.r.copy_from_slice(&self.r[..32]);
        regs.f.copy_from_slice(&self.f[..32]);
        regs.pc = self.pc;
        regs.fpcr = self.fpcr;
        regs.unique = self.unique;
        regs.lock_valid = self.lock_valid;
        regs.lock_pa = self.lock_pa;
        regs.lock_value = self.lock_value;
    }
}
