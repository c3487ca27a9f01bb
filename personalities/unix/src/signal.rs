//! Signals: actions, default dispositions, and signal frames (Alpha here,
//! x86-64 in [`x86_64`]).
//!
//! Signal numbers inside the mound are the guest architecture's own (a mound
//! runs one architecture; [`crate::abi::SigNums`] names them); masks are
//! `u64` with bit `n - 1` for signal `n`, as the guest's `sigset_t` has them.
//! Alpha frames follow Linux/Alpha's
//! `arch/alpha/kernel/signal.c`: `struct sigframe { sigcontext sc; u32
//! retcode[3]; }` for plain handlers, `struct rt_sigframe { siginfo info;
//! ucontext uc; u32 retcode[3]; }` for `SA_SIGINFO` ones, 32-byte aligned
//! below the stack pointer (or at the top of the alternate stack).

use spin_kernel::RegisterFile;

use crate::abi::alpha::sig as sa;
use crate::abi::SigNums;

pub mod x86_64;

/// Highest signal number.
pub const NSIG: usize = 64;

/// Linux/Alpha signal numbers (the mound itself uses the guest's own, from
/// [`crate::abi::Abi::signo`]).
#[allow(missing_docs)]
pub mod num {
    pub const SIGHUP: u32 = 1;
    pub const SIGINT: u32 = 2;
    pub const SIGQUIT: u32 = 3;
    pub const SIGILL: u32 = 4;
    pub const SIGTRAP: u32 = 5;
    pub const SIGABRT: u32 = 6;
    pub const SIGEMT: u32 = 7;
    pub const SIGFPE: u32 = 8;
    pub const SIGKILL: u32 = 9;
    pub const SIGBUS: u32 = 10;
    pub const SIGSEGV: u32 = 11;
    pub const SIGSYS: u32 = 12;
    pub const SIGPIPE: u32 = 13;
    pub const SIGALRM: u32 = 14;
    pub const SIGTERM: u32 = 15;
    pub const SIGURG: u32 = 16;
    pub const SIGSTOP: u32 = 17;
    pub const SIGTSTP: u32 = 18;
    pub const SIGCONT: u32 = 19;
    pub const SIGCHLD: u32 = 20;
    pub const SIGTTIN: u32 = 21;
    pub const SIGTTOU: u32 = 22;
    pub const SIGIO: u32 = 23;
    pub const SIGXCPU: u32 = 24;
    pub const SIGXFSZ: u32 = 25;
    pub const SIGVTALRM: u32 = 26;
    pub const SIGPROF: u32 = 27;
    pub const SIGWINCH: u32 = 28;
    pub const SIGINFO: u32 = 29;
    pub const SIGUSR1: u32 = 30;
    pub const SIGUSR2: u32 = 31;
}

/// `si_code` values.
#[allow(missing_docs)]
pub mod code {
    pub const SI_USER: i32 = 0;
    pub const SI_KERNEL: i32 = 0x80;
    pub const SI_TKILL: i32 = -6;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const BUS_ADRALN: i32 = 1;
    pub const BUS_ADRERR: i32 = 2;
    pub const ILL_ILLOPC: i32 = 1;
    pub const ILL_ILLOPN: i32 = 2;
    pub const ILL_PRVOPC: i32 = 5;
    pub const FPE_INTDIV: i32 = 1;
    pub const FPE_INTOVF: i32 = 2;
    pub const FPE_FLTDIV: i32 = 3;
    pub const FPE_FLTOVF: i32 = 4;
    pub const FPE_FLTUND: i32 = 5;
    pub const FPE_FLTRES: i32 = 6;
    pub const FPE_FLTINV: i32 = 7;
    pub const TRAP_BRKPT: i32 = 1;
    pub const TRAP_TRACE: i32 = 2;
    pub const CLD_EXITED: i32 = 1;
    pub const CLD_KILLED: i32 = 2;
    pub const CLD_DUMPED: i32 = 3;
}

/// Pending signals: standard ones (below 32) at most once each, real-time
/// ones queued.
pub type Pending = std::collections::BTreeMap<u32, std::collections::VecDeque<SigInfo>>;

/// Adds `info` to `p` (a standard signal already pending is not queued twice).
pub fn queue(p: &mut Pending, info: SigInfo) {
    let q = p.entry(info.signo).or_default();
    if info.signo >= 32 || q.is_empty() {
        q.push_back(info);
    }
}

/// Takes the first queued instance of `sig` from `p`.
pub fn dequeue(p: &mut Pending, sig: u32) -> Option<SigInfo> {
    let q = p.get_mut(&sig)?;
    let info = q.pop_front();
    if q.is_empty() {
        p.remove(&sig);
    }
    info
}

/// The bit of signal `sig` in a mask.
pub const fn bit(sig: u32) -> u64 {
    if sig == 0 || sig as usize > NSIG {
        0
    } else {
        1 << (sig - 1)
    }
}

/// Signals that can be neither caught nor blocked (Alpha numbering).
pub const UNBLOCKABLE: u64 = bit(num::SIGKILL) | bit(num::SIGSTOP);

/// Signals that can be neither caught nor blocked, in `signo`'s numbering.
pub const fn unblockable(signo: &SigNums) -> u64 {
    bit(signo.SIGKILL) | bit(signo.SIGSTOP)
}

/// A handler disposition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigAction {
    /// `SIG_DFL` (0), `SIG_IGN` (1) or the handler's address.
    pub handler: u64,
    /// `SA_*` flags.
    pub flags: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
    /// Return trampoline given to `rt_sigaction` (Alpha's fifth argument).
    pub restorer: u64,
}

/// `SIG_DFL`.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`.
pub const SIG_IGN: u64 = 1;

/// What the default action of a signal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// End the process.
    Terminate,
    /// End the process (a core dump on a real kernel).
    Core,
    /// Nothing.
    Ignore,
    /// Job-control stop (treated as ignore: the mound has no job control yet).
    Stop,
    /// Continue a stopped process.
    Continue,
}

/// Default action of signal `sig` (numbered as in `s`).
pub fn default_action(s: &SigNums, sig: u32) -> Default {
    if sig == 0 {
        return Default::Ignore;
    }
    let core = [
        s.SIGQUIT, s.SIGILL, s.SIGTRAP, s.SIGABRT, s.SIGEMT, s.SIGFPE, s.SIGBUS, s.SIGSEGV,
        s.SIGSYS, s.SIGXCPU, s.SIGXFSZ,
    ];
    if core.contains(&sig) {
        Default::Core
    } else if [s.SIGCHLD, s.SIGURG, s.SIGWINCH].contains(&sig) {
        Default::Ignore
    } else if [s.SIGSTOP, s.SIGTSTP, s.SIGTTIN, s.SIGTTOU].contains(&sig) {
        Default::Stop
    } else if sig == s.SIGCONT {
        Default::Continue
    } else {
        Default::Terminate
    }
}

/// What a signal carries (`siginfo_t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// Signal number.
    pub signo: u32,
    /// `si_code`.
    pub code: i32,
    /// Faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub addr: u64,
    /// Sender's pid (kill) or the child's (SIGCHLD).
    pub pid: u32,
    /// Sender's uid.
    pub uid: u32,
    /// Child's exit status or signal (SIGCHLD).
    pub status: i32,
}

impl SigInfo {
    /// A signal sent by a process.
    pub fn user(signo: u32, pid: u32, uid: u32) -> SigInfo {
        SigInfo {
            signo,
            code: code::SI_USER,
            pid,
            uid,
            ..SigInfo::default()
        }
    }

    /// A signal raised by the kernel for a fault at `addr`.
    pub fn fault(signo: u32, code: i32, addr: u64) -> SigInfo {
        SigInfo {
            signo,
            code,
            addr,
            ..SigInfo::default()
        }
    }

    /// The 128-byte Linux `siginfo_t` (the same layout on Alpha and
    /// x86-64) for signals numbered as in `s`.
    pub fn to_bytes(&self, s: &SigNums) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        let sig = self.signo;
        let fault = [s.SIGSEGV, s.SIGBUS, s.SIGILL, s.SIGFPE, s.SIGTRAP].contains(&sig);
        if fault && self.code > 0 {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        } else if sig == s.SIGCHLD {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
            b[24..28].copy_from_slice(&self.status.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
        }
        b
    }
}

/// Size of Alpha's `struct sigcontext`.
pub const SIGCONTEXT_SIZE: u64 = 648;
/// Offset of `uc_mcontext` in Alpha's `struct ucontext`.
const UC_MCONTEXT: u64 = 48;
/// Offset of `uc_sigmask` in Alpha's `struct ucontext`.
const UC_SIGMASK: u64 = UC_MCONTEXT + SIGCONTEXT_SIZE;
/// Size of Alpha's `struct ucontext`.
const UCONTEXT_SIZE: u64 = UC_SIGMASK + 8;
/// Size of `siginfo_t`.
const SIGINFO_SIZE: u64 = 128;
/// Offset of `uc` in `struct rt_sigframe`.
pub const RT_UC: u64 = SIGINFO_SIZE;
const RT_FRAME_SIZE: u64 = SIGINFO_SIZE + UCONTEXT_SIZE + 12;
const FRAME_SIZE: u64 = SIGCONTEXT_SIZE + 12;

/// `bis $31,$30,$16` (mov sp, a0).
const RETCODE_MOV_SP_A0: u32 = 0x47fe_0410;
/// `lda $0, nr($31)` without the displacement.
const RETCODE_LDI_V0: u32 = 0x201f_0000;
/// `call_pal callsys`.
const RETCODE_CALLSYS: u32 = 0x0000_0083;

/// Builds Alpha's `struct sigcontext` for `regs` with `mask` saved and `sp`
/// the interrupted stack pointer.
fn sigcontext<R: RegisterFile>(
    regs: &R,
    mask: u64,
    sp: u64,
    onstack: bool,
    info: &SigInfo,
) -> Vec<u8> {
    let mut sc = vec![0u8; SIGCONTEXT_SIZE as usize];
    let mut put = |off: usize, v: u64| sc[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, u64::from(onstack));
    put(8, mask);
    put(16, regs.pc());
    put(24, 8);
    for n in 0..31 {
        let v = if n == 30 { sp } else { regs.gpr(n) };
        put(32 + 8 * n, v);
    }
    for n in 0..31 {
        put(296 + 8 * n, regs.fpr(n));
    }
    put(296 + 8 * 31, regs.fp_control());
    put(552, regs.fp_control());
    put(560, regs.sw_fp_control());
    put(600, info.addr);
    sc
}

/// Restores registers from a sigcontext image; returns the saved mask.
fn restore_sigcontext<R: RegisterFile>(regs: &mut R, sc: &[u8]) -> u64 {
    let get = |off: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&sc[off..off + 8]);
        u64::from_le_bytes(b)
    };
    regs.set_pc(get(16));
    for n in 0..31 {
        regs.set_gpr(n, get(32 + 8 * n));
    }
    for n in 0..31 {
        regs.set_fpr(n, get(296 + 8 * n));
    }
    regs.set_fp_control(get(552));
    get(8)
}

/// A signal frame ready to be written to the guest stack, and the register
/// changes that enter the handler.
pub struct Frame {
    /// Where the frame goes.
    pub addr: u64,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Lays out the frame for delivering `info` with `action` to a thread whose
/// registers are `regs` and mask `old_mask`, and points `regs` at the handler.
pub fn setup_frame<R: RegisterFile>(
    regs: &mut R,
    action: &SigAction,
    info: &SigInfo,
    old_mask: u64,
    altstack: &crate::process::AltStack,
    sigreturn_nr: u64,
    rt_sigreturn_nr: u64,
) -> Frame {
    let sp = regs.sp();
    let on_alt = altstack.flags & sa::SS_DISABLE == 0
        && altstack.size > 0
        && sp > altstack.sp
        && sp <= altstack.sp + altstack.size;
    let mut top = sp;
    if action.flags & sa::SA_ONSTACK != 0 && altstack.flags & sa::SS_DISABLE == 0 && !on_alt {
        top = altstack.sp + altstack.size;
    }
    let rt = action.flags & sa::SA_SIGINFO != 0;
    let size = if rt { RT_FRAME_SIZE } else { FRAME_SIZE };
    let addr = (top.wrapping_sub(size)) & !31;
    let onstack = altstack.flags & sa::SS_DISABLE == 0
        && addr >= altstack.sp
        && addr < altstack.sp + altstack.size;
    let sc = sigcontext(regs, old_mask, sp, onstack, info);
    let mut bytes = vec![0u8; size as usize];
    let retcode_off;
    let nr;
    if rt {
        bytes[..128].copy_from_slice(&info.to_bytes(&crate::abi::alpha::SIGNO));
        let uc = RT_UC as usize;
        bytes[uc + 16..uc + 24].copy_from_slice(&old_mask.to_le_bytes());
        bytes[uc + 24..uc + 32].copy_from_slice(&altstack.sp.to_le_bytes());
        let ss_flags = if on_alt {
            sa::SS_ONSTACK
        } else {
            altstack.flags & sa::SS_DISABLE
        };
        bytes[uc + 32..uc + 36].copy_from_slice(&(ss_flags as u32).to_le_bytes());
        bytes[uc + 40..uc + 48].copy_from_slice(&altstack.size.to_le_bytes());
        let mc = uc + UC_MCONTEXT as usize;
        bytes[mc..mc + sc.len()].copy_from_slice(&sc);
        let sm = uc + UC_SIGMASK as usize;
        bytes[sm..sm + 8].copy_from_slice(&old_mask.to_le_bytes());
        retcode_off = (RT_UC + UCONTEXT_SIZE) as usize;
        nr = rt_sigreturn_nr;
    } else {
        bytes[..sc.len()].copy_from_slice(&sc);
        retcode_off = SIGCONTEXT_SIZE as usize;
        nr = sigreturn_nr;
    }
    let retcode = [
        RETCODE_MOV_SP_A0,
        RETCODE_LDI_V0 | (nr as u32 & 0xffff),
        RETCODE_CALLSYS,
    ];
    for (i, w) in retcode.iter().enumerate() {
        bytes[retcode_off + 4 * i..retcode_off + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    let ret = if action.restorer != 0 {
        action.restorer
    } else {
        addr + retcode_off as u64
    };
    regs.set_gpr(26, ret);
    regs.set_gpr(27, action.handler);
    regs.set_pc(action.handler);
    regs.set_gpr(16, u64::from(info.signo));
    if rt {
        regs.set_gpr(17, addr);
        regs.set_gpr(18, addr + RT_UC);
    } else {
        regs.set_gpr(17, info.code as u64);
        regs.set_gpr(18, addr);
    }
    regs.set_sp(addr);
    Frame { addr, bytes }
}

/// Size of the bytes `sigreturn` reads at its argument.
pub const SIGRETURN_READ: u64 = SIGCONTEXT_SIZE;
/// Size of the bytes `rt_sigreturn` reads at its argument (the whole frame
/// up to the end of the ucontext).
pub const RT_SIGRETURN_READ: u64 = SIGINFO_SIZE + UCONTEXT_SIZE;

/// `sigreturn(sc)`: restores registers from the sigcontext bytes; returns
/// the mask to reinstate.
pub fn sigreturn<R: RegisterFile>(regs: &mut R, sc: &[u8]) -> u64 {
    restore_sigcontext(regs, sc)
}

/// `rt_sigreturn(frame)`: restores registers from the rt frame bytes; returns
/// (mask, altstack (sp, flags, size)).
pub fn rt_sigreturn<R: RegisterFile>(regs: &mut R, frame: &[u8]) -> (u64, (u64, u64, u64)) {
    let uc = RT_UC as usize;
    let mc = uc + UC_MCONTEXT as usize;
    restore_sigcontext(regs, &frame[mc..mc + SIGCONTEXT_SIZE as usize]);
    let get = |off: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&frame[off..off + 8]);
        u64::from_le_bytes(b)
    };
    let mask = get(uc + UC_SIGMASK as usize);
    let ss = (get(uc + 24), get(uc + 32) & 0xffff_ffff, get(uc + 40));
    (mask, ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_match_linux_alpha() {
        assert_eq!(SIGCONTEXT_SIZE, 648);
        assert_eq!(UCONTEXT_SIZE, 704);
        assert_eq!(RT_FRAME_SIZE, 844);
    }

    #[test]
    fn masks_use_bit_n_minus_one() {
        assert_eq!(bit(1), 1);
        assert_eq!(bit(num::SIGUSR1), 1 << 29);
        assert_eq!(bit(0), 0);
        assert_eq!(bit(65), 0);
    }

    #[test]
    fn default_actions() {
        let a = &crate::abi::alpha::SIGNO;
        assert_eq!(default_action(a, num::SIGSEGV), Default::Core);
        assert_eq!(default_action(a, num::SIGCHLD), Default::Ignore);
        assert_eq!(default_action(a, num::SIGUSR1), Default::Terminate);
        assert_eq!(default_action(a, num::SIGEMT), Default::Core);
        assert_eq!(default_action(a, 40), Default::Terminate);
        let x = &crate::abi::x86_64::SIGNO;
        assert_eq!(default_action(x, 7), Default::Core); // SIGBUS
        assert_eq!(default_action(x, 17), Default::Ignore); // SIGCHLD
        assert_eq!(default_action(x, 18), Default::Continue); // SIGCONT
        assert_eq!(default_action(x, 19), Default::Stop); // SIGSTOP
        assert_eq!(default_action(x, 20), Default::Stop); // SIGTSTP
        assert_eq!(default_action(x, 10), Default::Terminate); // SIGUSR1
        assert_eq!(default_action(x, 30), Default::Terminate); // SIGPWR
        assert_eq!(default_action(x, 31), Default::Core); // SIGSYS
        assert_eq!(default_action(x, 23), Default::Ignore); // SIGURG
        assert_eq!(unblockable(x), (1 << 8) | (1 << 18));
        assert_eq!(unblockable(a), UNBLOCKABLE);
    }
}
