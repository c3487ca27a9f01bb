//! The x86-64 register file: what a guest thread is, as far as ring 3 can
//! tell — the sixteen general registers, RIP, RFLAGS, the FS/GS bases and
//! the FXSAVE image (x87 + SSE; the guest CPUID hides XSAVE and AVX).

use spin_kernel::machine::{Arch, RegisterFile, SyscallResult};

/// `RAX`.
pub const RAX: usize = 0;
/// `RCX`.
pub const RCX: usize = 1;
/// `RDX`.
pub const RDX: usize = 2;
/// `RBX`.
pub const RBX: usize = 3;
/// `RSP`.
pub const RSP: usize = 4;
/// `RBP`.
pub const RBP: usize = 5;
/// `RSI`.
pub const RSI: usize = 6;
/// `RDI`.
pub const RDI: usize = 7;
/// `R8`.
pub const R8: usize = 8;
/// `R9`.
pub const R9: usize = 9;
/// `R10`.
pub const R10: usize = 10;
/// `R11`.
pub const R11: usize = 11;

/// System-call argument registers of the Linux x86-64 ABI.
const SYSCALL_ARGS: [usize; 6] = [RDI, 6, RDX, R10, R8, R9];

/// The 512-byte FXSAVE image, 16-byte aligned as `fxsave64` wants it.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct FxArea(pub [u8; 512]);

impl FxArea {
    /// FCW offset.
    const FCW: usize = 0;
    /// MXCSR offset.
    const MXCSR: usize = 24;
    /// First XMM register.
    const XMM: usize = 160;

    /// The x87 control word.
    pub fn fcw(&self) -> u16 {
        u16::from_le_bytes([self.0[Self::FCW], self.0[Self::FCW + 1]])
    }

    /// MXCSR.
    pub fn mxcsr(&self) -> u32 {
        let b = &self.0[Self::MXCSR..Self::MXCSR + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Sets MXCSR (reserved bits cleared, so `fxrstor` cannot #GP).
    pub fn set_mxcsr(&mut self, v: u32) {
        let v = v & 0xffff;
        self.0[Self::MXCSR..Self::MXCSR + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// XMM register `n` (0..16) as two little-endian quadwords.
    pub fn xmm(&self, n: usize) -> [u64; 2] {
        let at = Self::XMM + 16 * (n & 15);
        let q = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.0[at + o..at + o + 8]);
            u64::from_le_bytes(b)
        };
        [q(0), q(8)]
    }

    /// Sets XMM register `n`.
    pub fn set_xmm(&mut self, n: usize, v: [u64; 2]) {
        let at = Self::XMM + 16 * (n & 15);
        self.0[at..at + 8].copy_from_slice(&v[0].to_le_bytes());
        self.0[at + 8..at + 16].copy_from_slice(&v[1].to_le_bytes());
    }
}

/// Bytes of the XSAVE image KVM exchanges (`struct kvm_xsave`).
pub const XSAVE_BYTES: usize = 4096;

/// The XSAVE image past its FXSAVE part, in the standard (non-compacted)
/// layout `KVM_GET_XSAVE` uses: the header (which components are live) and
/// the extended components — the upper halves of the YMM registers, the
/// AVX-512 mask and ZMM registers. A ring-3 `CPUID` on PVM shows the host's
/// AVX and AVX-512 (reference/kvm.md quirk 3), so guest code uses them and
/// each guest thread needs them saved as its XMM registers are.
#[derive(Clone, PartialEq, Eq)]
pub struct XsaveExt(pub [u8; XSAVE_BYTES - 512]);

impl XsaveExt {
    /// `XSTATE_BV`: the components not in their initial state (bit 2:
    /// AVX, 5–7: AVX-512).
    pub fn components(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }
}

impl Default for XsaveExt {
    /// Every extended component in its initial state.
    fn default() -> Self {
        XsaveExt([0; XSAVE_BYTES - 512])
    }
}

impl std::fmt::Debug for XsaveExt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XsaveExt")
            .field("xstate_bv", &format_args!("{:#x}", self.components()))
            .finish_non_exhaustive()
    }
}

impl Default for FxArea {
    /// The state after `fninit` + default MXCSR: all exceptions masked.
    fn default() -> Self {
        let mut a = FxArea([0; 512]);
        a.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        a.set_mxcsr(0x1f80);
        a
    }
}

impl std::fmt::Debug for FxArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FxArea")
            .field("fcw", &format_args!("{:#x}", self.fcw()))
            .field("mxcsr", &format_args!("{:#x}", self.mxcsr()))
            .finish_non_exhaustive()
    }
}

/// One x86-64 guest thread's registers.
///
/// System calls follow Linux: number in RAX, arguments in RDI RSI RDX R10
/// R8 R9, result in RAX (`-errno` on failure); `syscall` clobbers RCX (the
/// return RIP) and R11 (RFLAGS), and the register file says so after a
/// [`spin_kernel::Trap::Syscall`].
#[derive(Clone, PartialEq, Eq)]
pub struct X86Regs {
    /// RAX..R15 in encoding order (`gpr[4]` is RSP).
    pub gpr: [u64; 16],
    /// The instruction pointer.
    pub rip: u64,
    /// RFLAGS (sanitized for ring 3 on every entry).
    pub rflags: u64,
    /// FS base: the thread pointer (`arch_prctl(ARCH_SET_FS)`).
    pub fs_base: u64,
    /// GS base (`arch_prctl(ARCH_SET_GS)`).
    pub gs_base: u64,
    /// x87/SSE state.
    pub fx: Box<FxArea>,
    /// The rest of the XSAVE state (AVX, AVX-512), where the host's KVM
    /// exchanges it (`KVM_GET_XSAVE`); signal frames carry only [`Self::fx`].
    pub xsave: Box<XsaveExt>,
}

impl Default for X86Regs {
    fn default() -> Self {
        X86Regs {
            gpr: [0; 16],
            rip: 0,
            rflags: 0x202,
            fs_base: 0,
            gs_base: 0,
            fx: Box::default(),
            xsave: Box::default(),
        }
    }
}

impl std::fmt::Debug for X86Regs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [&str; 16] = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15",
        ];
        let mut d = f.debug_struct("X86Regs");
        d.field("rip", &format_args!("{:#x}", self.rip));
        for (n, v) in NAMES.iter().zip(self.gpr) {
            d.field(n, &format_args!("{v:#x}"));
        }
        d.field("rflags", &format_args!("{:#x}", self.rflags))
            .field("fs_base", &format_args!("{:#x}", self.fs_base))
            .field("gs_base", &format_args!("{:#x}", self.gs_base))
            .field("fx", &self.fx)
            .field("xsave", &self.xsave)
            .finish()
    }
}

impl RegisterFile for X86Regs {
    const ARCH: Arch = Arch::X86_64;

    fn pc(&self) -> u64 {
        self.rip
    }
    fn set_pc(&mut self, pc: u64) {
        self.rip = pc;
    }
    fn sp(&self) -> u64 {
        self.gpr[RSP]
    }
    fn set_sp(&mut self, sp: u64) {
        self.gpr[RSP] = sp;
    }
    fn gpr(&self, n: usize) -> u64 {
        self.gpr.get(n).copied().unwrap_or(0)
    }
    fn set_gpr(&mut self, n: usize, value: u64) {
        if let Some(r) = self.gpr.get_mut(n) {
            *r = value;
        }
    }
    fn thread_pointer(&self) -> u64 {
        self.fs_base
    }
    fn set_thread_pointer(&mut self, tp: u64) {
        self.fs_base = tp;
    }
    fn syscall_number(&self) -> u64 {
        self.gpr[RAX]
    }
    fn syscall_arg(&self, i: usize) -> u64 {
        SYSCALL_ARGS.get(i).map_or(0, |&r| self.gpr[r])
    }
    fn set_syscall_result(&mut self, result: SyscallResult) {
        self.gpr[RAX] = match result {
            Ok(v) => v,
            Err(errno) => (errno as i64).wrapping_neg() as u64,
        };
    }
    /// The low quadword of XMM `n`.
    fn fpr(&self, n: usize) -> u64 {
        self.fx.xmm(n)[0]
    }
    fn set_fpr(&mut self, n: usize, value: u64) {
        let hi = self.fx.xmm(n)[1];
        self.fx.set_xmm(n, [value, hi]);
    }
    /// MXCSR.
    fn fp_control(&self) -> u64 {
        u64::from(self.fx.mxcsr())
    }
    fn set_fp_control(&mut self, value: u64) {
        self.fx.set_mxcsr(value as u32);
    }
    /// RFLAGS (sanitized for ring 3 when the CPU next enters it).
    fn flags_register(&self) -> u64 {
        self.rflags
    }
    fn set_flags_register(&mut self, value: u64) {
        self.rflags = super::layout::user_rflags(value);
    }
    /// The 512-byte FXSAVE image.
    fn fp_state(&self) -> Vec<u8> {
        self.fx.0.to_vec()
    }
    /// Loads an FXSAVE image (short images load a prefix; MXCSR's reserved
    /// bits are cleared so `fxrstor` cannot fault in the shim).
    fn set_fp_state(&mut self, image: &[u8]) {
        let n = image.len().min(512);
        self.fx.0[..n].copy_from_slice(&image[..n]);
        let mxcsr = self.fx.mxcsr();
        self.fx.set_mxcsr(mxcsr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syscall_convention() {
        let mut r = X86Regs {
            gpr: core::array::from_fn(|i| i as u64 * 10),
            ..Default::default()
        };
        assert_eq!(r.syscall_number(), 0);
        let args: Vec<u64> = (0..6).map(|i| r.syscall_arg(i)).collect();
        assert_eq!(args, vec![70, 60, 20, 100, 80, 90]);
        r.set_syscall_result(Err(14));
        assert_eq!(r.gpr[RAX] as i64, -14);
        r.set_syscall_result(Ok(7));
        assert_eq!(r.gpr[RAX], 7);
        assert_eq!(r.fx.mxcsr(), 0x1f80);
        assert_eq!(r.fx.fcw(), 0x37f);
    }
}
