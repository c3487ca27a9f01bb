//! Linux/x86-64 signal frames, as `arch/x86/kernel/signal.c` (and
//! `signal_64.c`) lay them out for a 64-bit task without XSAVE (the guest
//! CPUID hides it, so the FP state is the 512-byte FXSAVE image):
//!
//! ```text
//!   sp on entry to the handler (16-byte aligned minus 8, as after a call)
//!   +0    pretcode          = sa_restorer (x86-64 requires SA_RESTORER)
//!   +8    struct ucontext   uc_flags, uc_link, uc_stack, uc_mcontext
//!                           (struct sigcontext, fpstate -> below), uc_sigmask
//!   +312  siginfo_t         128 bytes
//!   ...   (padding)
//!   fp    FXSAVE image      512 bytes, 64-byte aligned
//!   ...   128-byte red zone below the interrupted rsp
//! ```
//!
//! The handler runs with rdi = signal, rsi = &info, rdx = &uc, rax = 0,
//! DF/TF/RF cleared and a fresh FP state; it returns into the restorer,
//! which calls `rt_sigreturn` with rsp just past `pretcode`.

use spin_kernel::RegisterFile;

use super::{Frame, SigAction, SigInfo};
use crate::abi::x86_64::{layout as l, FIX_EFLAGS, USER_CS, USER_DS};
use crate::abi::Abi;
use crate::process::AltStack;

/// Bytes below the interrupted rsp a leaf function may use (the ABI's red zone).
const RED_ZONE: u64 = 128;
/// RFLAGS DF, TF, RF: cleared for the handler.
const HANDLER_CLEARS: u64 = (1 << 10) | (1 << 8) | (1 << 16);
/// MXCSR offset in the FXSAVE image.
const FX_MXCSR: usize = 24;
/// First XMM register in the FXSAVE image.
const FX_XMM: usize = 160;
/// Offsets in `struct sigcontext` of the general registers, in the
/// register file's numbering (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi,
/// r8..r15). rsp is saved separately.
const SC_GPR: [usize; 16] = [
    104, 112, 96, 88, 120, 80, 72, 64, 0, 8, 16, 24, 32, 40, 48, 56,
];

/// The FXSAVE image after `fninit` with the default MXCSR (all exceptions
/// masked): what a handler starts with.
pub fn initial_fp_state() -> Vec<u8> {
    let mut fx = vec![0u8; l::FPSTATE_SIZE];
    fx[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    fx[FX_MXCSR..FX_MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
    fx
}

/// The thread's FXSAVE image: the register file's own, or one composed from
/// what [`RegisterFile::fpr`] and [`RegisterFile::fp_control`] expose.
fn fp_image<R: RegisterFile>(regs: &R) -> Vec<u8> {
    let img = regs.fp_state();
    if img.len() == l::FPSTATE_SIZE {
        return img;
    }
    let mut fx = initial_fp_state();
    fx[FX_MXCSR..FX_MXCSR + 4].copy_from_slice(&(regs.fp_control() as u32).to_le_bytes());
    for n in 0..16 {
        let at = FX_XMM + 16 * n;
        fx[at..at + 8].copy_from_slice(&regs.fpr(n).to_le_bytes());
    }
    fx
}

/// Loads an FXSAVE image into the register file.
fn load_fp_image<R: RegisterFile>(regs: &mut R, fx: &[u8]) {
    if regs.fp_state().len() == l::FPSTATE_SIZE {
        regs.set_fp_state(fx);
        return;
    }
    regs.set_fp_control(u64::from(u32_at(fx, FX_MXCSR)));
    for n in 0..16 {
        regs.set_fpr(n, u64_at(fx, FX_XMM + 16 * n));
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Whether `sp` is on the alternate stack (Linux's `on_sig_stack`).
fn on_stack(alt: &AltStack, disable: u64, sp: u64) -> bool {
    alt.flags & disable == 0 && alt.size > 0 && sp > alt.sp && sp - alt.sp <= alt.size
}

/// `ss_flags` of the alternate stack as seen from `sp` (`sas_ss_flags`).
fn ss_flags(abi: &Abi, alt: &AltStack, sp: u64) -> u64 {
    if alt.flags & abi.sa.SS_DISABLE != 0 || alt.size == 0 {
        abi.sa.SS_DISABLE
    } else if on_stack(alt, abi.sa.SS_DISABLE, sp) {
        abi.sa.SS_ONSTACK
    } else {
        0
    }
}

/// Builds the rt frame for delivering `info` with `action` and points
/// `regs` at the handler. `None` when the action has no `SA_RESTORER` (Linux
/// x86-64 then kills the task with SIGSEGV) or the frame would wrap.
pub fn setup_rt_frame<R: RegisterFile>(
    abi: &Abi,
    regs: &mut R,
    action: &SigAction,
    info: &SigInfo,
    old_mask: u64,
    altstack: &AltStack,
) -> Option<Frame> {
    if action.flags & abi.sa.SA_RESTORER == 0 || action.restorer == 0 {
        return None;
    }
    let sp = regs.sp();
    let mut top = sp.checked_sub(RED_ZONE)?;
    if action.flags & abi.sa.SA_ONSTACK != 0 && ss_flags(abi, altstack, top) == 0 {
        top = altstack.sp.checked_add(altstack.size)?;
    }
    let fp = top.checked_sub(l::FPSTATE_SIZE as u64)? & !63;
    let addr = (fp.checked_sub(l::RT_FRAME_SIZE as u64)? & !15).checked_sub(8)?;
    let len = (fp + l::FPSTATE_SIZE as u64 - addr) as usize;
    let mut b = vec![0u8; len];

    put64(&mut b, 0, action.restorer);
    let uc = l::RT_UC;
    put64(&mut b, uc + l::UC_FLAGS, l::UC_FLAGS_VALUE);
    put64(&mut b, uc + l::UC_LINK, 0);
    put64(&mut b, uc + l::UC_STACK, altstack.sp);
    put64(&mut b, uc + l::UC_STACK + 8, ss_flags(abi, altstack, sp));
    put64(&mut b, uc + l::UC_STACK + 16, altstack.size);
    let sc = uc + l::UC_MCONTEXT;
    for (n, &off) in SC_GPR.iter().enumerate() {
        let v = if n == 4 { sp } else { regs.gpr(n) };
        put64(&mut b, sc + off, v);
    }
    put64(&mut b, sc + l::SC_RIP, regs.pc());
    put64(&mut b, sc + l::SC_EFLAGS, regs.flags_register());
    b[sc + l::SC_CS..sc + l::SC_CS + 2].copy_from_slice(&USER_CS.to_le_bytes());
    b[sc + l::SC_SS..sc + l::SC_SS + 2].copy_from_slice(&USER_DS.to_le_bytes());
    let s = abi.signo;
    let (trapno, err, cr2) = if info.signo == s.SIGSEGV && info.code > 0 {
        (14, 4, info.addr)
    } else {
        (0, 0, 0)
    };
    put64(&mut b, sc + l::SC_ERR, err);
    put64(&mut b, sc + l::SC_TRAPNO, trapno);
    put64(&mut b, sc + l::SC_OLDMASK, old_mask);
    put64(&mut b, sc + l::SC_CR2, cr2);
    put64(&mut b, sc + l::SC_FPSTATE, fp);
    put64(&mut b, uc + l::UC_SIGMASK, old_mask);
    b[l::RT_INFO..l::RT_INFO + 128].copy_from_slice(&info.to_bytes(s));
    let fx_at = (fp - addr) as usize;
    b[fx_at..fx_at + l::FPSTATE_SIZE].copy_from_slice(&fp_image(regs));

    regs.set_gpr(7, u64::from(info.signo)); // rdi
    regs.set_gpr(6, addr + l::RT_INFO as u64); // rsi
    regs.set_gpr(2, addr + l::RT_UC as u64); // rdx
    regs.set_gpr(0, 0); // rax: no vector registers in use (varargs)
    regs.set_sp(addr);
    regs.set_pc(action.handler);
    regs.set_flags_register(regs.flags_register() & !HANDLER_CLEARS);
    load_fp_image(regs, &initial_fp_state());
    Some(Frame { addr, bytes: b })
}

/// Where `rt_sigreturn` finds the frame: the restorer's `ret`-less entry
/// leaves rsp just past `pretcode`.
pub fn frame_of<R: RegisterFile>(regs: &R) -> u64 {
    regs.sp().wrapping_sub(8)
}

/// What `rt_sigreturn` hands back to the mound after restoring registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// The signal mask to reinstate.
    pub mask: u64,
    /// `uc_stack`: (sp, flags, size).
    pub stack: (u64, u64, u64),
    /// Where the FP image is (0: none; reset to the initial state).
    pub fpstate: u64,
}

/// Restores the registers from the frame bytes (`RT_FRAME_SIZE` bytes at
/// [`frame_of`]). The FP image is loaded separately ([`restore_fp`]): it
/// lives wherever `uc_mcontext.fpstate` points.
pub fn rt_sigreturn<R: RegisterFile>(regs: &mut R, frame: &[u8]) -> Restored {
    let uc = l::RT_UC;
    let sc = uc + l::UC_MCONTEXT;
    for (n, &off) in SC_GPR.iter().enumerate() {
        let v = u64_at(frame, sc + off);
        if n == 4 {
            regs.set_sp(v);
        } else {
            regs.set_gpr(n, v);
        }
    }
    regs.set_pc(u64_at(frame, sc + l::SC_RIP));
    let flags = u64_at(frame, sc + l::SC_EFLAGS);
    let cur = regs.flags_register();
    regs.set_flags_register((cur & !FIX_EFLAGS) | (flags & FIX_EFLAGS));
    Restored {
        mask: u64_at(frame, uc + l::UC_SIGMASK),
        stack: (
            u64_at(frame, uc + l::UC_STACK),
            u64_at(frame, uc + l::UC_STACK + 8) & 0xffff_ffff,
            u64_at(frame, uc + l::UC_STACK + 16),
        ),
        fpstate: u64_at(frame, sc + l::SC_FPSTATE),
    }
}

/// Loads the FP image a frame pointed at (`None`: no image, the initial
/// state). `false` if the image is invalid (MXCSR reserved bits set: Linux
/// refuses it and kills the task with SIGSEGV).
pub fn restore_fp<R: RegisterFile>(regs: &mut R, image: Option<&[u8]>) -> bool {
    match image {
        None => {
            load_fp_image(regs, &initial_fp_state());
            true
        }
        Some(fx) if fx.len() == l::FPSTATE_SIZE => {
            if u32_at(fx, FX_MXCSR) & !0xffff != 0 {
                return false;
            }
            load_fp_image(regs, fx);
            true
        }
        Some(_) => false,
    }
}

/// The signal a Linux/x86-64 kernel sends for `trap` (`arch/x86/kernel/
/// traps.c`), `None` for traps that are not faults. The KVM machine reports
/// one [`Trap`](spin_kernel::Trap) per exception: #PF as `PageFault` (handled
/// by the memory manager before this), #UD as `IllegalInstruction`, #BP as
/// `Breakpoint`, #DE/#MF/#XM as `Arithmetic` with the vector as `summary`,
/// #AC as `Unaligned`, and any other vector as `PalCall` with the vector as
/// `code` (interpreted here by the same table).
pub fn trap_signal<R: RegisterFile>(
    abi: &Abi,
    regs: &R,
    trap: spin_kernel::Trap,
) -> Option<SigInfo> {
    use spin_kernel::Trap;
    Some(match trap {
        Trap::Syscall | Trap::PageFault { .. } | Trap::BudgetExpired => return None,
        Trap::IllegalInstruction { pc, .. } => vector_signal(abi, regs, 6, pc),
        Trap::Breakpoint { pc } => vector_signal(abi, regs, 3, pc),
        Trap::Arithmetic { pc, summary } => vector_signal(abi, regs, summary, pc),
        Trap::Unaligned { va, .. } => SigInfo::fault(abi.signo.SIGBUS, code::BUS_ADRALN, va),
        Trap::PalCall { pc, code } => vector_signal(abi, regs, u64::from(code), pc),
        // `hlt` in user mode is a #GP.
        Trap::Halt { pc } => vector_signal(abi, regs, 13, pc),
    })
}

use super::code;

/// The signal for exception `vector` at `pc`.
fn vector_signal<R: RegisterFile>(abi: &Abi, regs: &R, vector: u64, pc: u64) -> SigInfo {
    let s = abi.signo;
    let kernel = |sig| SigInfo::fault(sig, code::SI_KERNEL, 0);
    match vector {
        // #DE: divide error.
        0 => SigInfo::fault(s.SIGFPE, code::FPE_INTDIV, pc),
        // #DB: single step / hardware breakpoint.
        1 => SigInfo::fault(s.SIGTRAP, code::TRAP_TRACE, pc),
        // #BP (int3): si_code SI_KERNEL, as Linux's do_int3_user.
        3 => kernel(s.SIGTRAP),
        // #UD.
        6 => SigInfo::fault(s.SIGILL, code::ILL_ILLOPN, pc),
        // #NP, #SS.
        11 | 12 => kernel(s.SIGBUS),
        // #MF: x87 error (the status word is not in the register file).
        16 => SigInfo::fault(s.SIGFPE, code::FPE_FLTINV, pc),
        // #AC.
        17 => SigInfo::fault(s.SIGBUS, code::BUS_ADRALN, pc),
        // #XM: SIMD error, decoded from the unmasked MXCSR flags.
        19 => {
            let mxcsr = regs.fp_control();
            let pending = !(mxcsr >> 7) & mxcsr & 0x3f;
            let c = if pending & 0x3 != 0 {
                code::FPE_FLTINV
            } else if pending & 0x4 != 0 {
                code::FPE_FLTDIV
            } else if pending & 0x8 != 0 {
                code::FPE_FLTOVF
            } else if pending & 0x10 != 0 {
                code::FPE_FLTUND
            } else if pending & 0x20 != 0 {
                code::FPE_FLTRES
            } else {
                0
            };
            SigInfo::fault(s.SIGFPE, c, pc)
        }
        // #OF, #BR, #TS, #GP and anything else.
        _ => kernel(s.SIGSEGV),
    }
}
