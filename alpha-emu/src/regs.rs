//! The Alpha user-mode register file.

use spin_kernel::machine::{Arch, RegisterFile, SyscallResult};

/// Default FPCR for a new process: traps disabled, round to nearest
/// (what Linux/Alpha hands a fresh thread).
pub const DEFAULT_FPCR: u64 = 0x680e_8000_0000_0000;

/// Saved state of one Alpha hardware thread in user mode.
#[derive(Clone, PartialEq, Eq)]
pub struct AlphaRegs {
    /// Integer registers r0–r31 (r31 always reads as zero).
    pub r: [u64; 32],
    /// Floating-point registers f0–f31 as raw 64-bit register images.
    pub f: [u64; 32],
    /// Program counter (byte address of the next instruction).
    pub pc: u64,
    /// Floating-point control register.
    pub fpcr: u64,
    /// The PAL `unique` value (thread pointer; `rduniq`/`wruniq`).
    pub unique: u64,
    /// Whether an `ldx_l` reservation is outstanding.
    pub lock_valid: bool,
    /// Physical address of the reserved quadword (16-byte aligned block).
    pub lock_pa: u64,
    /// Value the `ldx_l` read (compared by `stx_c`).
    pub lock_value: u64,
}

impl Default for AlphaRegs {
    fn default() -> Self {
        AlphaRegs {
            r: [0; 32],
            f: [0; 32],
            pc: 0,
            fpcr: DEFAULT_FPCR,
            unique: 0,
            lock_valid: false,
            lock_pa: 0,
            lock_value: 0,
        }
    }
}

/// ABI names of the integer registers, as objdump prints them.
pub const INT_NAMES: [&str; 32] = [
    "v0", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "s0", "s1", "s2", "s3", "s4", "s5", "fp",
    "a0", "a1", "a2", "a3", "a4", "a5", "t8", "t9", "t10", "t11", "ra", "t12", "at", "gp", "sp",
    "zero",
];

impl std::fmt::Debug for AlphaRegs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "pc={:#x} fpcr={:#x} unique={:#x}",
            self.pc, self.fpcr, self.unique
        )?;
        for (i, name) in INT_NAMES.iter().enumerate().take(31) {
            write!(
                f,
                "{name}={:#x}{}",
                self.r[i],
                if i % 4 == 3 { "\n" } else { " " }
            )?;
        }
        Ok(())
    }
}

impl RegisterFile for AlphaRegs {
    const ARCH: Arch = Arch::Alpha;

    fn pc(&self) -> u64 {
        self.pc
    }
    fn set_pc(&mut self, pc: u64) {
        self.pc = pc;
    }
    fn sp(&self) -> u64 {
        self.r[30]
    }
    fn set_sp(&mut self, sp: u64) {
        self.r[30] = sp;
    }
    fn gpr(&self, n: usize) -> u64 {
        if n < 31 {
            self.r[n]
        } else {
            0
        }
    }
    fn set_gpr(&mut self, n: usize, value: u64) {
        if n < 31 {
            self.r[n] = value;
        }
    }
    fn thread_pointer(&self) -> u64 {
        self.unique
    }
    fn set_thread_pointer(&mut self, tp: u64) {
        self.unique = tp;
    }
    fn syscall_number(&self) -> u64 {
        self.r[0]
    }
    fn syscall_arg(&self, i: usize) -> u64 {
        if i < 6 {
            self.r[16 + i]
        } else {
            0
        }
    }
    fn set_syscall_result(&mut self, result: SyscallResult) {
        // Linux/Alpha: v0 = value, a3 = 0; or v0 = errno, a3 = 1.
        match result {
            Ok(v) => {
                self.r[0] = v;
                self.r[19] = 0;
            }
            Err(e) => {
                self.r[0] = e;
                self.r[19] = 1;
            }
        }
    }
    fn fpr(&self, n: usize) -> u64 {
        if n < 31 {
            self.f[n]
        } else {
            0
        }
    }
    fn set_fpr(&mut self, n: usize, value: u64) {
        if n < 31 {
            self.f[n] = value;
        }
    }
    fn fp_control(&self) -> u64 {
        crate::fp::fpcr::architectural(self.fpcr)
    }
    fn set_fp_control(&mut self, value: u64) {
        crate::fp::fpcr::write_architectural(&mut self.fpcr, value);
    }
    fn sw_fp_control(&self) -> u64 {
        crate::fp::fpcr::get_swcr(self.fpcr)
    }
    fn set_sw_fp_control(&mut self, value: u64) {
        crate::fp::fpcr::set_swcr(&mut self.fpcr, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_abi() {
        let mut r = AlphaRegs::default();
        r.r[0] = 4;
        r.r[16] = 1;
        r.r[21] = 9;
        assert_eq!(r.syscall_number(), 4);
        assert_eq!(r.syscall_arg(0), 1);
        assert_eq!(r.syscall_arg(5), 9);
        r.set_syscall_result(Err(22));
        assert_eq!((r.r[0], r.r[19]), (22, 1));
        r.set_gpr(31, 5);
        assert_eq!(r.gpr(31), 0);
    }
}
